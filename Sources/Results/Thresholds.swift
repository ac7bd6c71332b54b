import Foundation

/// What counts as a regression: the stored form of a scenario's `regression:` section (the same
/// JSON keys as `Scenario.RegressionSpec`, which the CLI writes into `properties.regression`),
/// merged with command-line settings.
public struct Thresholds: Codable, Sendable, Equatable {
    public var alpha: Double?
    public var noise: Double?
    public var rules: [Rule]
    /// Metric → "lower", "higher" or "none".
    public var directions: [String: String]

    public struct Rule: Codable, Sendable, Equatable {
        /// As written, e.g. "request_latency.p99".
        public var key: String
        public var metric: String
        public var statistic: String?
        /// "relative", "absolute" or "must-hold".
        public var kind: String
        /// Signed tolerated change in the bad direction (fraction for relative limits, display unit for absolute).
        public var limit: Double

        public init(key: String, metric: String, statistic: String?, kind: String, limit: Double) {
            self.key = key
            self.metric = metric
            self.statistic = statistic
            self.kind = kind
            self.limit = limit
        }

        /// As a scenario would write it: "+5%", "-0.1%", "+20", "must-hold".
        public var written: String {
            switch kind {
            case "must-hold": return "must-hold"
            case "relative": return signed(limit * 100) + "%"
            default: return signed(limit)
            }
        }

        private func signed(_ x: Double) -> String {
            (x >= 0 ? "+" : "") + formatNumber(x)
        }
    }

    public init(alpha: Double? = nil, noise: Double? = nil, rules: [Rule] = [], directions: [String: String] = [:]) {
        self.alpha = alpha
        self.noise = noise
        self.rules = rules
        self.directions = directions
    }

    /// Decodes `properties.regression`; nil for absent or unreadable JSON.
    public init?(json: String?) {
        guard let data = json?.data(using: .utf8), let decoded = try? JSONDecoder().decode(Thresholds.self, from: data) else {
            return nil
        }
        self = decoded
    }

    /// `self` with `other`'s settings on top: its alpha, noise and directions win, its rules
    /// replace rules of the same key.
    public func overlaid(by other: Thresholds) -> Thresholds {
        var result = self
        result.alpha = other.alpha ?? alpha
        result.noise = other.noise ?? noise
        for (k, v) in other.directions { result.directions[k] = v }
        for rule in other.rules {
            result.rules.removeAll { $0.key == rule.key }
            result.rules.append(rule)
        }
        return result
    }
}

/// Which way is better for a metric.
public enum Direction: String, Codable, Sendable {
    case lower, higher, none

    /// The default for a metric without a stated direction, from its name and unit: latencies,
    /// durations, errors, losses and costs are better lower; throughput, availability and goodput
    /// higher; anything else is reported without a verdict.
    public static func guess(metric: String, unit: String) -> Direction {
        let name = metric.lowercased()
        let higher = ["throughput", "availability", "goodput", "success", "acked", "acknowledged", "delivered", "published",
                      "completed", "ok_", "consumed"]
        let lower = ["latency", "_time", "time_", "duration", "error", "timeout", "loss", "lost", "duplicate", "violation",
                     "reject", "retr", "fail", "lag", "cost", "delay", "blast", "impaired", "exposure", "stall", "drop",
                     "expired", "refused", "unavailable", "truncat", "divergen"]
        if higher.contains(where: name.contains) { return .higher }
        if lower.contains(where: name.contains) { return .lower }
        if unit == "ms" || unit == "ns" || unit == "s" { return .lower }
        if unit == "/s" { return .higher }
        return .none
    }
}
