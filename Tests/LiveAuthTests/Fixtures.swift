import Auth
import LiveAuth
import XCTest

let nanos: Int64 = 1_000_000_000
let minutes: Int64 = 60 * nanos
let hours: Int64 = 60 * minutes
let issuerName = "https://auth.faultline.test"

/// 2023-11-14T22:13:20Z plus a fraction, so flooring to whole seconds is exercised.
let baseTime: Int64 = 1_700_000_000 * nanos + 123_456_789

func makeIssuer(rotation: KeyRotation = .never, keyRing: ES256KeyRing = ES256KeyRing()) -> LiveTokenIssuer {
    LiveTokenIssuer(
        provider: TokenProvider(issuer: issuerName, lifetimes: .planB, rotation: rotation),
        keyRing: keyRing)
}

func issue(
    _ issuer: LiveTokenIssuer, at now: Int64 = baseTime, realm: Realm = .services, azp: String? = "shop-client",
    jti: String = "jti-1", file: StaticString = #filePath, line: UInt = #line
) throws -> Token {
    try XCTUnwrap(
        issuer.issue(sub: "svc-orders", realm: realm, scope: ["uid", "orders.read"], azp: azp, jti: jti, at: now),
        file: file, line: line)
}

/// A compact JWT signed with the ring's key for `header.kid`: for tokens the provider would
/// never issue (future nbf, unknown kid).
func signedRaw(header: TokenHeader, claims: TokenClaims, ring: ES256KeyRing) -> String {
    let signature = ES256Scheme(keyRing: ring).sign(
        header: header, claims: claims, with: SigningKey(kid: header.kid, validFrom: 0, secret: 0))
    return JWT.compact(signingInput: JWT.signingInput(header: header, claims: claims), signature: signature)
}

/// A compact JWT from literal header and payload JSON.
func rawToken(header: String, payload: String, signature: [UInt8] = []) -> String {
    Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
        + Base64URL.encode(signature)
}

func decoded(_ raw: String, file: StaticString = #filePath, line: UInt = #line) throws -> Token {
    switch JWT.decode(raw) {
    case .success(let token): return token
    case .failure(let error):
        XCTFail("decode failed: \(error)", file: file, line: line)
        throw error
    }
}

func decodeError(_ raw: String, maxLength: Int = 8192) -> JWTDecodeError? {
    if case .failure(let error) = JWT.decode(raw, maxLength: maxLength) { return error }
    return nil
}

/// What tokeninfo would decide for the bearer string `raw`: decode, then the core's rules.
func judge(
    _ raw: String, keys: JWKS, at now: Int64, rules: TokenRules = TokenRules(issuer: issuerName, leeway: 30 * nanos),
    scheme: ES256Scheme = ES256Scheme(), file: StaticString = #filePath, line: UInt = #line
) throws -> Result<TokenClaims, TokenRejection> {
    let token = try decoded(raw, file: file, line: line)
    return rules.check(token, keys: keys, revoked: RevocationList(), now: now, scheme: scheme)
}

func rejection(_ result: Result<TokenClaims, TokenRejection>) -> TokenRejection? {
    if case .failure(let rejection) = result { return rejection }
    return nil
}

/// The three dot-separated parts of a compact token.
func parts(_ raw: String) -> [String] { raw.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
