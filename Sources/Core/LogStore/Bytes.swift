/// Little-endian integers in byte buffers: every file of this module is little-endian, whatever
/// the host.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The CRC-32C of `first` followed by `second` (both byte ranges of this buffer).
    func checksum(_ first: Range<Int>, _ second: Range<Int>) -> UInt32 {
        let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: self[first]))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: self[second]), continuing: head)
    }
}
