/// One request at one hop of the fan-out, as a sans-IO state machine: the validator's verdict,
/// the hop's own work on one of its servers, then its calls stage by stage (a stage's calls in
/// parallel; the next stage when every call of this one has succeeded or, if soft, given up),
/// retries on the callee's next replica, and the answer. The simulator's `MeshDriver` and the
/// live `MeshReplica` both feed it inputs and carry out its effects; neither decides anything
/// about a request itself.
///
/// Every input yields at most one effect, so a step returns a value rather than an array: the
/// simulator steps hops millions of times per run and an array per step would be an allocation.
/// The driver guarantees that each attempt ends exactly once (an answer or its timeout, not both).
public struct HopRequest: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case validating
        /// Queued for or holding one of the hop's servers.
        case working
        case calling(stage: Int32)
        case answered
    }

    public enum Input: Sendable, Equatable {
        /// The validator's verdict as a status (`.ok`: accepted). `holdsServer`: the hop takes one
        /// of its servers even so (a local signature check costs CPU before a rejection).
        case decided(CallStatus, holdsServer: Bool)
        /// The hop's queue was full: no server, no work.
        case serverRefused
        /// The hop's own work (and any verification CPU) finished.
        case workDone
        /// Attempt `attempt` of the call at `edge` of the current stage ended. On `.ok` the
        /// callee's answer reports how many hops of its subtree validated the token and how many
        /// soft dependencies it skipped.
        case childEnded(edge: Int, attempt: Int, status: CallStatus, validated: Int = 0, degraded: Int = 0)
    }

    public enum Effect: Sendable, Equatable {
        /// Nothing to do yet (the stage still waits for calls, or the input came too late).
        case none
        /// Queue for one of the hop's servers and do the hop's work there, then `workDone`.
        case takeServer
        /// Call every edge of `stage`, first attempts (each on its service's round-robin turn;
        /// a call with a timeout starts a timer that ends it with `.timeout`).
        case startStage(Int)
        /// Call the edge again, attempt `attempt`, on the replica after the one that failed.
        case retry(edge: Int, attempt: Int)
        /// Answer the caller with this status and the counts below.
        case answer(CallStatus)
    }

    public private(set) var phase: Phase = .validating
    /// The validator's verdict (`.ok` until it has one).
    public private(set) var verdict: CallStatus = .ok
    /// What the hop answered (or will): meaningful once `phase == .answered`.
    public private(set) var status: CallStatus = .ok
    /// Calls of the current stage still waiting for a final outcome.
    public private(set) var pending: Int32 = 0
    /// Hops of this request's subtree that validated the token (this one included).
    public private(set) var validated: Int32 = 0
    /// Soft dependencies skipped in this request's subtree (this hop's own included).
    public private(set) var degraded: Int32 = 0
    /// Soft dependencies this hop itself gave up on.
    public private(set) var skippedSoft: Int32 = 0

    public init() {}

    /// The validator accepted the token.
    public var accepted: Bool { verdict == .ok }
    public var isAnswered: Bool { phase == .answered }

    /// Feeds one input; `stages` are the hop's service's calls (`CallGraph.Service.stages`).
    /// `validates`: this hop's verdict came from a validator (not `strategy: none`), so an
    /// acceptance counts as one validation of the token.
    public mutating func step(_ input: Input, stages: [[CallGraph.Edge]], validates: Bool = true) -> Effect {
        switch (phase, input) {
        case (.validating, .decided(let status, let holdsServer)):
            verdict = status
            if status == .ok && validates { validated += 1 }
            if status == .ok || holdsServer {
                phase = .working
                return .takeServer
            }
            return answer(status)
        case (.working, .serverRefused):
            verdict = .unavailable
            return answer(.unavailable)
        case (.working, .workDone):
            guard accepted else { return answer(verdict) }
            return start(stage: 0, stages)
        case (.calling(let stage), .childEnded(let edge, let attempt, let status, let childValidated, let childDegraded)):
            let call = stages[Int(stage)][edge]
            switch CallRules.afterAttempt(status, retriesLeft: call.retries - attempt, soft: call.soft) {
            case .retryOnNextReplica:
                return .retry(edge: edge, attempt: attempt + 1)
            case .failCaller(let failure):
                return answer(failure)
            case .succeeded:
                validated += Int32(childValidated)
                degraded += Int32(childDegraded)
            case .degraded:
                skippedSoft += 1
                degraded += 1
            }
            pending -= 1
            return pending == 0 ? start(stage: Int(stage) + 1, stages) : .none
        default:
            // Late or out of order (an attempt ending after the hop answered): ignored.
            return .none
        }
    }

    private mutating func start(stage: Int, _ stages: [[CallGraph.Edge]]) -> Effect {
        // Empty stages (none are generated, but a hand-written graph could hold one) are skipped.
        var next = stage
        while next < stages.count && stages[next].isEmpty { next += 1 }
        guard next < stages.count else { return answer(.ok) }
        phase = .calling(stage: Int32(next))
        pending = Int32(stages[next].count)
        return .startStage(next)
    }

    private mutating func answer(_ status: CallStatus) -> Effect {
        phase = .answered
        self.status = status
        return .answer(status)
    }
}
