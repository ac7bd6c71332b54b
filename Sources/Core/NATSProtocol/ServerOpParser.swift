/// Incremental parser for the server → client direction.
///
/// Feed it whatever the socket delivered — chunks may split an op anywhere and may hold several
/// ops — and it returns the ops completed so far. Buffering is bounded by the limits: a control
/// line may not exceed `maxControlLine` bytes (nats-server's own `max_control_line` default is
/// 4096) and a size field above `maxPayload` fails as soon as its control line is read, before
/// a single payload byte is kept. After an error the parser stays failed and rethrows it: the
/// text protocol has no point to resynchronise at, so the caller must close the connection.
///
/// Tolerances, matching nats-server and nats.go: op names are case-insensitive, fields may be
/// separated by runs of spaces or tabs, and a control line may end in a bare LF. A payload must
/// be followed by exactly CRLF.
public struct ServerOpParser: Sendable {
    public let maxPayload: Int
    public let maxControlLine: Int

    private var state: State = .controlLine
    /// The control line read so far (without its LF).
    private var line: [UInt8] = []
    /// Payload, then the trailing CRLF, of the op in `state`.
    private var body: [UInt8] = []

    private enum State: Sendable {
        case controlLine
        case payload(PendingMessage)
        case failed(ProtocolError)
    }

    private struct PendingMessage: Sendable {
        var subject: String
        var sid: String
        var replyTo: String?
        /// Header bytes at the front of the payload; nil for `MSG`.
        var headerBytes: Int?
        var totalBytes: Int
    }

    public init(maxPayload: Int = 1 << 20, maxControlLine: Int = 4096) {
        // The bound keeps `size + CRLF` arithmetic from overflowing.
        precondition(maxPayload >= 0 && maxPayload <= Int.max / 2 && maxControlLine > 0)
        self.maxPayload = maxPayload
        self.maxControlLine = maxControlLine
    }

    /// True once `feed` has thrown; every later `feed` throws the same error.
    public var hasFailed: Bool {
        if case .failed = state { true } else { false }
    }

