import Foundation
import Sampling

/// `regression:` — `alpha`, `noise`, `directions` and `<metric>[.<statistic>]: <limit>` entries.
extension ScenarioBuilder {
    /// A thresholds file: the entries of `regression:`, or a document whose one key is `regression:`.
    func thresholdsDocument(_ node: SourceNode) -> RegressionSpec? {
        guard let entries = node.entries, entries.count == 1 else { return regression(node, "regression") }
        for (keyNode, valueNode) in entries where keyNode.scalar == "regression" {
            return regression(valueNode, "regression")
        }
        return regression(node, "regression")
    }

    func regression(_ node: SourceNode, _ path: String) -> RegressionSpec? {
        let r = reader
        guard let entries = node.entries else {
            r.fail(node, path, expected: "a mapping such as {request_latency.p99: +5%, no_acknowledged_loss: must-hold}")
            return nil
        }
        var spec = RegressionSpec()
        for (keyNode, valueNode) in entries {
            guard let key = keyNode.scalar else {
                r.fail(keyNode, path, expected: "a metric such as request_latency.p99, a check, alpha, noise or directions")
                continue
            }
            let p = KeyPath.child(path, key)
            switch key {
            case "alpha":
                spec.alpha = r.number(valueNode, p, expected: "a significance level between 0 and 1 such as 0.05",
                                      valid: { $0 > 0 && $0 < 1 })
            case "noise":
                if let band = r.probability(valueNode, p) { spec.noise = band }
            case "directions":
                guard let list = valueNode.entries else {
                    r.fail(valueNode, p, expected: "a mapping of metric names to lower, higher or none")
                    continue
                }
                for (metricNode, directionNode) in list {
                    let allowed = ["lower", "higher", "none"]
                    guard let metric = metricNode.scalar, let direction = directionNode.scalar, allowed.contains(direction) else {
                        r.fail(directionNode, KeyPath.child(p, metricNode.scalar ?? "?"),
                               expected: "lower, higher or none (which way is better)")
                        continue
                    }
                    spec.directions[metric] = direction
                }
            default:
                if let rule = regressionRule(key: key, keyNode: keyNode, value: valueNode, path: p) { spec.rules.append(rule) }
            }
        }
        return spec
    }

    private func regressionRule(key: String, keyNode: SourceNode, value: SourceNode, path: String) -> RegressionRule? {
        let r = reader
        var metric = key
        var statistic: String?
        if let dot = key.lastIndex(of: ".") {
            let suffix = String(key[key.index(after: dot)...])
            guard RegressionRule.statistics.contains(suffix) else {
                r.fail(keyNode, path, expected: "<metric>.<statistic> with a statistic among \(RegressionRule.statistics.joined(separator: ", "))",
                       found: "'.\(suffix)'", hint: Suggest.hint(for: suffix, in: RegressionRule.statistics))
                return nil
            }
            metric = String(key[..<dot])
            statistic = suffix
        }
        let expected = "a signed limit such as +5% (an increase beyond 5% regresses), -0.1%, +20ms, or must-hold"
        guard let text = value.scalar?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
            r.fail(value, path, expected: expected)
            return nil
        }
        if text == "must-hold" {
            if statistic != nil {
                r.fail(value, path, expected: "a signed limit for a metric's statistic (must-hold is for checks and SLOs)")
                return nil
            }
            return RegressionRule(key: key, metric: metric, statistic: nil, kind: "must-hold", limit: 0)
        }
        guard let sign = text.first, sign == "+" || sign == "-" else {
            r.fail(value, path, expected: expected, hint: "the sign says which way is worse: + for latencies, - for availability")
            return nil
        }
        if text.hasSuffix("%") {
            guard let percent = Units.number(String(text.dropLast())), percent != 0 else {
                r.fail(value, path, expected: expected)
                return nil
            }
            return RegressionRule(key: key, metric: metric, statistic: statistic, kind: "relative", limit: percent / 100)
        }
        if let plain = Units.number(text), plain != 0 {
            return RegressionRule(key: key, metric: metric, statistic: statistic, kind: "absolute", limit: plain)
        }
        // A duration: stored in ms, the display unit of every latency.
        let magnitude = String(text.dropFirst())
        guard let nanos = try? Units.durationNanos(magnitude), nanos > 0 else {
            r.fail(value, path, expected: expected)
            return nil
        }
        return RegressionRule(key: key, metric: metric, statistic: statistic, kind: "absolute", limit: (sign == "-" ? -1 : 1) * nanos / 1e6)
    }
}

