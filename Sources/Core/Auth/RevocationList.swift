/// Revoked token ids and when they were revoked. Tokeninfo consults the authoritative list;
/// local validators poll a copy, so between a revocation and their next poll they still accept
/// the token – the window the simulator measures.
public struct RevocationList: Sendable, Equatable {
    /// jti → revoked-at (nanoseconds, revoking node's clock).
    public var revoked: [String: Int64]

    public init() { revoked = [:] }
    public init(revoked: [String: Int64]) { self.revoked = revoked }

    /// Revoking twice keeps the earlier time: a revocation is never undone by repeating it.
    public mutating func revoke(jti: String, at now: Int64) {
        revoked[jti] = min(revoked[jti] ?? now, now)
    }

    /// Revoked from the revocation time on (a token is still good just before it).
    public func isRevoked(jti: String, at now: Int64) -> Bool {
        guard let at = revoked[jti] else { return false }
        return now >= at
    }

    public var count: Int { revoked.count }
}
