/// How one attempt of a call between services ended, as HTTP says it.
public enum CallStatus: UInt16, Sendable {
    case ok = 200, badRequest = 400, unauthorized = 401, badGateway = 502, unavailable = 503, timeout = 504

    /// Server-side trouble (5xx, a timeout): worth trying another replica.
    public var isServerError: Bool { rawValue >= 500 }

    /// A live reply's status code as a call status: 2xx is ok, 400 and 401 pass through, a
    /// 503/504 keeps its meaning and anything else the callee got wrong is a bad gateway.
    public init(httpStatus: Int) {
        switch httpStatus {
        case 200..<300: self = .ok
        case 400: self = .badRequest
        case 401: self = .unauthorized
        case 503: self = .unavailable
        case 504: self = .timeout
        default: self = .badGateway
        }
    }
}

/// The fan-out rules of one hop, for the simulator's mesh and the live mesh alike: what an
/// attempt's end means for the call, and where a call goes.
public enum CallRules {
    /// What the caller does once an attempt of a child call ended.
    public enum AttemptVerdict: Sendable, Equatable {
        /// Try again on the callee's next replica (`retriesLeft` one less).
        case retryOnNextReplica
        /// The child answered; its stage goes on.
        case succeeded
        /// A soft dependency failed for good: the caller falls back and carries on, degraded.
        case degraded
        /// A hard dependency failed for good: the caller answers at once with this status (the
        /// child's 401/400 passes through, anything else becomes 502) and ignores its other children.
        case failCaller(CallStatus)
    }

    public static func afterAttempt(_ status: CallStatus, retriesLeft: Int, soft: Bool) -> AttemptVerdict {
        if status.isServerError && retriesLeft > 0 { return .retryOnNextReplica }
        if status == .ok { return .succeeded }
        if soft { return .degraded }
        return .failCaller(status == .unauthorized || status == .badRequest ? status : .badGateway)
    }

    /// Which of a service's `count` replicas a new call goes to (an offset from its first).
    /// A retry goes to the replica after the one that failed. A first attempt takes the
    /// service's round-robin turn (one rotation per callee service: a counter per caller would
    /// alias with the caller's fan-out); with health checks, the first replica from there that
    /// the caller believes up — or the turn's replica when it believes none up.
    public static func replica(count: Int, turn: UInt32, retryAfter failed: Int?, healthChecks: Bool,
                               isUp: (Int) -> Bool) -> Int {
        if let failed { return (failed + 1) % count }
        let pick = Int(turn % UInt32(count))
        guard healthChecks else { return pick }
        for step in 0..<count where isUp((pick + step) % count) { return (pick + step) % count }
        return pick
    }
}
