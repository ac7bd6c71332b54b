import Sampling

/// `requests_accounted`: every request a client sent ends in exactly one outcome, and the
/// counts seen from independent vantage points agree (clients, network, stations).
/// It observes from outside: the driver reports what it delivers; the checker never
/// changes the run.
public struct RequestLedger: Sendable {
    public static let name = "requests_accounted"

    private var outcomes: [RequestOutcome] = []
    private var violations: [CheckViolation] = []
    /// Keep reports short: a broken driver would otherwise produce one line per request.
    private let maxReported = 20
    private var suppressed = 0

    public private(set) var tally = Tally()

    public struct Tally: Sendable, Equatable {
        public var sent: UInt64 = 0
        public var succeeded: UInt64 = 0
        public var timedOut: UInt64 = 0
        public var rejected: UInt64 = 0
        public var failed: UInt64 = 0
        /// Answers that arrived after the client had given up, or a second answer to a
        /// request the network duplicated: counted, never a second outcome.
        public var lateOrDuplicateAnswers: UInt64 = 0
        public var finished: UInt64 { succeeded + timedOut + rejected + failed }
    }

    public init() {}

    public mutating func sent(_ id: UInt64, at time: VirtualTime) {
        if id != UInt64(outcomes.count) {
            report("request \(id) sent out of sequence (expected id \(outcomes.count))", at: time)
            return
        }
        outcomes.append(.pending)
        tally.sent += 1
    }

    /// A final outcome decided by the client (success, timeout, rejection, failure).
    public mutating func finished(_ id: UInt64, _ outcome: RequestOutcome, at time: VirtualTime) {
        guard id < UInt64(outcomes.count) else {
            report("outcome \(outcome) for request \(id) that was never sent", at: time)
            return
        }
        guard outcome != .pending else { return }
        let index = Int(id)
        guard outcomes[index] == .pending else {
            report("request \(id) ended twice: \(outcomes[index]) then \(outcome)", at: time)
            return
        }
        outcomes[index] = outcome
        switch outcome {
        case .succeeded: tally.succeeded += 1
        case .timedOut: tally.timedOut += 1
        case .rejected: tally.rejected += 1
        case .failed: tally.failed += 1
        case .pending: break
        }
    }

    public mutating func lateOrDuplicateAnswer() { tally.lateOrDuplicateAnswers += 1 }

    public func outcome(of id: UInt64) -> RequestOutcome? {
        id < UInt64(outcomes.count) ? outcomes[Int(id)] : nil
    }

    /// Cross-checks at the end of a run. `deliveredToStations` counts request messages the
    /// network delivered (duplicates included); the station counters must add up to it.
    public func verify(
        deliveredToStations: UInt64,
        stationArrivals: UInt64,
        stationOutcomes: UInt64,
        stationsInSystem: UInt64,
        at end: VirtualTime
    ) -> CheckReport {
        var found = violations
        if suppressed > 0 {
            found.append(CheckViolation(check: Self.name, description: "\(suppressed) more violations not listed", time: end))
        }
        let pending = UInt64(outcomes.lazy.filter { $0 == .pending }.count)
        if tally.finished + pending != tally.sent {
            found.append(CheckViolation(
                check: Self.name,
                description: "clients sent \(tally.sent) requests but \(tally.finished) finished and \(pending) are pending",
                time: end))
        }
        if deliveredToStations != stationArrivals {
            found.append(CheckViolation(
                check: Self.name,
                description: "network delivered \(deliveredToStations) requests to stations, stations saw \(stationArrivals)",
                time: end))
        }
        if stationArrivals != stationOutcomes + stationsInSystem {
            found.append(CheckViolation(
                check: Self.name,
                description: "stations received \(stationArrivals) requests; completed, rejected or dropped \(stationOutcomes); \(stationsInSystem) still inside",
                time: end))
        }
        return CheckReport(name: Self.name, violations: found)
    }

    private mutating func report(_ description: String, at time: VirtualTime) {
        if violations.count < maxReported {
            violations.append(CheckViolation(check: Self.name, description: description, time: time))
        } else {
            suppressed += 1
        }
    }
}
