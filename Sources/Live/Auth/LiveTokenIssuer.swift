import Auth

/// The live token provider: the pure `TokenProvider` decides kid, lifetimes, issuer and
/// rotation; this adds real ES256 keys and compact JWTs. `issue` and `jwks` answer exactly as
/// the simulated provider would, with real signatures and points in place of the model's.
public struct LiveTokenIssuer: Sendable {
    /// The schedule. Its `scheme` is not used: tokens are always signed with ES256 here.
    public var provider: TokenProvider
    public let keyRing: ES256KeyRing

    public init(provider: TokenProvider, keyRing: ES256KeyRing = ES256KeyRing()) {
        self.provider = provider
        self.keyRing = keyRing
    }

    /// A verifying-and-signing scheme over this issuer's keys.
    public var scheme: ES256Scheme { ES256Scheme(keyRing: keyRing) }

    /// What the provider would issue at `now`, signed with ES256, with `raw` the compact JWT.
    /// `iat` and `exp` are rounded down to whole seconds first — the wire carries NumericDate
    /// seconds — so `JWT.decode(token.raw)` gives back exactly this token. Nil when the
    /// provider does not serve `realm`.
    public func issue(
        sub: String, realm: Realm, scope: [String], azp: String?, jti: String, at now: Int64
    ) -> Token? {
        var unsigned = provider
        unsigned.scheme = Unsigned()
        guard var token = unsigned.issue(
            sub: sub, realm: realm, scope: scope, azp: azp, jti: jti, at: JWT.wholeSeconds(now))
        else { return nil }
        token.claims.exp = JWT.wholeSeconds(token.claims.exp)
        let input = JWT.signingInput(header: token.header, claims: token.claims)
        token.signature = scheme.sign(
            header: token.header, claims: token.claims, with: provider.signingKey(at: JWT.wholeSeconds(now)))
        token.raw = JWT.compact(signingInput: input, signature: token.signature)
        return token
    }

    /// The provider's JWKS at `now` with real public points.
    public func jwks(at now: Int64) -> JWKS {
        keyRing.jwks(provider.jwks(at: now))
    }

    /// Destroys private keys no longer published at `now`: a retired key must not sign again.
    /// Call only with a clock that does not step back past `now`.
    public func forgetRetiredKeys(at now: Int64) {
        keyRing.forget(kidsNotIn: provider.jwks(at: now).kids)
    }
}

/// Lets `TokenProvider.issue` build header and claims without paying for a signature that
/// would be discarded.
private struct Unsigned: SignatureScheme {
    func sign(header: TokenHeader, claims: TokenClaims, with key: SigningKey) -> Signature { Signature(bytes: []) }
    func verify(_ token: Token, with key: PublicKey) -> Bool { false }
}
