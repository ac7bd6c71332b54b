import Auth
import Scenario

extension AuthSpec {
    /// The per-hop validator settings of this `auth:` section; the live mesh uses the same
    /// mapping, so a scenario configures both drivers identically.
    public func validatorConfig(rules: TokenRules) -> HopValidatorConfig {
        var config = HopValidatorConfig(strategy: ValidationStrategy(rawValue: strategy.rawValue) ?? .local, rules: rules)
        config.cacheTTL = cacheTTL
        config.retries = tokeninfoRetries
        config.retryBackoff = retryBackoff
        config.breaker = breakerFailures.map { CircuitBreakerConfig(failureThreshold: $0, openFor: breakerOpenFor) }
        config.jwksRefresh = jwksRefresh
        config.jwksRetry = jwksRetry
        config.refetchOnUnknownKid = refetchOnUnknownKid
        config.revocationPoll = revocationPoll
        return config
    }
}
