/// Everything that can go wrong on the wire. Every case is fatal for the connection: the NATS
/// text protocol has no resynchronisation point, so after one bad byte nothing that follows can
/// be trusted (nats-server itself closes the connection on a parser error).
public enum ProtocolError: Error, Equatable, Sendable {
    /// A control line that starts with no operation we know; the associated value is the first
    /// token, cut to 32 bytes so a hostile peer cannot make us keep a large string.
    case unknownOp(String)
    /// A known operation with the wrong arguments, a missing CRLF after a payload, bad JSON, or
    /// (from the encoder) a subject, queue group or sid that would break the framing.
    case malformed(String)
    /// A size field larger than the limit, reported before any of the payload is buffered.
    case payloadTooLarge(Int)
    /// A control line longer than the parser's `maxControlLine`.
    case lineTooLong
}
