import Auth
import Foundation
import Hummingbird
import LiveAuth
import Logging
import NIOCore
import Prometheus
import Synchronization

/// The OAuth2 token provider (Plan B style) over HTTP. The pure `TokenProvider` decides which
/// key signs and which keys are published at any instant; this server adds the real ES256 keys,
/// the client registry and the HTTP surface:
/// - `POST /oauth2/access_token` — client-credentials grant (RFC 6749 §4.4): client id and
///   secret by HTTP Basic or in the form body, `realm` (query or form, `/services` or
///   `services`) and `scope` (space-separated);
/// - `GET /.well-known/openid-configuration` and the JWKS at its `jwks_uri` (`/oauth2/connect/keys`, Plan B's path);
/// - `GET /oauth2/revocations` (what local validators poll) and `POST /oauth2/revoke` (RFC 7009:
///   the client authenticates as for a token, and may revoke only tokens issued to it);
/// - `/health`, `/metrics`.
public final class TokenProviderService: Sendable {
    public let config: ProviderConfig
    let issuer: LiveTokenIssuer
    let clients: [String: ClientRegistration]  // lookups only
    let revocations = Mutex(RevocationList())
    let sequence = Atomic<UInt64>(0)
    let metrics = PaaSMetrics(process: "token-provider")
    let issued: Counter
    let refused: Counter
    let logger: Logger

    /// Where the JWKS is served (the discovery document's `jwks_uri`).
    public static let jwksPath = "/oauth2/connect/keys"
    public static let revocationsPath = "/oauth2/revocations"

