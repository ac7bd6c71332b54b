/// `regression:` — what `faultline compare` (and `baseline check`) count as a regression of this
/// scenario's results: per-metric limits on the change from base to current, checks that must keep
/// holding, the significance level and the noise band. Stored with the results as JSON, so a
/// comparison needs no scenario file; the JSON keys are part of the results contract.
public struct RegressionSpec: Sendable, Equatable, Codable {
    /// Significance level of the tests (default 0.05 when absent).
    public var alpha: Double?
    /// Relative changes within ± this band are never verdicts (default by mode when absent).
    public var noise: Double?
    public var rules: [RegressionRule]
    /// Per metric: "lower", "higher" (is better) or "none" (reported, never a verdict).
    public var directions: [String: String]

    public init(alpha: Double? = nil, noise: Double? = nil, rules: [RegressionRule] = [], directions: [String: String] = [:]) {
        self.alpha = alpha
        self.noise = noise
        self.rules = rules
        self.directions = directions
    }

    public var isEmpty: Bool { alpha == nil && noise == nil && rules.isEmpty && directions.isEmpty }
}

/// One limit, e.g. `request_latency.p99: +5%` (an increase beyond 5% regresses; lower is better),
/// `availability: -0.1%` (a drop beyond 0.1% regresses), `failover_time.mean: +20ms` (absolute, in
/// the metric's display unit), or `no_acknowledged_loss: must-hold` (a check or SLO that held in
/// the base must hold now).
public struct RegressionRule: Sendable, Equatable, Codable {
    /// As written.
    public var key: String
    public var metric: String
    /// p50, p90, p99, p999, mean, min or max; absent: the metric's mean (or the check itself).
    public var statistic: String?
    /// "relative", "absolute" or "must-hold".
    public var kind: String
    /// Signed: the change that is tolerated, in the bad direction (a fraction for relative limits).
    public var limit: Double

    public init(key: String, metric: String, statistic: String?, kind: String, limit: Double) {
        self.key = key
        self.metric = metric
        self.statistic = statistic
        self.kind = kind
        self.limit = limit
    }

    public static let statistics = ["p50", "p90", "p99", "p999", "mean", "min", "max"]
}
