/// A consecutive-failure circuit breaker (Nygard, "Release It!"): when tokeninfo keeps failing,
/// stop queueing requests behind timeouts and answer 503 at once; probe with a single call
/// after a cool-down.

public struct CircuitBreakerConfig: Sendable, Equatable {
    /// Consecutive failed calls that open the breaker (values < 1 act as 1).
    public var failureThreshold: Int
    /// How long it stays open before one trial call is let through.
    public var openFor: Int64

    public init(failureThreshold: Int, openFor: Int64) {
        self.failureThreshold = failureThreshold
        self.openFor = openFor
    }
}

public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Int64)
        /// The cool-down is over; the next call is the trial. Other calls fail fast while the
        /// trial is in flight.
        case halfOpen(trialInFlight: Bool)
    }

    public enum Permission: Sendable, Equatable {
        case call
        /// The single probe of a half-open breaker: its answer closes or re-opens it.
        case trial
        case failFast
    }

    /// Nil = no breaker: every call is permitted and nothing is counted.
    public var config: CircuitBreakerConfig?
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// How many times it opened (including re-opens after a failed trial).
    public private(set) var opens = 0

    public init(config: CircuitBreakerConfig?) { self.config = config }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// When an open breaker turns half-open; nil otherwise.
    public var halfOpensAt: Int64? {
        if case .open(let until) = state { return until }
        return nil
    }

    /// Asks to make a call now; a granted `.trial` marks the trial as in flight.
    public mutating func permit(now: Int64) -> Permission {
        guard config != nil else { return .call }
        advance(now: now)
        switch state {
        case .closed: return .call
        case .open, .halfOpen(trialInFlight: true): return .failFast
        case .halfOpen(trialInFlight: false):
            state = .halfOpen(trialInFlight: true)
            return .trial
        }
    }

    /// Open → half-open once the cool-down is over.
    public mutating func advance(now: Int64) {
        if case .open(let until) = state, now >= until { state = .halfOpen(trialInFlight: false) }
    }

    /// Any answer from tokeninfo (200/400/401) is a success: the service is up. A late success
    /// while open changes nothing – only the trial decides when to close.
    public mutating func recordSuccess() {
        switch state {
        case .closed, .halfOpen: state = .closed(consecutiveFailures: 0)
        case .open: break
        }
    }

    /// Returns whether this failure opened (or re-opened) the breaker.
    @discardableResult
    public mutating func recordFailure(now: Int64) -> Bool {
        guard let config else { return false }
        switch state {
        case .closed(let failures):
            if failures + 1 >= max(1, config.failureThreshold) {
                open(now: now, for: config.openFor)
                return true
            }
            state = .closed(consecutiveFailures: failures + 1)
            return false
        case .halfOpen:
            open(now: now, for: config.openFor)
            return true
        case .open:
            return false
        }
    }

    private mutating func open(now: Int64, for duration: Int64) {
        state = .open(until: addSaturating(now, max(0, duration)))
        opens += 1
    }
}
