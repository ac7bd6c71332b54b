import NIOHTTP1

/// A complete HTTP response: status line, headers in wire order, the whole body.
public struct HTTPReply: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// The decoder's own header list, kept as received: copying every header into Swift
    /// strings per response was a measurable share of the load driver's CPU, and most
    /// classifiers never look at headers.
    var wireHeaders: HTTPHeaders

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.wireHeaders = HTTPHeaders(headers)
        self.body = body
    }

    init(status: Int, wireHeaders: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.wireHeaders = wireHeaders
        self.body = body
    }

    /// Headers in wire order.
    public var headers: [(String, String)] { wireHeaders.map { ($0.name, $0.value) } }

    /// The first value of header `name`, compared ASCII case-insensitively (RFC 9110 §5.1);
    /// no lowercased copies, since classifiers call this once per response under load.
    public func header(_ name: String) -> String? {
        for (key, value) in wireHeaders where Self.equalsIgnoringASCIICase(key, name) { return value }
        return nil
    }

    /// The body as UTF-8 text (invalid bytes repaired), for assertions and error messages.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    static func equalsIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        var i = a.utf8.makeIterator()
        var j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                if x == y { continue }
                // Letters differ only in bit 0x20; anything else must match exactly.
                guard x | 0x20 == y | 0x20, (0x61...0x7a).contains(x | 0x20) else { return false }
            default: return false
            }
        }
    }
}
