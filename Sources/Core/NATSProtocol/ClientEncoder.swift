/// Client ops to wire bytes. Every name that goes into a control line (subject, reply subject,
/// queue group, sid) is checked to be non-empty and free of spaces, tabs, CR and LF, since any
/// of those would change the op's framing; subject syntax beyond that (empty tokens,
/// wildcards in PUB) is the server's to judge and it answers with -ERR.
public enum ClientEncoder {
    public static func encode(_ op: ClientOp) throws(ProtocolError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(op, into: &out)
        return out
    }

    public static func encode(_ ops: [ClientOp]) throws(ProtocolError) -> [UInt8] {
        var out: [UInt8] = []
        for op in ops { try encode(op, into: &out) }
        return out
    }

    public static func encode(_ op: ClientOp, into out: inout [UInt8]) throws(ProtocolError) {
        switch op {
        case .connect(let options):
            out += Array("CONNECT ".utf8)
            out += options.json
        case .pub(let subject, let replyTo, let payload):
            try line(&out, "PUB", subject, replyTo, String(payload.count))
            out += payload
        case .hpub(let subject, let replyTo, let headers, let payload):
            let block = try headers.encoded()
            try line(&out, "HPUB", subject, replyTo, String(block.count), String(block.count + payload.count))
            out += block
            out += payload
        case .sub(let subject, let queue, let sid):
            try line(&out, "SUB", subject, queue, sid)
            return
        case .unsub(let sid, let max):
            if let max, max < 0 { throw .malformed("UNSUB max must not be negative") }
            try line(&out, "UNSUB", sid, max.map(String.init))
            return
        case .ping:
            out += Array("PING".utf8)
        case .pong:
            out += Array("PONG".utf8)
        }
        out += [.cr, .lf]
    }

    /// `OP field…\r\n`, skipping nil fields.
    private static func line(_ out: inout [UInt8], _ name: String, _ fields: String?...) throws(ProtocolError) {
        out += Array(name.utf8)
        for case let field? in fields {
            try validateToken(field)
            out.append(.space)
            out += Array(field.utf8)
        }
        out += [.cr, .lf]
    }

    static func validateToken(_ token: String) throws(ProtocolError) {
        guard !token.isEmpty else { throw .malformed("empty subject, queue or sid") }
        guard !token.utf8.contains(where: { $0 == .space || $0 == .tab || $0 == .cr || $0 == .lf }) else {
            throw .malformed("whitespace in subject, queue or sid: \(token.prefix(32))")
        }
    }
}
