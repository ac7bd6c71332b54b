/// What makes a token valid at a node. One function serves tokeninfo (central validation) and
/// the local validator, so the two strategies can only differ in what they know (keys,
/// revocations, clock), never in how they judge.
public struct TokenRules: Sendable, Equatable {
    /// The only issuer whose tokens are accepted.
    public var issuer: String
    /// Clock-skew tolerance (nanoseconds) for `iat` and `exp`, as in RFC 7519 §4.1.4.
    public var leeway: Int64
    /// Allow list for the header's `alg` (RFC 8725 §3.1: never let the token pick).
    public var acceptedAlgorithms: [String]
    /// Realms this service accepts; nil = any.
    public var acceptedRealms: [String]?

    public init(
        issuer: String, leeway: Int64 = 0, acceptedAlgorithms: [String] = ["ES256"],
        acceptedRealms: [String]? = nil
    ) {
        self.issuer = issuer
        self.leeway = leeway
        self.acceptedAlgorithms = acceptedAlgorithms
        self.acceptedRealms = acceptedRealms
    }

    /// The one validity function: tokeninfo (central) and the local validator both use it.
    ///
    /// Order of checks: alg supported → missing claims → kid known in `keys` → signature →
    /// issuer → realm → iat (and nbf, when present) not in the future beyond leeway (notYetValid) → exp (expired when
    /// now > exp + leeway) → revoked. Cheap structural checks come first and nothing is
    /// believed before the signature is, so a forged token is reported as forged, not as
    /// "expired" or "wrong realm".
    public func check(
        _ token: Token, keys: JWKS, revoked: RevocationList, now: Int64, scheme: any SignatureScheme
    ) -> Result<TokenClaims, TokenRejection> {
        let claims = token.claims
        guard acceptedAlgorithms.contains(token.header.alg) else {
            return .failure(.unsupportedAlgorithm(token.header.alg))
        }
        if let missing = Self.firstMissingClaim(claims) { return .failure(.missingClaim(missing)) }
        guard let key = keys.key(kid: token.header.kid) else {
            return .failure(.unknownKey(kid: token.header.kid))
        }
        guard scheme.verify(token, with: key) else { return .failure(.badSignature) }
        guard claims.iss == issuer else { return .failure(.wrongIssuer(claims.iss)) }
        if let acceptedRealms, !acceptedRealms.contains(claims.realm) {
            return .failure(.wrongRealm(claims.realm))
        }
        guard claims.iat <= addSaturating(now, leeway) else { return .failure(.notYetValid) }
        if let nbf = claims.nbf, nbf > addSaturating(now, leeway) { return .failure(.notYetValid) }
        guard now <= addSaturating(claims.exp, leeway) else { return .failure(.expired) }
        guard !revoked.isRevoked(jti: claims.jti, at: now) else { return .failure(.revoked) }
        return .success(claims)
    }

    /// Empty strings stand for absent claims (the model has no optionals for them).
    static func firstMissingClaim(_ claims: TokenClaims) -> String? {
        if claims.sub.isEmpty { return "sub" }
        if claims.realm.isEmpty { return "realm" }
        if claims.iss.isEmpty { return "iss" }
        if claims.jti.isEmpty { return "jti" }
        return nil
    }
}
