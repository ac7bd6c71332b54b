/// A NATS header block (`HMSG`/`HPUB`): `NATS/1.0[ <status>[ <description>]]\r\n`, then
/// `Name: value\r\n` lines, then an empty line. Names keep their case and order and may repeat,
/// as in nats-server; lookups ignore case.
public struct MessageHeaders: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Inline status, e.g. 503 on the empty message a server sends when a request has no
    /// responders (only if CONNECT asked for `no_responders`).
    public var status: Int?
    public var statusDescription: String
    public var fields: [Field]

    public init(status: Int? = nil, statusDescription: String = "", fields: [Field] = []) {
        self.status = status
        self.statusDescription = statusDescription
        self.fields = fields
    }

    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }

    private static let preamble = Array("NATS/1.0".utf8)

    public init(parsing bytes: some Collection<UInt8>) throws(ProtocolError) {
        let bytes = Array(bytes)
        var lines = bytes[...].split(separator: .lf, omittingEmptySubsequences: false).map { line in
            line.last == .cr ? line.dropLast() : line
        }
        // The block ends with CRLF CRLF, which leaves two empty pieces at the end.
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first, first.starts(with: Self.preamble) else {
            throw .malformed("header block does not start with NATS/1.0")
        }
        self.init()
        let (code, description) = first.dropFirst(Self.preamble.count).splitFirstField()
        if !code.isEmpty {
            guard code.count == 3, let value = Int(String(decoding: code, as: UTF8.self)) else {
                throw .malformed("bad header status")
            }
            status = value
            statusDescription = String(decoding: description.trimmingFieldSeparators(), as: UTF8.self)
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("header line without a name")
            }
            fields.append(Field(
                name: String(decoding: line[..<colon], as: UTF8.self),
                value: String(decoding: line[(colon + 1)...].trimmingFieldSeparators(), as: UTF8.self)))
        }
    }

    /// The wire form, ending with the empty line.
    public func encoded() throws(ProtocolError) -> [UInt8] {
        var out = Self.preamble
        if let status {
            guard (100...999).contains(status) else { throw .malformed("header status must have 3 digits") }
            out += Array(" \(status)".utf8)
            if !statusDescription.isEmpty {
                guard !statusDescription.utf8.contains(where: { $0 == .cr || $0 == .lf }) else {
                    throw .malformed("header status description contains CR or LF")
                }
                out += Array(" \(statusDescription)".utf8)
            }
        }
        out += [.cr, .lf]
        for field in fields {
            guard !field.name.isEmpty,
                !field.name.utf8.contains(where: { $0 <= .space || $0 == UInt8(ascii: ":") || $0 == 0x7F })
            else { throw .malformed("bad header name \(field.name.prefix(32))") }
            guard !field.value.utf8.contains(where: { $0 == .cr || $0 == .lf }) else {
                throw .malformed("header value contains CR or LF")
            }
            out += Array(field.name.utf8)
            out += Array(": ".utf8)
            out += Array(field.value.utf8)
            out += [.cr, .lf]
        }
        out += [.cr, .lf]
        return out
    }
}
