/// A client's token lifecycle, sans-IO: when to fetch a new token. Refreshing at a fraction of
/// the lifetime (not at expiry) leaves room for a slow or failing provider before requests
/// start carrying expired tokens.
public struct TokenRefresher: Sendable, Equatable {
    /// Fraction of the lifetime after which to refresh (0.8 = at 80 %).
    public var fraction: Double
    /// Delay before trying again after a failed refresh.
    public var retryAfter: Int64
    public private(set) var current: Token?
    public private(set) var nextRefresh: Int64?

    public init(refreshAt fraction: Double = 0.8, retryAfter: Int64) {
        self.fraction = fraction
        self.retryAfter = retryAfter
    }

    /// Next refresh at iat + fraction·(exp − iat), on the token's own timestamps.
    public mutating func issued(_ token: Token, now: Int64) {
        current = token
        let lifetime = Double(max(0, subtractSaturating(token.claims.exp, token.claims.iat)))
        let offset = (lifetime * min(max(fraction, 0), 1)).rounded(.down)
        nextRefresh = addSaturating(token.claims.iat, offset >= 9.2e18 ? .max : Int64(offset))
    }

    /// Keeps the current token (it may still be valid) and tries again after `retryAfter`.
    public mutating func refreshFailed(now: Int64) {
        nextRefresh = addSaturating(now, retryAfter)
    }

    /// Drops the current token (e.g. a service answered 401: revoked), so the next request
    /// fetches a new one first.
    public mutating func invalidate() {
        current = nil
        nextRefresh = nil
    }

    /// No token yet, or it is time to refresh.
    public func needsToken(now: Int64) -> Bool {
        guard current != nil, let nextRefresh else { return true }
        return now >= nextRefresh
    }
}
