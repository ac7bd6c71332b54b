/// Appends big-endian fields to a growing frame. Public so other frame codecs share it.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { appendBigEndian(v) }
    public mutating func u32(_ v: UInt32) { appendBigEndian(v) }
    public mutating func u64(_ v: UInt64) { appendBigEndian(v) }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: v >> shift))
            shift -= 8
        }
    }

    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func int(_ v: Int) { i64(Int64(v)) }

    public mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }

    public mutating func string(_ s: String) {
        let utf8 = s.utf8
        precondition(utf8.count <= Int(UInt16.max), "wire strings are limited to 65535 UTF-8 bytes")
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func blob(_ b: [UInt8]) {
        precondition(b.count <= Int(UInt32.max), "wire byte fields are limited to 4 GiB")
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    public mutating func optionalString(_ s: String?) {
        if let s { u8(1); string(s) } else { u8(0) }
    }

    public mutating func optionalU64(_ v: UInt64?) {
        if let v { u8(1); u64(v) } else { u8(0) }
    }

    public mutating func optional<T>(_ v: T?, _ value: (inout ByteWriter, T) -> Void) {
        if let v { u8(1); value(&self, v) } else { u8(0) }
    }

    public mutating func list<E>(_ items: [E], _ element: (inout ByteWriter, E) -> Void) {
        precondition(items.count <= Int(UInt32.max), "wire lists are limited to 2^32-1 elements")
        u32(UInt32(items.count))
        for item in items { element(&self, item) }
    }

    /// Writes the big-endian u32 at `at` (a placeholder for the frame length).
    public mutating func patchU32(_ v: UInt32, at: Int) {
        bytes[at] = UInt8(truncatingIfNeeded: v >> 24)
        bytes[at + 1] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[at + 2] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[at + 3] = UInt8(truncatingIfNeeded: v)
    }
}
