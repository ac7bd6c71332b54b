/// Why a request got no response. Typed so that load runs can count failures by kind
/// (`kind`) and tests can match them exactly.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No response within the request's timeout; the connection it was sent on was closed,
    /// since a late response could no longer be told apart from the next one.
    case timeout
    /// The TCP connection could not be opened (refused, unreachable, connect timeout).
    case connectFailed(String)
    /// The connection closed before the response was complete.
    case connectionClosed
    /// Every connection was busy and `maxWaiters` requests were already queued: failing fast
    /// keeps an overloaded client from turning into an unbounded queue.
    case overloaded
    /// The bytes received were not an HTTP/1.1 response (or answered no request).
    case malformedResponse
    /// The pool was shut down before the request completed.
    case shutDown

    /// A short, stable name for error tables (`OpenLoopRecorder.recordError(kind:)`).
    public var kind: String {
        switch self {
        case .timeout: return "timeout"
        case .connectFailed: return "connect_failed"
        case .connectionClosed: return "connection_closed"
        case .overloaded: return "overloaded"
        case .malformedResponse: return "malformed_response"
        case .shutDown: return "shut_down"
        }
    }

    public var description: String {
        switch self {
        case .timeout: return "timed out"
        case .connectFailed(let why): return "connect failed: \(why)"
        case .connectionClosed: return "connection closed"
        case .overloaded: return "overloaded: too many requests waiting for a connection"
        case .malformedResponse: return "malformed response"
        case .shutDown: return "connection pool shut down"
        }
    }
}
