/// An HTTP/1.1 request as bytes: request line, header fields, body. A load driver encodes a
/// request once and writes the same bytes for every send of it.
public enum HTTPRequestEncoding {
    /// `method target HTTP/1.1`, the fields, `Host: host` unless a field names it, and
    /// `Content-Length` unless a field does, when there is a body or the method expects one
    /// (`POST`, `PUT`, `PATCH`; an empty `GET` gets none, RFC 9110 §8.6). `nil` if a part holds
    /// bytes HTTP does not allow there (a method or field name that is not a token, a control
    /// character or space in the target, CR, LF or NUL in a value): they could smuggle a
    /// second request.
    public static func encode(method: String, target: String, headers: [(String, String)], body: [UInt8],
                              host: String) -> [UInt8]? {
        guard isToken(method), !target.isEmpty, target.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return nil }
        var hasHost = false
        var hasLength = false
        var size = method.utf8.count + target.utf8.count + host.utf8.count + body.count + 64
        for (name, value) in headers {
            guard isToken(name), !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else { return nil }
            if !hasHost, equalsIgnoringASCIICase(name, "host") { hasHost = true }
            if !hasLength, equalsIgnoringASCIICase(name, "content-length") { hasLength = true }
            size += name.utf8.count + value.utf8.count + 4
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        func line(_ parts: String...) {
            for part in parts { bytes += part.utf8 }
            bytes += [0x0d, 0x0a]
        }
        line(method, " ", target, " HTTP/1.1")
        if !hasHost { line("Host: ", host) }
        for (name, value) in headers { line(name, ": ", value) }
        if !hasLength, !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
            line("Content-Length: ", String(body.count))
        }
        line()
        bytes += body
        return bytes
    }

    /// Whether two names are the same ignoring ASCII case (header names, RFC 9110 §5.1).
    public static func equalsIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { HTTPHeaderLines.sameIgnoringASCIICase($0, $1) }
    }

    private static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy(HTTPHeaderLines.isToken)
    }
}
