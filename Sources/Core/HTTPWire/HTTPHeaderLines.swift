/// Header field lines as they are on the wire (`name: value`, each ending in CRLF or LF), read
/// in place: the response parser reads its framing fields with these, and a reply looks its
/// headers up in its received header section the same way, without copying them into strings.
public enum HTTPHeaderLines {
    /// Calls `body` with each field's name and (trimmed) value in `section`, in order, until it
    /// returns false. Lines that are not fields are skipped (the parser rejected them already).
    public static func forEach(_ bytes: UnsafeRawBufferPointer, in section: Range<Int>,
                               _ body: (_ name: Range<Int>, _ value: Range<Int>) -> Bool) {
        var at = section.lowerBound
        while at < section.upperBound {
            var end = at
            while end < section.upperBound, bytes[end] != 0x0a { end += 1 }
            let next = end + 1
            if end > at, bytes[end - 1] == 0x0d { end -= 1 }
            if let colon = field(bytes, at..<end), !body(at..<colon, trimmed(bytes, colon + 1..<end)) { return }
            at = next
        }
    }

    /// The colon of a field line (`token ":" value`, RFC 9110 §5.1), or `nil` if `line` is not one.
    static func field(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int? {
        var i = line.lowerBound
        while i < line.upperBound, isToken(bytes[i]) { i += 1 }
        guard i > line.lowerBound, i < line.upperBound, bytes[i] == 0x3a else { return nil }
        for j in i + 1..<line.upperBound where bytes[j] == 0 || bytes[j] == 0x0d { return nil }
        return i
    }

    /// `range` without leading and trailing spaces and tabs.
    public static func trimmed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
        while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
        return lower..<upper
    }

    /// The non-empty, trimmed items of a comma-separated list value.
    static func listItems(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> ListItems {
        ListItems(bytes: bytes, rest: range)
    }

    struct ListItems: Sequence, IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var rest: Range<Int>

        mutating func next() -> Range<Int>? {
            while !rest.isEmpty {
                var end = rest.lowerBound
                while end < rest.upperBound, bytes[end] != 0x2c { end += 1 }
                let item = HTTPHeaderLines.trimmed(bytes, rest.lowerBound..<end)
                rest = Swift.min(end + 1, rest.upperBound)..<rest.upperBound
                if !item.isEmpty { return item }
            }
            return nil
        }
    }

    /// Whether `bytes[range]` spells `other`, ASCII letters compared without case (RFC 9110 §5.1).
    public static func equalsIgnoringASCIICase<Other: Collection<UInt8>>(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>,
                                                                         _ other: Other) -> Bool {
        guard range.count == other.count else { return false }
        var i = range.lowerBound
        for b in other {
            if !sameIgnoringASCIICase(bytes[i], b) { return false }
            i += 1
        }
        return true
    }

    static func equalsIgnoringASCIICase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ other: StaticString) -> Bool {
        other.withUTF8Buffer { equalsIgnoringASCIICase(bytes, range, $0) }
    }

    /// Letters differ only in bit 0x20; anything else must match exactly.
    public static func sameIgnoringASCIICase(_ x: UInt8, _ y: UInt8) -> Bool {
        x == y || (x | 0x20 == y | 0x20 && (0x61...0x7a).contains(x | 0x20))
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x5e, 0x5f, 0x60, 0x7c, 0x7e: return true
        default: return false
        }
    }
}
