/// Shared builders: one provider, tokens issued by it, and hand-crafted (correctly signed)
/// tokens for the edge cases a real provider never issues.
import Auth

let s: Int64 = 1_000_000_000
let ms: Int64 = 1_000_000
let issuer = "https://identity.faultline"
let scheme = ModelSignatureScheme()

func makeProvider(interval: Int64? = nil, prePublish: Int64 = 0, retainAfter: Int64 = 0) -> TokenProvider {
    TokenProvider(
        issuer: issuer, lifetimes: .planB,
        rotation: KeyRotation(interval: interval, prePublish: prePublish, retainAfter: retainAfter))
}

/// A services token issued at `at` (lives 8 h) by a non-rotating provider.
func issued(jti: String = "j1", at: Int64 = 0, azp: String? = "client-a", provider: TokenProvider = makeProvider())
    -> Token
{
    provider.issue(sub: "svc-a", realm: .services, scope: ["read", "write"], azp: azp, jti: jti, at: at)!
}

func claims(
    sub: String = "svc-a", realm: String = "services", iss: String = issuer, iat: Int64 = 0,
    exp: Int64 = 100 * s, azp: String? = "client-a", jti: String = "j1"
) -> TokenClaims {
    TokenClaims(sub: sub, realm: realm, scope: ["read"], iss: iss, iat: iat, exp: exp, azp: azp, jti: jti)
}

/// Correctly signed by key number `keyNumber` of the default provider's schedule.
func signed(_ claims: TokenClaims, keyNumber: Int64 = 0, alg: String = "ES256") -> Token {
    let key = makeProvider(interval: 100 * s).key(number: keyNumber)
    let header = TokenHeader(kid: key.kid, alg: alg)
    return Token(
        header: header, claims: claims, signature: scheme.sign(header: header, claims: claims, with: key),
        raw: "tok-" + claims.jti)
}

/// JWKS holding keys 0...n of the schedule.
func jwks(_ numbers: Int64...) -> JWKS {
    let p = makeProvider(interval: 100 * s)
    return JWKS(keys: numbers.map { p.key(number: $0).publicKey })
}

let rules = TokenRules(issuer: issuer)

func ok(_ token: Token) -> TokeninfoAnswer {
    .response(Tokeninfo.respond(
        to: .presented(token), keys: jwks(0), revoked: RevocationList(), rules: rules, now: 0, scheme: scheme))
}

func unauthorized(_ rejection: TokenRejection?) -> TokeninfoAnswer {
    .response(TokeninfoResponse(
        status: 401,
        body: [.init("error", .string("invalid_token")), .init("error_description", .string("nope"))],
        rejection: rejection))
}
