/// Reads big-endian fields from one frame body. Every length or count is checked against the bytes
/// remaining before anything is allocated, so a hostile prefix (say 0xFFFFFFFF) costs nothing.
/// Public so other frame codecs (the broker-to-broker `PeerWire`) share one set of strict readers.
public struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    public var remaining: Int { bytes.endIndex - index }

    private mutating func take(_ n: Int, field: String) throws(WireError) -> ArraySlice<UInt8> {
        guard n <= remaining else { throw .truncated(field: field) }
        let slice = bytes[index ..< index + n]
        index += n
        return slice
    }

    private mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, field: String) throws(WireError) -> T {
        let slice = try take(T.bitWidth / 8, field: field)
        var v: T = 0
        for b in slice { v = v << 8 | T(b) }
        return v
    }

    public mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field) }
        defer { index += 1 }
        return bytes[index]
    }
    public mutating func u16(_ field: String) throws(WireError) -> UInt16 { try integer(UInt16.self, field: field) }
    public mutating func u32(_ field: String) throws(WireError) -> UInt32 { try integer(UInt32.self, field: field) }
    public mutating func u64(_ field: String) throws(WireError) -> UInt64 { try integer(UInt64.self, field: field) }
    /// A two's-complement i64 (Swift `Int` fields travel as i64 so every platform agrees).
    public mutating func i64(_ field: String) throws(WireError) -> Int64 { Int64(bitPattern: try u64(field)) }

    /// An `Int` sent as i64; a value outside this platform's `Int` is refused, not truncated.
    public mutating func int(_ field: String) throws(WireError) -> Int {
        guard let i = Int(exactly: try i64(field)) else { throw .invalidValue(field: field) }
        return i
    }

    public mutating func bool(_ field: String) throws(WireError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        default: throw .invalidValue(field: field)
        }
    }

    public mutating func string(_ field: String) throws(WireError) -> String {
        let count = Int(try u16(field))
        let slice = try take(count, field: field)
        guard Self.isValidUTF8(slice) else { throw .invalidUTF8(field: field) }
        return String(decoding: slice, as: UTF8.self)
    }

    /// `String(validating:)` needs macOS 15; the stdlib's UTF-8 parser (which rejects overlong
    /// forms, surrogates and scalars above U+10FFFF) is available everywhere.
    private static func isValidUTF8(_ slice: ArraySlice<UInt8>) -> Bool {
        if slice.allSatisfy({ $0 < 0x80 }) { return true }
        var iterator = slice.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    public mutating func blob(_ field: String) throws(WireError) -> [UInt8] {
        let count = try u32(field)
        guard UInt64(count) <= UInt64(remaining) else { throw .truncated(field: field) }
        return Array(try take(Int(count), field: field))
    }

    public mutating func optional<T>(_ field: String, _ value: (inout ByteReader) throws(WireError) -> T) throws(WireError) -> T? {
        switch try u8(field) {
        case 0: return nil
        case 1: return try value(&self)
        default: throw .invalidValue(field: field)
        }
    }

    public mutating func optionalString(_ field: String) throws(WireError) -> String? {
        try optional(field) { (r: inout ByteReader) throws(WireError) in try r.string(field) }
    }

    public mutating func optionalU64(_ field: String) throws(WireError) -> UInt64? {
        try optional(field) { (r: inout ByteReader) throws(WireError) in try r.u64(field) }
    }

    /// `minElementSize` is the smallest encoding of one element; a count that cannot fit in the
    /// bytes remaining is refused before `reserveCapacity`.
    public mutating func list<E>(_ field: String, minElementSize: Int,
                          _ element: (inout ByteReader) throws(WireError) -> E) throws(WireError) -> [E] {
        let count = try u32(field)
        guard UInt64(count) * UInt64(minElementSize) <= UInt64(remaining) else {
            throw .truncated(field: field)
        }
        var items: [E] = []
        items.reserveCapacity(Int(count))
        for _ in 0 ..< count { items.append(try element(&self)) }
        return items
    }
}
