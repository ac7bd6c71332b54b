import Auth
import Hummingbird
import LiveAuth
import NIOCore

/// Translation between HTTP and the Auth core's values, shared by tokeninfo and the mesh.
enum BearerToken {
    /// The longest bearer string decoded at all; longer ones are malformed without parsing
    /// (a 1 MB "token" costs one length check).
    static let maxLength = 8192

    /// What was presented: an `Authorization: Bearer …` header, else `?access_token=` (RFC 6750 §2.1, §2.3).
    /// Another scheme (`Basic …`) counts as no token.
    static func extract(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let prefix = "bearer "
            guard header.utf8.count > prefix.utf8.count,
                  header.prefix(prefix.count).lowercased() == prefix else { return nil }
            return String(header.dropFirst(prefix.count)).trimmingSpaces()
        }
        if let query = request.uri.queryParameters["access_token"] { return String(query) }
        return nil
    }

    static func tokeninfoRequest(_ presented: String?) -> TokeninfoRequest {
        guard let presented, !presented.isEmpty else { return .missing }
        switch JWT.decode(presented, maxLength: maxLength) {
        case .success(let token): return .presented(token)
        case .failure(let error): return .malformed("\(error)")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// JSON text without Foundation on the request path: bodies here are a handful of members.
enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): quoted(s)
        case .int(let i): String(i)
        case .strings(let list): "[" + list.map(quoted).joined(separator: ",") + "]"
        }
    }

    static func object(_ fields: [TokeninfoResponse.Field]) -> String {
        "{" + fields.map { quoted($0.name) + ":" + render($0.value) }.joined(separator: ",") + "}"
    }
}

extension Response {
    static func json(_ status: Int, _ text: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: .init(code: status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ status: Int, _ fields: [TokeninfoResponse.Field]) -> Response {
        json(status, JSONText.object(fields))
    }

    static func oauthError(_ status: Int, _ error: String, _ description: String) -> Response {
        json(status, [.init("error", .string(error)), .init("error_description", .string(description))])
    }

    static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .init(code: status), headers: [.contentType: contentType],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
