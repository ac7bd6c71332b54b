/// The vocabulary between a `HopValidator` and its driver (the simulator's service station or
/// a Hummingbird middleware): inputs in, effects out, as in etcd raft's `Step`/`Ready`.

/// What tokeninfo said, or that it could not be asked.
public enum TokeninfoAnswer: Sendable, Equatable {
    /// 200/400/401 as tokeninfo said. A 5xx passed here is treated like `.failed`.
    case response(TokeninfoResponse)
    /// Timeout, 5xx, connection refused: the driver decides which.
    case failed
}

/// The hop's verdict on one request.
public enum Decision: Sendable, Equatable {
    /// Serve the request (200 onward) as this principal.
    case accept(TokenClaims)
    /// → 401 invalid_token to the caller.
    case reject(TokenRejection)
    /// No token → 400.
    case badRequest
    /// Could not validate (tokeninfo down, breaker open, no keys yet) → 503.
    case unavailable(String)

    /// Tokeninfo failed on every attempt.
    public static let tokeninfoUnavailable = Decision.unavailable("tokeninfo unavailable")
    /// The circuit breaker is open (or half-open with its trial in flight).
    public static let circuitOpen = Decision.unavailable("circuit open")
    /// Local validation before the first successful JWKS fetch.
    public static let noSigningKeys = Decision.unavailable("no signing keys yet")
}

public enum HopInput: Sendable, Equatable {
    /// A request arrived; nil = no Authorization header.
    case validate(request: UInt64, token: Token?)
    /// The answer to `.callTokeninfo` with the same request and attempt.
    case tokeninfoAnswered(request: UInt64, attempt: Int, TokeninfoAnswer)
    case jwksFetched(JWKS)
    case jwksFetchFailed
    case revocationsFetched(RevocationList)
    case revocationsFetchFailed
    /// The driver calls this at (or after) `nextTimer`.
    case tick
}

public enum HopEffect: Sendable, Equatable {
    /// Ask tokeninfo after `after` nanoseconds (0, or `retryBackoff` for retries). The driver
    /// enforces its own call timeout and reports it as `.failed`; every call must be answered.
    case callTokeninfo(request: UInt64, attempt: Int, token: Token, after: Int64)
    /// The request is decided. `verifiedLocally`: the driver charges one signature-verify CPU
    /// cost before acting on it. `cacheHit`: answered from the tokeninfo cache.
    case decided(request: UInt64, Decision, verifiedLocally: Bool, cacheHit: Bool)
    /// Fetch the JWKS; answer with `.jwksFetched` or `.jwksFetchFailed` (exactly one).
    case fetchJWKS
    /// Fetch the revocation list; answer with `.revocationsFetched` or `.revocationsFetchFailed`.
    case fetchRevocations
}

/// What a validator did, for metrics and for tests that must see *why* a decision was made.
public struct HopCounters: Sendable, Equatable {
    public var validations = 0
    public var accepted = 0
    public var rejected = 0
    public var badRequests = 0
    public var unavailable = 0
    /// Decisions that ran `TokenRules.check` on this node (`verifiedLocally: true`).
    public var localVerifications = 0
    /// `.callTokeninfo` effects, retries included.
    public var tokeninfoCalls = 0
    public var tokeninfoRetries = 0
    public var tokeninfoFailures = 0
    /// Answers for requests already decided (or for a superseded attempt), ignored.
    public var staleAnswers = 0
    public var cacheHits = 0
    public var breakerOpens = 0
    /// Validations answered `circuit open` without a call.
    public var breakerFastFails = 0
    public var jwksFetches = 0
    public var jwksFailures = 0
    public var revocationFetches = 0
    public var revocationFailures = 0
    /// Requests parked waiting for a JWKS refetch (unknown kid).
    public var parkedRequests = 0
    /// Hybrid: validations handed to the central path because local could not decide.
    public var centralFallbacks = 0

    public init() {}
}
