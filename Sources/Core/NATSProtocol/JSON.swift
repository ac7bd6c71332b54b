/// Just enough JSON for `INFO` (read) and `CONNECT` (write), so the module needs no Foundation.
/// The reader accepts any well-formed JSON value; nesting is capped because `INFO` comes from
/// the network and deep nesting would otherwise recurse without bound.
enum NATSJSONValue: Equatable {
    case object([(String, NATSJSONValue)])
    case array([NATSJSONValue])
    case string(String)
    /// The number's text; callers that want an `Int` ask `int`.
    case number(String)
    case bool(Bool)
    case null

    static let maxDepth = 32

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var int: Int? {
        guard case .number(let text) = self else { return nil }
        if let value = Int(text) { return value }
        // "1.048576e6" and friends: accept integral values that fit.
        guard let double = Double(text), double.rounded() == double,
            double >= -9.0e18, double <= 9.0e18
        else { return nil }
        return Int(double)
    }

    static func == (lhs: NATSJSONValue, rhs: NATSJSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let a), .array(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    static func parse(_ bytes: some Collection<UInt8>) throws(ProtocolError) -> NATSJSONValue {
        var reader = NATSJSONParser(bytes: Array(bytes))
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == reader.bytes.count else { throw .malformed("trailing bytes after JSON") }
        return value
    }
}

private struct NATSJSONParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func expect(_ byte: UInt8) throws(ProtocolError) {
        guard peek() == byte else { throw .malformed("bad JSON at byte \(index)") }
        index += 1
    }

    mutating func value(depth: Int) throws(ProtocolError) -> NATSJSONValue {
        guard depth < NATSJSONValue.maxDepth else { throw .malformed("JSON nested too deeply") }
        switch peek() {
        case UInt8(ascii: "{"):
            index += 1
            var fields: [(String, NATSJSONValue)] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { index += 1; return .object(fields) }
            while true {
                skipWhitespace()
                let key = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                fields.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(fields)
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [NATSJSONValue] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(elements)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case let byte? where byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte):
            let start = index
            index += 1
            while let b = peek(), (0x30...0x39).contains(b) || [0x2E, 0x2B, 0x2D, 0x45, 0x65].contains(b) {
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard Double(text) != nil else { throw .malformed("bad JSON number \(text.prefix(32))") }
            return .number(text)
        default:
            throw .malformed("bad JSON at byte \(index)")
        }
    }

    mutating func literal(_ word: String) throws(ProtocolError) {
        for byte in word.utf8 { try expect(byte) }
    }

    mutating func string() throws(ProtocolError) -> String {
        try expect(UInt8(ascii: "\""))
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []  // raw UTF-8 between escapes
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while true {
            guard let byte = peek() else { throw .malformed("unterminated JSON string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                guard let escape = peek() else { throw .malformed("unterminated JSON string") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), peek() == UInt8(ascii: "\\"),
                        index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    throw .malformed("bad JSON escape")
                }
            case 0x00..<0x20:
                throw .malformed("control character in JSON string")
            default:
                run.append(byte)
            }
        }
    }

    mutating func hex4() throws(ProtocolError) -> UInt32 {
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw .malformed("bad JSON \\u escape") }
            index += 1
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw .malformed("bad JSON \\u escape")
            }
            code = code << 4 | digit
        }
        return code
    }
}

/// Appends `text` as a JSON string literal (quotes included).
func appendJSONString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += Array(#"\""#.utf8)
        case "\\": out += Array(#"\\"#.utf8)
        case "\n": out += Array(#"\n"#.utf8)
        case "\r": out += Array(#"\r"#.utf8)
        case "\t": out += Array(#"\t"#.utf8)
        case _ where scalar.value < 0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += Array(#"\u00"#.utf8)
            out.append(hex[Int(scalar.value >> 4)])
            out.append(hex[Int(scalar.value & 0xF)])
        default:
            out += Array(String(scalar).utf8)
        }
    }
    out.append(UInt8(ascii: "\""))
}
