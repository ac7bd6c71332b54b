import Scenario

/// A chaos experiment's steady-state hypothesis through one run, as a sans-IO state machine
/// (time comes from the driver, readings too): Chaos Toolkit's before / during / after, with
/// an abort when the steady state is missing before the method or deviates during it.
///
/// The driver asks `nextReading` when and over which interval to read the probes, takes the
/// reading at that time, and passes it to `judge`, which says what to do. When the method's
/// last step has run (or the method was stopped and healed), it calls `methodEnded(at:)`.
public struct HypothesisRun: Sendable {
    public enum Phase: String, Sendable {
        case before, during, after, done
    }

    /// What the driver does after a reading.
    public enum Decision: Sendable, Equatable {
        /// Nothing changes; read again at `nextReading`.
        case proceed
        /// The steady state holds before the method: start it.
        case startMethod
        /// The steady state does not hold before the method: inject nothing.
        case abortBeforeMethod
        /// A `during:` probe deviated: stop injecting and heal, then call `methodEnded(at:)`.
        case abortMethod
        /// The steady state holds again, this long (ns) after the method ended.
        case recovered(after: Int64)
        /// It did not hold again within `recover_within`.
        case notRecovered
    }

    /// One reading and its verdict, for the run's timeline and checks.
    public struct Evaluation: Sendable, Equatable {
        public var phase: Phase
        /// ns since the run's start.
        public var at: Int64
        public var outcomes: [ProbeOutcome]
        public var held: Bool { outcomes.allSatisfy(\.held) }
    }

    public let spec: HypothesisSpec
    public private(set) var phase: Phase = .before
    public private(set) var evaluations: [Evaluation] = []
    /// The method was stopped by a deviation during it, or never started.
    public private(set) var aborted = false
    /// ns from the method's end to the first reading where the steady state held again.
    public private(set) var recoveredAfter: Int64?
    private let methodStart: Int64
    private var methodEnd: Int64?
    private var next: Int64

    /// `methodStart`: when the first fault is due (ns since the run's start).
    public init(_ spec: HypothesisSpec, methodStart: Int64) {
        self.spec = spec
        self.methodStart = methodStart
        next = methodStart
    }

    /// When to read next, over which interval `[from, at)`, and against which probes; nil while
    /// waiting for the method to end (no `during:` probes) and once done.
    public var nextReading: (at: Int64, from: Int64, probes: [ProbeSpec])? {
        switch phase {
        case .before: return (next, next - spec.window, spec.steadyState)
        case .during:
            guard !spec.during.isEmpty, !aborted else { return nil }
            return (next, max(next - spec.window, methodStart), spec.during)
        case .after:
            guard let end = methodEnd else { return nil }
            // Only what happened after the method counts towards recovery.
            return (next, max(next - spec.window, end), spec.steadyState)
        case .done: return nil
        }
    }

    /// The reading due at `at`, judged by the probes of `nextReading`.
    public mutating func judge(_ reading: ProbeReading, at: Int64) -> Decision {
        guard let due = nextReading else { return .proceed }
        let outcomes = SteadyState.judge(due.probes, reading)
        let evaluation = Evaluation(phase: phase, at: at, outcomes: outcomes)
        evaluations.append(evaluation)
        switch phase {
        case .before:
            if evaluation.held {
                phase = .during
                next = at + spec.every
                return .startMethod
            }
            aborted = true
            phase = .done
            return .abortBeforeMethod
        case .during:
            if evaluation.held {
                next = at + spec.every
                return .proceed
            }
            aborted = true
            return .abortMethod
        case .after:
            let since = at - (methodEnd ?? at)
            if evaluation.held {
                recoveredAfter = since
                phase = .done
                return .recovered(after: since)
            }
            if since >= spec.recoverWithin {
                phase = .done
                return .notRecovered
            }
            next = at + spec.every
            return .proceed
        case .done:
            return .proceed
        }
    }

    /// The method's last step ran (or it was stopped and healed) at `at`: the after phase
    /// starts, reading every `every` until the steady state holds or `recover_within` passes.
    public mutating func methodEnded(at: Int64) {
        guard phase == .during else { return }
        methodEnd = at
        phase = .after
        next = at + min(spec.every, spec.recoverWithin)
    }

    /// The checks this hypothesis adds to the run: one per phase it reached, each violation a
    /// deviating reading (ns since the run's start, what deviated).
    public var checks: [(name: String, violations: [(at: Int64, description: String)])] {
        var result: [(String, [(Int64, String)])] = []
        let failed = { (phase: Phase) in
            evaluations.filter { $0.phase == phase && !$0.held }.map { e in
                (e.at, "\(phase.rawValue) the method: " + e.outcomes.filter { !$0.held }.map(\.description).joined(separator: "; "))
            }
        }
        result.append(("hypothesis_before", failed(.before)))
        if !spec.during.isEmpty && evaluations.contains(where: { $0.phase == .during }) {
            result.append(("hypothesis_during", failed(.during)))
        }
        if methodEnd != nil {
            // Readings that deviate while recovering are expected; only not recovering in time fails.
            let after = evaluations.filter { $0.phase == .after }
            if recoveredAfter == nil {
                let seconds = Double(spec.recoverWithin) / 1e9
                let why = after.last.map { $0.outcomes.filter { !$0.held }.map(\.description).joined(separator: "; ") }
                    ?? "the load ended before a reading"
                result.append(("hypothesis_after", [(after.last?.at ?? methodEnd!, "not recovered within \(seconds)s of the method's end: \(why)")]))
            } else {
                result.append(("hypothesis_after", []))
            }
        }
        return result
    }
}
