import RequestTable

/// Per-hop token validation as a sans-IO state machine (etcd raft style): the driver feeds
/// `HopInput`s with its own clock's `now` and executes the returned `HopEffect`s. No clocks,
/// I/O or randomness here, so the simulator and a live Hummingbird middleware share it.
///
/// Driver contract:
/// - Call `start(now:)` once; then deliver `.tick` at (or after) `nextTimer` whenever non-nil.
/// - Answer every `.callTokeninfo` exactly once with `.tokeninfoAnswered` echoing request and
///   attempt (a timeout is `.failed`); answer every `.fetchJWKS` / `.fetchRevocations` exactly
///   once. Until a fetch is answered no further fetch of that kind is started.
/// - Request ids are unique among undecided requests. Every validated request gets exactly one
///   `.decided`, possibly in a later batch (tokeninfo call, parked on a JWKS refetch).
public struct HopValidator: Sendable {
    public let config: HopValidatorConfig
    let scheme: any SignatureScheme

    public internal(set) var counters = HopCounters()

    // Central path.
    var breaker: CircuitBreaker
    /// Tokeninfo calls in flight, by request (see `RequestTable` for why not a dictionary).
    var pendingCalls = RequestTable<PendingCall>()
    var cache: [String: CachedAnswer] = [:]
    var cacheSweepAt = 64

    // Local path.
    /// The cached JWKS; nil until the first successful fetch.
    public internal(set) var jwks: JWKS?
    /// The polled revocation list; empty until the first successful poll.
    public internal(set) var revocations = RevocationList()
    var started = false
    /// The wall clock of the step being processed (see `step`).
    var wallNow: Int64 = 0
    var jwksFetchInFlight = false
    var lastJWKSFetchStart: Int64?
    var nextJWKSFetch: Int64?
    var revocationFetchInFlight = false
    var nextRevocationPoll: Int64?
    /// Requests waiting for a JWKS refetch, in arrival order.
    var parked: [(request: UInt64, token: Token)] = []

    struct PendingCall: Sendable {
        var token: Token
        var attempt: Int
    }

    struct CachedAnswer: Sendable {
        /// The whole token, not just its raw string: in the simulator a tampered token keeps
        /// its raw "tok-<jti>", and must not be served the genuine token's verdict.
        var token: Token
        var decision: Decision
        var expiresAt: Int64
    }

    public init(config: HopValidatorConfig, scheme: any SignatureScheme = ModelSignatureScheme()) {
        self.config = config
        self.scheme = scheme
        self.breaker = CircuitBreaker(config: config.breaker)
    }

    var usesKeys: Bool { config.strategy == .local || config.strategy == .hybrid }

    /// Local/hybrid: `[.fetchJWKS]` (+ `.fetchRevocations` when polling); central/none: [].
    /// Idempotent.
    public mutating func start(now: Int64) -> [HopEffect] {
        guard usesKeys, !started else { return [] }
        started = true
        var effects = [startJWKSFetch(now: now)]
        if config.revocationPoll != nil { effects.append(startRevocationFetch()) }
        return effects
    }

    /// When the driver should next deliver `.tick` (JWKS refresh, revocation poll, breaker
    /// half-open); nil = no timer needed.
    public var nextTimer: Int64? {
        // Without building an array: the simulator asks after every step of every hop.
        var earliest = breaker.halfOpensAt
        if !jwksFetchInFlight, let time = nextJWKSFetch, earliest.map({ time < $0 }) ?? true { earliest = time }
        if !revocationFetchInFlight, let time = nextRevocationPoll, earliest.map({ time < $0 }) ?? true { earliest = time }
        return earliest
    }

    public var breakerState: CircuitBreaker.State { breaker.state }
    /// Requests waiting for a JWKS refetch.
    public var parkedCount: Int { parked.count }
    /// Entries in the tokeninfo answer cache (expired ones are swept as it grows).
    public var cacheSize: Int { cache.count }
    /// Tokeninfo calls awaiting an answer.
    public var pendingTokeninfoCalls: Int { pendingCalls.count }

    ///
    /// `now` is a monotonic clock: it paces timers, cache lifetimes and the breaker. `wallClock`
    /// is the node's calendar clock, against which token `iat`/`exp` are judged (default: `now`).
    /// They differ on purpose: a node whose wall clock is stepped by minutes (NTP, a bad host)
    /// misjudges token expiry, but its JWKS refresh timer must not jump with it.
    public mutating func step(_ input: HopInput, now: Int64, wallClock: Int64? = nil) -> [HopEffect] {
        var effects: [HopEffect] = []
        step(input, now: now, wallClock: wallClock, into: &effects)
        return effects
    }

    /// `step`, appending the effects to `effects`: a driver stepping a validator at every hop
    /// keeps one buffer (a new array per step, allocated and freed, cost a simulated
    /// multi-account run 1% of its instructions).
    public mutating func step(_ input: HopInput, now: Int64, wallClock: Int64? = nil, into effects: inout [HopEffect]) {
        wallNow = wallClock ?? now
        switch input {
        case .validate(let request, let token):
            counters.validations += 1
            validate(request: request, token: token, now: now, &effects)
        case .tokeninfoAnswered(let request, let attempt, let answer):
            tokeninfoAnswered(request: request, attempt: attempt, answer: answer, now: now, &effects)
        case .jwksFetched(let keys):
            jwksFetched(keys, now: now, &effects)
        case .jwksFetchFailed:
            jwksFetchFailed(now: now, &effects)
        case .revocationsFetched(let list):
            revocations = list
            revocationFetchInFlight = false
            nextRevocationPoll = config.revocationPoll.map { addSaturating(now, $0) }
        case .revocationsFetchFailed:
            // Keep the old list: forgetting revocations because a poll failed would un-revoke.
            counters.revocationFailures += 1
            revocationFetchInFlight = false
            nextRevocationPoll = config.revocationPoll.map { addSaturating(now, $0) }
        case .tick:
            tick(now: now, &effects)
        }
    }

    private mutating func validate(request: UInt64, token: Token?, now: Int64, _ effects: inout [HopEffect]) {
        if config.strategy == .none {
            // No validation is the baseline: even a request without a token is served, as
            // `TokenClaims.anonymous`.
            effects.append(decide(request, .accept(token?.claims ?? .anonymous)))
            return
        }
        guard let token else {
            effects.append(decide(request, .badRequest))
            return
        }
        switch config.strategy {
        case .central: validateCentrally(request: request, token: token, now: now, &effects)
        case .local, .hybrid: validateLocally(request: request, token: token, now: now, &effects)
        case .none: break
        }
    }

    private mutating func tick(now: Int64, _ effects: inout [HopEffect]) {
        breaker.advance(now: now)
        if started, !jwksFetchInFlight, let due = nextJWKSFetch, now >= due {
            effects.append(startJWKSFetch(now: now))
        }
        if started, !revocationFetchInFlight, let due = nextRevocationPoll, now >= due {
            effects.append(startRevocationFetch())
        }
    }

    /// Every decision goes through here, so the counters cannot drift from the effects.
    mutating func decide(
        _ request: UInt64, _ decision: Decision, verifiedLocally: Bool = false, cacheHit: Bool = false
    ) -> HopEffect {
        switch decision {
        case .accept: counters.accepted += 1
        case .reject: counters.rejected += 1
        case .badRequest: counters.badRequests += 1
        case .unavailable: counters.unavailable += 1
        }
        if verifiedLocally { counters.localVerifications += 1 }
        if cacheHit { counters.cacheHits += 1 }
        return .decided(request: request, decision, verifiedLocally: verifiedLocally, cacheHit: cacheHit)
    }
}
