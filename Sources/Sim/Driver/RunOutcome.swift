import Scenario
import Checkers
import SimCore
import Stats

/// What one seed of a scenario produced. The CLI turns it into a results record; the
/// simulator itself never reads a wall clock, so wall time is measured by the caller.
public struct RunOutcome: Sendable {
    public var seed: UInt64
    public var events: UInt64
    public var traceHash: String
    public var metrics: [String: Double]
    public var metricUnits: [String: String]
    public var histograms: [String: LatencyHistogram]
    public var checks: [CheckReport]
    public var endTime: VirtualTime
    /// Faults, heals, crashes and leader changes in virtual time.
    public var timeline: [TimelineEvent] = []
    /// Throughput, error rate, latency percentiles and the models' gauges, window by window.
    public var timeSeries: [TimeSeries] = []
    /// What the nemesis did, as explicit faults (`faultline shrink` writes them into `faults:`).
    public var nemesisFaults: [MaterialisedFault] = []
    /// Events of the single-account baseline run a multi-account mesh run makes for comparison
    /// (0 without one): simulated work of this seed that `events` does not count.
    public var baselineEvents: UInt64 = 0

    /// Every requested check held (SLOs are judged over all seeds, by the summary).
    public var passed: Bool { checks.allSatisfy(\.passed) }
}

public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Test hooks that deliberately break a rule, so tests can prove they would notice.
public struct SimulationOptions: Sendable {
    /// Lets `Set` iteration order (randomised per process) feed the trace: the
    /// determinism test uses it to show that it catches such a dependence.
    public var injectHashOrderDependence = false
    /// Stops after this many events (a guard for runaway scenarios and for benchmarks).
    public var maxEvents: UInt64 = .max
    /// Puts the protocol's story on the timeline too (`replay --explain`): acknowledgements,
    /// truncations, ISR and leader-epoch changes, what each replica held when its node crashed
    /// and what it recovered. Observation only: the run itself is the same.
    public var explain = false

    public init(injectHashOrderDependence: Bool = false, maxEvents: UInt64 = .max) {
        self.injectHashOrderDependence = injectHashOrderDependence
        self.maxEvents = maxEvents
    }
}
