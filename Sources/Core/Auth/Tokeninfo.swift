/// Zalando's tokeninfo endpoint (GET /oauth2/tokeninfo) as one pure function: the simulated
/// tokeninfo station and the live Hummingbird handler both call `Tokeninfo.respond`, and only
/// translate HTTP ↔ these values.

/// What arrived at tokeninfo.
public enum TokeninfoRequest: Sendable, Equatable {
    /// No access_token parameter and no Authorization header.
    case missing
    /// Something was presented but could not be decoded; the payload says why.
    case malformed(String)
    case presented(Token)
}

/// The JSON values tokeninfo answers with.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case strings([String])
}

public struct TokeninfoResponse: Sendable, Equatable {
    /// One JSON member, in the order it is rendered.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: JSONValue

        public init(_ name: String, _ value: JSONValue) {
            self.name = name
            self.value = value
        }
    }

    /// What the body is made from. A verdict on a token keeps the token and its claims and
    /// renders its members only when asked: callers that act on the status (every simulated
    /// hop validator) never read them, and building them per answer cost 3% of a simulated
    /// central-validation run (callgrind: strings, an array, and its regrowth for client_id).
    enum Content: Sendable {
        case fields([Field])
        case valid(token: Token, expiresIn: Int64)
        case rejected(TokenRejection)
    }

    public var status: Int
    var content: Content
    /// For a 401 on a decodable token: the typed reason, so callers need not parse
    /// `error_description` for metrics. Not rendered. Nil for 200, 400 and malformed tokens.
    public var rejection: TokenRejection?

    /// The JSON object, members in rendering order (an array, not a dictionary, so the wire
    /// bytes are the same on every run).
    public var body: [Field] {
        get {
            switch content {
            case .fields(let fields):
                return fields
            case .rejected(let rejection):
                return [.init("error", .string("invalid_token")), .init("error_description", .string(rejection.description))]
            case .valid(let token, let expiresIn):
                let claims = token.claims
                var body: [Field] = []
                body.reserveCapacity(7)
                body.append(.init("access_token", .string(token.raw)))
                body.append(.init("uid", .string(claims.sub)))
                body.append(.init("scope", .strings(claims.scope)))
                // Zalando's tokeninfo names realms with a leading slash ("/services").
                body.append(.init("realm", .string(claims.realm.hasPrefix("/") ? claims.realm : "/" + claims.realm)))
                body.append(.init("token_type", .string("Bearer")))
                body.append(.init("expires_in", .int(expiresIn)))
                if let azp = claims.azp { body.append(.init("client_id", .string(azp))) }
                return body
            }
        }
        set { content = .fields(newValue) }
    }

    public init(status: Int, body: [Field], rejection: TokenRejection? = nil) {
        self.status = status
        self.content = .fields(body)
        self.rejection = rejection
    }

    init(status: Int, content: Content, rejection: TokenRejection?) {
        self.status = status
        self.content = content
        self.rejection = rejection
    }

    public func field(_ name: String) -> JSONValue? { body.first { $0.name == name }?.value }

    /// Equal when they would render the same bytes with the same status and reason.
    public static func == (lhs: TokeninfoResponse, rhs: TokeninfoResponse) -> Bool {
        lhs.status == rhs.status && lhs.rejection == rhs.rejection && lhs.body == rhs.body
    }
}

public enum Tokeninfo {
    /// 503 temporarily_unavailable: this tokeninfo cannot judge tokens yet (no signing keys
    /// loaded, e.g. just after a restart). Never a 401: "invalid" is a verdict on the token,
    /// and a caller must not refuse a valid token because its validator is not ready.
    public static func unavailable(_ description: String) -> TokeninfoResponse {
        TokeninfoResponse(status: 503, body: [TokeninfoResponse.Field("error", .string("temporarily_unavailable")),
                                              TokeninfoResponse.Field("error_description", .string(description))])
    }

    /// 200 with access_token, uid (= sub), scope, realm ("/services"), token_type "Bearer", expires_in (whole
    /// seconds left, ≥ 0) and client_id (= azp; omitted when nil). A missing token is a 400
    /// invalid_request; a malformed or invalid token a 401 invalid_token (RFC 6750 §3.1), each
    /// with an error_description.
    public static func respond(
        to request: TokeninfoRequest, keys: JWKS, revoked: RevocationList, rules: TokenRules, now: Int64,
        scheme: any SignatureScheme
    ) -> TokeninfoResponse {
        switch request {
        case .missing:
            return TokeninfoResponse(status: 400, body: [
                .init("error", .string("invalid_request")),
                .init("error_description", .string("Access token required")),
            ])
        case .malformed(let why):
            return TokeninfoResponse(status: 401, body: [
                .init("error", .string("invalid_token")),
                .init("error_description", .string("Access Token not valid: malformed token (\(why))")),
            ])
        case .presented(let token):
            switch rules.check(token, keys: keys, revoked: revoked, now: now, scheme: scheme) {
            case .failure(let rejection):
                return TokeninfoResponse(status: 401, content: .rejected(rejection), rejection: rejection)
            case .success(let claims):
                // Whole seconds, rounded down; a token inside the leeway past exp reports 0.
                let left = max(0, subtractSaturating(claims.exp, now)) / second
                return TokeninfoResponse(status: 200, content: .valid(token: token, expiresIn: left), rejection: nil)
            }
        }
    }
}