    /// `issuer` defaults to the config's schedule with fresh random keys; tests pass their own
    /// to mint tokens with the provider's real keys.
    public init(config: ProviderConfig, clients: ClientsFile, logger: Logger, issuer: LiveTokenIssuer? = nil) {
        self.config = config
        let issuer = issuer ?? LiveTokenIssuer(provider: config.provider(scheme: ModelSignatureScheme()))
        self.issuer = issuer
        // Keys a kept key ring brought from an earlier run of this provider signed tokens that
        // may still be in use: those still scheduled are published again.
        let now = wallClockNanos()
        let kept = Set(issuer.keyRing.kids)
        firstValidFrom = ([issuer.provider.signingKey(at: now).validFrom]
            + issuer.provider.jwks(at: now).keys.filter { kept.contains($0.kid) }.map(\.validFrom)).min()!
        self.clients = Dictionary(clients.clients.map { ($0.clientID, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
        issued = metrics.counter("tokens_issued_total", "Access tokens issued")
        refused = metrics.counter("token_requests_refused_total", "Token requests refused (bad client, realm, scope or grant)")
    }

    /// When this process began signing (or, with a kept key ring, the oldest kept key still
    /// scheduled): keys of the schedule before it never signed anything here, so they are not
    /// published (and never generated).
    let firstValidFrom: Int64

    /// The JWKS published now, with the real public keys.
    public func jwks(at now: Int64) -> JWKS {
        let scheduled = issuer.provider.jwks(at: now)
        return issuer.keyRing.jwks(JWKS(keys: scheduled.keys.filter { $0.validFrom >= firstValidFrom }))
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let base = config.issuer.hasSuffix("/") ? String(config.issuer.dropLast()) : config.issuer
        // A chaos run's outage of a face holds its requests unanswered (test-only).
        let outages = config.faultsFile.map(ProviderOutages.init(file:))
        router.post("/oauth2/access_token") { request, _ -> Response in
            await outages?.waitWhileDown(ProviderOutages.tokenEndpoint)
            let form = FormBody.parse(try await request.body.collect(upTo: 16 * 1024))
            return self.accessToken(request, form: form)
        }
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            Response.json(200, String(decoding: OpenIDConfiguration(issuer: self.config.issuer, baseURL: base).json, as: UTF8.self))
        }
        router.get(RouterPath(stringLiteral: TokenProviderService.jwksPath)) { _, _ -> Response in
            await outages?.waitWhileDown(ProviderOutages.jwks)
            let now = wallClockNanos()
            // A key no longer published must never sign again: drop its private half.
            self.issuer.forgetRetiredKeys(at: now)
            return Response.json(200, String(decoding: JWKSDocument.encode(self.jwks(at: now)), as: UTF8.self),
                                 headers: [.cacheControl: "max-age=30"])
        }
        router.get(RouterPath(stringLiteral: TokenProviderService.revocationsPath)) { _, _ -> Response in
            await outages?.waitWhileDown(ProviderOutages.jwks)
            let list = self.revocations.withLock { $0 }
            var json = JSONWriter()
            json.beginObject()
            json.key("revoked")
            json.beginArray()
            for jti in list.revoked.keys.sorted() {
                json.beginObject()
                json.key("jti")
                json.string(jti)
                json.key("revoked_at")
                json.integer(list.revoked[jti]!)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            return Response.json(200, bytes: json.bytes)
        }
        router.post("/oauth2/revoke") { request, _ -> Response in
            let form = FormBody.parse(try await request.body.collect(upTo: 16 * 1024))
            return self.revoke(request, form: form)
        }
        router.get("/health") { _, _ -> Response in Response.json(200, "{\"status\":\"ok\"}") }
        metrics.addRoute(to: router)
        return router
    }

    private func refuse(_ status: Int, _ error: String, _ why: String) -> Response {
        refused.increment()
        return Response.oauthError(status, error, why)
    }

    /// The registered client whose credentials came with the request (HTTP Basic, else the form
    /// body: RFC 6749 §2.3.1), or the 401 to answer.
    private func authenticate(_ request: Request, form: [String: String]) -> Result<ClientRegistration, RefusedRequest> {
        var id = form["client_id"]
        var secret = form["client_secret"]
        if let basic = request.headers[.authorization], let credentials = FormBody.basicCredentials(basic) {
            id = credentials.id
            secret = credentials.secret
        }
        guard let id, let secret else { return .failure(RefusedRequest(refuse(401, "invalid_client", "client credentials required"))) }
        guard let client = clients[id], constantTimeEqual(client.clientSecret, secret) else {
            return .failure(RefusedRequest(refuse(401, "invalid_client", "unknown client or wrong secret")))
        }
        return .success(client)
    }

    /// RFC 7009. The client authenticates; a token that does not verify against this provider's
    /// published keys is no error (§2.2: the client could not act on one) and revokes nothing —
    /// so nobody can revoke a `jti` by forging a token around it; a genuine token issued to
    /// another client is refused (§2.1).
    func revoke(_ request: Request, form: [String: String]) -> Response {
        let client: ClientRegistration
        switch authenticate(request, form: form) {
        case .success(let c): client = c
        case .failure(let refusal): return refusal.response
        }
        guard let raw = form["token"], !raw.isEmpty else { return refuse(400, "invalid_request", "token= required") }
        let now = wallClockNanos()
        guard case .success(let token) = JWT.decode(raw, maxLength: BearerToken.maxLength),
              let key = jwks(at: now).key(kid: token.header.kid), issuer.scheme.verify(token, with: key)
        else { return Response.json(200, "{}") }
        guard token.claims.azp == client.clientID else {
            return refuse(400, "unauthorized_client", "the token was not issued to this client")
        }
        revocations.withLock { $0.revoke(jti: token.claims.jti, at: now) }
        return Response.json(200, "{}")
    }

    func accessToken(_ request: Request, form: [String: String]) -> Response {
        let client: ClientRegistration
        switch authenticate(request, form: form) {
        case .success(let c): client = c
        case .failure(let refusal): return refusal.response
        }
        guard form["grant_type"] == "client_credentials" else {
            return refuse(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
        }
        let realm = ClientRegistration.bareRealm((request.uri.queryParameters["realm"].map(String.init) ?? form["realm"]) ?? client.realms.first ?? "")
        guard client.realms.contains(realm) else { return refuse(400, "invalid_request", "client may not ask for realm '\(realm)'") }
        let scopes = (form["scope"] ?? "").split(separator: " ").map(String.init)
        if let denied = scopes.first(where: { !client.scopes.contains($0) }) {
            return refuse(400, "invalid_scope", "scope '\(denied)' not granted to this client")
        }
        let now = wallClockNanos()
        let n = sequence.add(1, ordering: .relaxed).newValue
        let jti = "\(config.port)-\(now)-\(n)"
        guard let token = issuer.issue(sub: client.subject ?? client.clientID, realm: Realm(realm),
                                       scope: scopes.isEmpty ? client.scopes : scopes, azp: client.clientID, jti: jti, at: now)
        else { return refuse(400, "invalid_request", "realm '\(realm)' is not served by this provider") }
        issued.increment()
        let expiresIn = max(0, token.claims.exp - now) / 1_000_000_000
        return Response.json(200, [
            .init("access_token", .string(token.raw)),
            .init("token_type", .string("Bearer")),
            .init("expires_in", .int(expiresIn)),
            .init("scope", .string(token.claims.scope.joined(separator: " "))),
            .init("realm", .string("/" + realm)),
        ])
    }
}

/// A refusal's HTTP answer, as a `Result` failure.
struct RefusedRequest: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}

/// `application/x-www-form-urlencoded` bodies and HTTP Basic credentials (RFC 6749 §2.3.1).
enum FormBody {
    static func parse(_ buffer: ByteBuffer) -> [String: String] {
        let text = String(buffer: buffer)
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.map({ decode($0) }) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func decode(_ s: Substring) -> String {
        s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
    }

    static func basicCredentials(_ header: String) -> (id: String, secret: String)? {
        guard header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingSpaces()),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]).removingPercentEncoding ?? "", String(text[text.index(after: colon)...]).removingPercentEncoding ?? "")
    }
}

/// Compares secrets without an early exit, so response time does not leak a prefix match.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}
