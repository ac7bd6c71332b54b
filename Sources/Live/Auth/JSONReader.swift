import Foundation

/// A parsed JSON value. Objects are dictionaries: duplicate member names are rejected while
/// parsing (RFC 7515 §5.2 allows that, and it closes the "which `alg` wins" ambiguity between
/// parsers), so member order carries no meaning afterwards.
enum JSONNode {
    case object([String: JSONNode])
    case array([JSONNode])
    case string(String)
    /// `integer` is exact when the literal is an integer that fits Int64 (NumericDates nearly
    /// always are); `double` is the value either way.
    case number(integer: Int64?, double: Double)
    case bool(Bool)
    case null
}

enum JSONReadError: Error, Equatable {
    case syntax
    case duplicateMember(String)
    case tooDeep
}

/// A small strict JSON reader (RFC 8259) for token headers, claims and JWKS documents. Written
/// here rather than using JSONSerialization because claim types must be exact: Foundation on
/// Linux hands back NSNumber for both `true` and `1`, so `"exp": true` would pass as a number.
struct JSONReader {
    /// Token and JWKS documents are flat; the bound keeps hostile nesting off the stack.
    static let maxDepth = 16

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) throws(JSONReadError) -> JSONNode {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw .syntax }
        return value
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ literal: String) throws(JSONReadError) {
        for byte in literal.utf8 {
            guard current == byte else { throw .syntax }
            index += 1
        }
    }

    private mutating func value(depth: Int) throws(JSONReadError) -> JSONNode {
        guard depth < Self.maxDepth else { throw .tooDeep }
        guard let byte = current else { throw .syntax }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw .syntax
        }
    }

    private mutating func object(depth: Int) throws(JSONReadError) -> JSONNode {
        index += 1  // {
        var members: [String: JSONNode] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw .syntax }
            let name = try string()
            skipWhitespace()
            try expect(":")
            skipWhitespace()
            let member = try value(depth: depth + 1)
            guard members.updateValue(member, forKey: name) == nil else { throw .duplicateMember(name) }
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect("}")
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(JSONReadError) -> JSONNode {
        index += 1  // [
        var elements: [JSONNode] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect("]")
            return .array(elements)
        }
    }

    private mutating func string() throws(JSONReadError) -> String {
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw .syntax }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                // Invalid UTF-8 is rejected, not repaired: a repaired claim would differ from
                // the signed bytes.
                guard let text = String(bytes: utf8, encoding: .utf8) else { throw .syntax }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0x00..<0x20:
                throw .syntax
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(JSONReadError) {
        guard let byte = current else { throw .syntax }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                try expect("\\u")
                let low = UInt32(try hex4())
                guard (0xDC00..<0xE000).contains(low) else { throw .syntax }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw .syntax }  // lone low surrogate
            utf8.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            throw .syntax
        }
    }

    private mutating func hex4() throws(JSONReadError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw .syntax }
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .syntax
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// RFC 8259 §6 grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() throws(JSONReadError) -> JSONNode {
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            guard try digits() > 0 else { throw .syntax }
        }
        if current == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard try digits() > 0 else { throw .syntax }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard try digits() > 0 else { throw .syntax }
        }
        let literal = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let double = Double(literal) else { throw .syntax }
        return .number(integer: isInteger ? Int64(literal) : nil, double: double)
    }

    private mutating func digits() throws(JSONReadError) -> Int {
        var count = 0
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            index += 1
            count += 1
        }
        return count
    }
}
