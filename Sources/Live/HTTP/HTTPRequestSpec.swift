/// One HTTP/1.1 request as the client sends it. Plain values (no NIO types) so callers that
/// build requests — the PaaS load runs, tests — need not import NIO.
///
/// `Host` and `Content-Length` are added by the connection (`Host` from the pool's address,
/// unless given here); other framing headers are the caller's business.
public struct HTTPRequestSpec: Sendable {
    /// `GET`, `POST`, … as sent on the request line.
    public var method: String
    /// The request target: path and query, e.g. `/oauth/tokeninfo?access_token=…`.
    public var target: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String = "GET", target: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    public static func get(_ target: String, headers: [(String, String)] = []) -> HTTPRequestSpec {
        HTTPRequestSpec(method: "GET", target: target, headers: headers)
    }

    public static func post(_ target: String, headers: [(String, String)] = [], body: [UInt8]) -> HTTPRequestSpec {
        HTTPRequestSpec(method: "POST", target: target, headers: headers, body: body)
    }

    /// Whether `other` goes on the wire as the same bytes (the connection then writes the bytes
    /// it encoded for this one again).
    func sameWire(as other: HTTPRequestSpec) -> Bool {
        method == other.method && target == other.target && body == other.body
            && headers.count == other.headers.count && zip(headers, other.headers).allSatisfy { $0 == $1 }
    }

    /// Whether re-sending after a lost connection cannot change the outcome (RFC 9110 §9.2.2).
    /// The pool re-sends such a request once when a reused keep-alive connection turns out to
    /// have been closed by the server before it answered (the idle-close race every HTTP/1.1
    /// pool meets); anything else fails with `.connectionClosed`.
    var isIdempotent: Bool {
        switch method {
        case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE": return true
        default: return false
        }
    }
}
