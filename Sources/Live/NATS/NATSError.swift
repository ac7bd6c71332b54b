import NATSProtocol

/// Everything the client reports as a failure. Server-side text is kept verbatim so a test can
/// match it against nats-server's messages.
public enum NATSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// TCP connect failed (refused, unreachable, timed out): `host:port` and the system's reason.
    case connectionFailed(String)
    /// `-ERR` from the server, without the quotes ("Authorization Violation", …).
    case serverError(String)
    /// The server sent bytes the parser rejects; the connection was closed.
    case protocolViolation(ProtocolError)
    /// A subject, queue, header or payload the encoder or session refuses to send.
    case invalidRequest(ProtocolError)
    /// A request, handshake or API call got no answer in time.
    case timeout
    /// The server answered a request with a 503 status: nobody subscribes to the subject.
    case noResponders(subject: String)
    /// The connection is closed (by us, by the server, or by the network).
    case connectionClosed
    /// Keepalive PINGs went unanswered.
    case staleConnection
    /// A JetStream API error object (`code` is HTTP-like, `errorCode` is nats-server's `err_code`).
    case jetStream(code: Int, errorCode: Int, description: String)
    /// A JetStream reply that does not decode as the expected JSON.
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .connectionFailed(let reason): "NATS connection failed: \(reason)"
        case .serverError(let text): "NATS server error: \(text)"
        case .protocolViolation(let error): "NATS protocol violation from server: \(error)"
        case .invalidRequest(let error): "invalid NATS request: \(error)"
        case .timeout: "NATS operation timed out"
        case .noResponders(let subject): "no responders on \(subject)"
        case .connectionClosed: "NATS connection closed"
        case .staleConnection: "NATS connection stale: keepalive PINGs unanswered"
        case .jetStream(let code, let errorCode, let description):
            "JetStream error \(code)/\(errorCode): \(description)"
        case .unexpectedResponse(let text): "unexpected JetStream response: \(text)"
        }
    }
}
