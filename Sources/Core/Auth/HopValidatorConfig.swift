/// How a service hop validates bearer tokens. The strategies are the design space the
/// simulator compares: availability of tokeninfo vs. freshness of keys and revocations.
public enum ValidationStrategy: String, Sendable, CaseIterable {
    /// Ask tokeninfo for every token (optionally cached): always fresh, down when it is down.
    case central
    /// Verify signatures against a cached JWKS and a polled revocation list.
    case local
    /// Local first; tokeninfo only when local cannot decide (no keys, unknown kid).
    case hybrid
    /// No validation at all (the baseline).
    case none
}

public struct HopValidatorConfig: Sendable, Equatable {
    public var strategy: ValidationStrategy
    public var rules: TokenRules
    /// Central: cache tokeninfo answers (positive and 401 negative) per token raw string for
    /// min(ttl, token exp − now); nil = no cache.
    public var cacheTTL: Int64?
    /// Central: extra attempts after a failed tokeninfo call (timeout / 5xx / unreachable).
    public var retries: Int
    /// Delay before a retry is sent.
    public var retryBackoff: Int64
    /// Central (and hybrid's fallback): consecutive-failure circuit breaker; nil = none.
    public var breaker: CircuitBreakerConfig?
    /// Local/hybrid: refetch the JWKS this often.
    public var jwksRefresh: Int64
    /// After a failed JWKS fetch, retry this soon.
    public var jwksRetry: Int64
    /// Local/hybrid: on an unknown kid fetch the JWKS now (at most once per
    /// `refetchMinInterval`) and park the request until the answer, instead of rejecting.
    /// This is what makes a rotation without enough pre-publishing survivable.
    public var refetchOnUnknownKid: Bool
    /// Rate limit for those refetches, so a flood of forged kids cannot hammer the provider.
    public var refetchMinInterval: Int64
    /// Local/hybrid: poll the revocation list this often; nil = never (revocations are then
    /// only seen centrally). A failed poll is retried after the same interval.
    public var revocationPoll: Int64?

    /// Defaults: no cache, 1 retry after 100 ms, no breaker, JWKS every 30 s (5 s after a
    /// failure), refetch on unknown kid at most every 5 s, revocations every 10 s.
    public init(
        strategy: ValidationStrategy,
        rules: TokenRules,
        cacheTTL: Int64? = nil,
        retries: Int = 1,
        retryBackoff: Int64 = 100 * 1_000_000,
        breaker: CircuitBreakerConfig? = nil,
        jwksRefresh: Int64 = 30 * 1_000_000_000,
        jwksRetry: Int64 = 5 * 1_000_000_000,
        refetchOnUnknownKid: Bool = true,
        refetchMinInterval: Int64 = 5 * 1_000_000_000,
        revocationPoll: Int64? = 10 * 1_000_000_000
    ) {
        self.strategy = strategy
        self.rules = rules
        self.cacheTTL = cacheTTL
        self.retries = retries
        self.retryBackoff = retryBackoff
        self.breaker = breaker
        self.jwksRefresh = jwksRefresh
        self.jwksRetry = jwksRetry
        self.refetchOnUnknownKid = refetchOnUnknownKid
        self.refetchMinInterval = refetchMinInterval
        self.revocationPoll = revocationPoll
    }
}
