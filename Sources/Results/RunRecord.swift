import Foundation
import Stats

/// One invariant violation, with the virtual time at which it was observed (sim) if known.
public struct Violation: Codable, Sendable, Equatable {
    public var check: String
    public var description: String
    public var virtualTimeNanos: Int64?

    public init(check: String, description: String, virtualTimeNanos: Int64? = nil) {
        self.check = check
        self.description = description
        self.virtualTimeNanos = virtualTimeNanos
    }
}

/// The outcome of one checker in one run.
public struct CheckResult: Codable, Sendable, Equatable {
    public var name: String
    public var passed: Bool
    public var violations: Int

    public init(name: String, passed: Bool, violations: Int) {
        self.name = name
        self.passed = passed
        self.violations = violations
    }
}

/// A service-level objective as written in the scenario.
public struct StoredSLO: Codable, Sendable, Equatable {
    /// As written in the scenario, e.g. "request_latency_p99".
    public var name: String
    /// A histogram metric (e.g. "request_latency") or a scalar metric (e.g. "error_rate").
    public var metric: String
    /// "p50", "p90", "p99", "p999" (any "pNN…"), "mean", "min" or "max". Percentiles of a
    /// histogram metric come from the histogram merged over runs; of a scalar metric, from the
    /// per-run values. "mean" of a scalar metric is the mean over runs.
    public var statistic: String
    /// In the metric's display unit (ms for latency histograms, as-is for scalars).
    public var limit: Double

    public init(name: String, metric: String, statistic: String, limit: Double) {
        self.name = name
        self.metric = metric
        self.statistic = statistic
        self.limit = limit
    }
}

/// Everything one run (one seed, one parameter set) produced; the same for sim and live.
public struct RunRecord: Codable, Sendable, Equatable {
    public var scenario: String
    /// "sim" or "live".
    public var mode: String
    /// Sweep parameters of this run (key.path → value); `[:]` for plain runs.
    public var parameters: [String: String]
    public var seed: UInt64
    /// ISO-8601.
    public var startedAt: String
    public var wallSeconds: Double
    public var events: UInt64
    /// 16 hex characters.
    public var traceHash: String
    public var passed: Bool
    /// Scalar metrics of this run, e.g. throughput_per_s, error_rate.
    public var metrics: [String: Double]
    /// Unit per metric name, scalars and histograms ("ms", "/s", "ratio", …).
    public var metricUnits: [String: String]
    /// Latency histograms in ns, e.g. "request_latency"; displayed in ms.
    public var histograms: [String: LatencyHistogram]
    public var checks: [CheckResult]
    public var violations: [Violation]
    /// Faults, heals, crashes and leader changes in time order (table `events`).
    public var timeline: [TimelineEvent] = []
    /// Throughput, error rate, latency percentiles and the model's own series, window by
    /// window (table `timeseries`). Not part of baselines (see `CodingKeys`).
    public var timeSeries: [TimeSeries] = []

    /// Baselines (JSON) keep what `compare` reads; time series stay in the results database.
    enum CodingKeys: String, CodingKey {
        case scenario, mode, parameters, seed, startedAt, wallSeconds, events, traceHash, passed, metrics, metricUnits,
             histograms, checks, violations, timeline
    }

    public init(scenario: String, mode: String, parameters: [String: String] = [:], seed: UInt64,
                startedAt: String, wallSeconds: Double, events: UInt64, traceHash: String, passed: Bool,
                metrics: [String: Double] = [:], metricUnits: [String: String] = [:],
                histograms: [String: LatencyHistogram] = [:], checks: [CheckResult] = [],
                violations: [Violation] = [], timeline: [TimelineEvent] = [], timeSeries: [TimeSeries] = []) {
        self.timeline = timeline
        self.timeSeries = timeSeries
        self.scenario = scenario
        self.mode = mode
        self.parameters = parameters
        self.seed = seed
        self.startedAt = startedAt
        self.wallSeconds = wallSeconds
        self.events = events
        self.traceHash = traceHash
        self.passed = passed
        self.metrics = metrics
        self.metricUnits = metricUnits
        self.histograms = histograms
        self.checks = checks
        self.violations = violations
    }
}

/// All runs of one results database, with the scenario header.
public struct RunSet: Sendable {
    public var scenario: String
    public var mode: String
    public var description: String
    public var slos: [StoredSLO]
    public var runs: [RunRecord]
    /// What produced the results (`ResultsProperty` keys): scenario hash, overrides, regression
    /// limits, Faultline version, host. Empty for results written before schema 3.
    public var properties: [String: String]

    public init(scenario: String, mode: String, description: String = "", slos: [StoredSLO] = [], runs: [RunRecord] = [],
                properties: [String: String] = [:]) {
        self.properties = properties
        self.scenario = scenario
        self.mode = mode
        self.description = description
        self.slos = slos
        self.runs = runs
    }
}

/// Parameters as JSON with sorted keys: the one textual form stored, grouped on and printed.
public func canonicalParametersJSON(_ parameters: [String: String]) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(parameters), let text = String(data: data, encoding: .utf8) else {
        return "{}"
    }
    return text
}

/// Keys of `RunSet.properties` (Results/README.md).
public enum ResultsProperty {
    /// FNV-1a 64 of the scenario file's bytes (hex): a different file is a different experiment.
    public static let scenarioHash = "scenario_hash"
    /// The scenario file's text (simulated runs): `explain` re-runs a seed from the results alone.
    public static let scenarioYAML = "scenario_yaml"
    /// The `--set` overrides, as JSON array, in order.
    public static let overrides = "overrides"
    /// The scenario's `regression:` section as JSON (`Thresholds`).
    public static let regression = "regression"
    public static let faultlineVersion = "faultline_version"
    /// Host facts as JSON: name, OS, cores, memory.
    public static let host = "host"
    /// Set by `compare --interleave`: runs of base and current with the same seed ran back to back (paired).
    public static let interleaved = "interleaved"
}