    /// Returns the ops completed by `bytes`. When this throws, ops completed earlier in the same
    /// chunk are dropped with it: the connection is going away and nothing from it is acked.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ProtocolError) -> [ServerOp] {
        if case .failed(let error) = state { throw error }
        let input = Array(bytes)
        var ops: [ServerOp] = []
        var index = 0
        do throws(ProtocolError) {
            while index < input.count {
                switch state {
                case .controlLine:
                    let lf = input[index...].firstIndex(of: .lf)
                    let end = lf ?? input.count
                    // Content plus an optional CR may be buffered; anything longer already fails.
                    guard line.count + (end - index) <= maxControlLine + 1 else { throw ProtocolError.lineTooLong }
                    line += input[index..<end]
                    index = end
                    guard lf != nil else { break }
                    index += 1
                    if line.last == .cr { line.removeLast() }
                    guard line.count <= maxControlLine else { throw ProtocolError.lineTooLong }
                    if let op = try controlLine(line[...]) { ops.append(op) }
                    line.removeAll(keepingCapacity: true)
                case .payload(let pending):
                    let wanted = pending.totalBytes + 2 - body.count
                    let take = min(wanted, input.count - index)
                    body += input[index..<index + take]
                    index += take
                    guard take == wanted else { break }
                    guard body[pending.totalBytes] == .cr, body[pending.totalBytes + 1] == .lf else {
                        throw ProtocolError.malformed("missing CRLF after payload")
                    }
                    body.removeLast(2)
                    var message = NATSMessage(subject: pending.subject, sid: pending.sid,
                                          replyTo: pending.replyTo, payload: body)
                    if let headerBytes = pending.headerBytes {
                        message.headers = Array(body[..<headerBytes])
                        message.payload = Array(body[headerBytes...])
                        ops.append(.hmsg(message))
                    } else {
                        ops.append(.msg(message))
                    }
                    body = []
                    state = .controlLine
                case .failed(let error):
                    throw error
                }
            }
        } catch {
            state = .failed(error)
            line = []
            body = []
            throw error
        }
        return ops
    }

    /// Returns the op of a complete control line, or nil when a payload must follow first.
    private mutating func controlLine(_ line: ArraySlice<UInt8>) throws(ProtocolError) -> ServerOp? {
        let (name, rest) = line.splitFirstField()
        // Op names are ASCII and case-insensitive: compare bytes (no String per op).
        switch OpName(name) {
        case .msg:
            let args = rest.fields()
            guard args.count == 3 || args.count == 4 else {
                throw .malformed("MSG wants 3 or 4 arguments, got \(args.count)")
            }
            let total = try size(args[args.count - 1])
            try startPayload(PendingMessage(
                subject: String(decoding: args[0], as: UTF8.self),
                sid: String(decoding: args[1], as: UTF8.self),
                replyTo: args.count == 4 ? String(decoding: args[2], as: UTF8.self) : nil,
                headerBytes: nil, totalBytes: total))
            return nil
        case .hmsg:
            let args = rest.fields()
            guard args.count == 4 || args.count == 5 else {
                throw .malformed("HMSG wants 4 or 5 arguments, got \(args.count)")
            }
            let headerBytes = try size(args[args.count - 2])
            let total = try size(args[args.count - 1])
            guard headerBytes <= total else { throw .malformed("HMSG header size exceeds total size") }
            try startPayload(PendingMessage(
                subject: String(decoding: args[0], as: UTF8.self),
                sid: String(decoding: args[1], as: UTF8.self),
                replyTo: args.count == 5 ? String(decoding: args[2], as: UTF8.self) : nil,
                headerBytes: headerBytes, totalBytes: total))
            return nil
        case .ping: return .ping
        case .pong: return .pong
        case .ok: return .ok
        case .err:
            var text = rest.trimmingFieldSeparators()
            if text.count >= 2, text.first == .quote, text.last == .quote {
                text = text.dropFirst().dropLast()
            }
            return .err(String(decoding: text, as: UTF8.self))
        case .info:
            return .info(try ServerInfo(json: rest.trimmingFieldSeparators()))
        case nil:
            throw .unknownOp(String(decoding: name.prefix(32), as: UTF8.self))
        }
    }

    private enum OpName {
        case msg, hmsg, ping, pong, ok, err, info

        init?(_ name: ArraySlice<UInt8>) {
            // ASCII upper-casing of letters only; "+OK" and "-ERR" keep their signs.
            func upper(_ byte: UInt8) -> UInt8 { (0x61...0x7A).contains(byte) ? byte - 0x20 : byte }
            func equals(_ word: StaticString) -> Bool {
                guard name.count == word.utf8CodeUnitCount else { return false }
                return zip(name, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)).allSatisfy { upper($0) == $1 }
            }
            if equals("MSG") { self = .msg }
            else if equals("HMSG") { self = .hmsg }
            else if equals("PING") { self = .ping }
            else if equals("PONG") { self = .pong }
            else if equals("+OK") { self = .ok }
            else if equals("-ERR") { self = .err }
            else if equals("INFO") { self = .info }
            else { return nil }
        }
    }

    private mutating func startPayload(_ pending: PendingMessage) throws(ProtocolError) {
        guard pending.totalBytes <= maxPayload else { throw .payloadTooLarge(pending.totalBytes) }
        guard !pending.subject.isEmpty, !pending.sid.isEmpty else { throw .malformed("empty subject or sid") }
        body = []
        // Grow with what actually arrives rather than what the control line claims.
        body.reserveCapacity(Swift.min(pending.totalBytes + 2, 1 << 16))
        state = .payload(pending)
    }

    /// A decimal byte count. Values too large for `Int` are reported as too large, not as
    /// malformed, since that is what they are.
    private func size(_ field: ArraySlice<UInt8>) throws(ProtocolError) -> Int {
        guard !field.isEmpty, field.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .malformed("size is not a decimal number: \(String(decoding: field.prefix(32), as: UTF8.self))")
        }
        var value = 0
        for digit in field {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { throw .payloadTooLarge(Int.max) }
            value = sum
        }
        return value
    }
}

extension UInt8 {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let quote: UInt8 = 0x27  // '

    var isFieldSeparator: Bool { self == .space || self == .tab }
    /// Would end a field or the control line it is in.
    var isControlLineBreaker: Bool { self == .space || self == .tab || self == .cr || self == .lf }
}

extension ArraySlice<UInt8> {
    /// The first field and what follows it (leading separators of both removed).
    func splitFirstField() -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        let start = firstIndex(where: { !$0.isFieldSeparator }) ?? endIndex
        let end = self[start...].firstIndex(where: \.isFieldSeparator) ?? endIndex
        let restStart = self[end...].firstIndex(where: { !$0.isFieldSeparator }) ?? endIndex
        return (self[start..<end], self[restStart...])
    }

    /// The fields, separated by runs of spaces or tabs (a hand loop: `split` cost a closure
    /// call per byte, for every message's control line).
    func fields() -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        result.reserveCapacity(5)
        var i = startIndex
        while i < endIndex {
            while i < endIndex, self[i].isFieldSeparator { i += 1 }
            guard i < endIndex else { break }
            let start = i
            while i < endIndex, !self[i].isFieldSeparator { i += 1 }
            result.append(self[start..<i])
        }
        return result
    }

    func trimmingFieldSeparators() -> ArraySlice<UInt8> {
        guard let first = firstIndex(where: { !$0.isFieldSeparator }),
            let last = lastIndex(where: { !$0.isFieldSeparator })
        else { return self[endIndex...] }
        return self[first...last]
    }
}
