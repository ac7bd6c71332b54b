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

extension JSONWriter {
    /// A tokeninfo-style body: the members in their rendering order.
    static func object(_ fields: [TokeninfoResponse.Field]) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        for field in fields {
            json.key(field.name)
            switch field.value {
            case .string(let s): json.string(s)
            case .int(let i): json.integer(i)
            case .strings(let list): json.strings(list)
            }
        }
        json.endObject()
        return json.bytes
    }
}

extension Response {
    static func json(_ status: Int, _ text: String, headers extra: HTTPFields = [:]) -> Response {
        json(status, bytes: Array(text.utf8), headers: extra)
    }

    static func json(_ status: Int, bytes: [UInt8], headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ status: Int, _ fields: [TokeninfoResponse.Field]) -> Response {
        json(status, bytes: JSONWriter.object(fields))
    }

    static func oauthError(_ status: Int, _ error: String, _ description: String) -> Response {
        json(status, [.init("error", .string(error)), .init("error_description", .string(description))])
    }

    static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .init(code: status), headers: [.contentType: contentType],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
