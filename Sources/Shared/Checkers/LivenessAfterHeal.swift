import Sampling

/// `liveness_after_heal`: once every fault has been undone, the system must serve again.
/// Jepsen and TigerBeetle's VOPR both end a safety phase with a liveness phase; here the
/// requirement is that some request started after `lastHeal + grace` succeeds, and that
/// the success ratio of those requests is at least `minimumSuccessRatio`.
public struct LivenessAfterHeal: Sendable {
    public static let name = "liveness_after_heal"

    public let grace: VirtualTime
    public let minimumSuccessRatio: Double
    private var lastHeal: VirtualTime = 0
    private var startedAfterHeal: UInt64 = 0
    private var succeededAfterHeal: UInt64 = 0
    private var starts: [VirtualTime] = []  // by request id (dense)

    public init(grace: VirtualTime, minimumSuccessRatio: Double = 0.5) {
        self.grace = grace
        self.minimumSuccessRatio = minimumSuccessRatio
    }

    /// The fault schedule reports each moment every injected fault is undone again.
    public mutating func healed(at time: VirtualTime) {
        lastHeal = max(lastHeal, time)
        // Requests counted so far started before this heal: start the window afresh.
        startedAfterHeal = 0
        succeededAfterHeal = 0
    }

    public mutating func started(_ id: UInt64, at time: VirtualTime) {
        starts.append(time)
    }

    public mutating func finished(_ id: UInt64, _ outcome: RequestOutcome, at time: VirtualTime) {
        // Only finished requests count: one still in flight at the end has no verdict yet.
        guard id < UInt64(starts.count), starts[Int(id)] >= lastHeal + grace else { return }
        startedAfterHeal += 1
        if outcome == .succeeded { succeededAfterHeal += 1 }
    }

    /// `stillFaulted`: some fault was never undone (the scenario ended inside it), so
    /// there is no healed phase to judge.
    public func verify(end: VirtualTime, stillFaulted: Bool) -> CheckReport {
        var violations: [CheckViolation] = []
        let windowStart = lastHeal + grace
        if stillFaulted {
            violations.append(CheckViolation(
                check: Self.name,
                description: "a fault was still active at the end of the run; nothing to check after a heal (add `for:` or a later heal)",
                time: end))
        } else if windowStart >= end {
            violations.append(CheckViolation(
                check: Self.name,
                description: "the run ended \(formatMillis(end - lastHeal)) after the last heal, inside the \(formatMillis(grace)) grace period",
                time: end))
        } else if startedAfterHeal > 0 {
            let ratio = Double(succeededAfterHeal) / Double(startedAfterHeal)
            if succeededAfterHeal == 0 || ratio < minimumSuccessRatio {
                violations.append(CheckViolation(
                    check: Self.name,
                    description: "after the last heal at \(formatMillis(lastHeal)) (+\(formatMillis(grace)) grace) only \(succeededAfterHeal) of \(startedAfterHeal) requests succeeded",
                    time: end))
            }
        }
        return CheckReport(name: Self.name, violations: violations)
    }
}

func formatMillis(_ nanos: VirtualTime) -> String {
    let ms = Double(nanos) / 1e6
    return ms == ms.rounded() ? "\(Int64(ms))ms" : "\((ms * 1000).rounded() / 1000)ms"
}
