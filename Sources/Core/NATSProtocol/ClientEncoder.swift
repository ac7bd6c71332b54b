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
            out += "CONNECT ".utf8
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
            out += "PING".utf8
        case .pong:
            out += "PONG".utf8
        }
        out.append(.cr)
        out.append(.lf)
    }

    /// `OP field…\r\n`, skipping nil fields. Appends straight into `out` (a publish is encoded
    /// per message: no intermediate arrays).
    private static func line(_ out: inout [UInt8], _ name: String, _ fields: String?...) throws(ProtocolError) {
        out += name.utf8
        for case let field? in fields {
            try validateToken(field)
            out.append(.space)
            out += field.utf8
        }
        out.append(.cr)
        out.append(.lf)
    }

    static func validateToken(_ token: String) throws(ProtocolError) {
        guard !token.isEmpty else { throw .malformed("empty subject, queue or sid") }
        let clean = token.utf8.withContiguousStorageIfAvailable { !$0.contains(where: \.isControlLineBreaker) }
            ?? !token.utf8.contains(where: \.isControlLineBreaker)
        guard clean else {
            throw .malformed("whitespace in subject, queue or sid: \(token.prefix(32))")
        }
    }
}
