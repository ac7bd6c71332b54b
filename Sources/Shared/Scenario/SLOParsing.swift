import Sampling

/// `slos:` — `<metric>[_<statistic>]: <limit>`.
extension ScenarioBuilder {
    func slos(_ node: SourceNode, _ path: String) -> [SLOSpec] {
        let r = reader
        guard let entries = node.entries else {
            r.fail(node, path, expected: "a mapping of objectives such as {request_latency_p99: 50ms, error_rate: 1%}")
            return []
        }
        var result: [SLOSpec] = []
        let metricNames = SLOSpec.knownMetrics.map(\.name)
        for (keyNode, valueNode) in entries {
            guard let name = keyNode.scalar else {
                r.fail(keyNode, path, expected: "an objective name such as request_latency_p99")
                continue
            }
            let p = KeyPath.child(path, name)
            var metric = name
            var statistic = "mean"
            // Some metrics end in a statistic of their own (`blast_radius_p99`, per seed); a name that
            // is such a metric as a whole means its mean, `blast_radius_p99_max` its maximum.
            if let underscore = name.lastIndex(of: "_") {
                let suffix = String(name[name.index(after: underscore)...])
                let prefix = String(name[..<underscore])
                if (SLOSpec.statistics.contains(suffix) || suffix == "min")
                    && (metricNames.contains(prefix) || !metricNames.contains(name)) {
                    metric = prefix
                    statistic = suffix
                }
            }
            guard let kind = SLOSpec.knownMetrics.first(where: { $0.name == metric })?.kind else {
                // A misspelt metric that ends in a statistic of its own (`blast_radus_mean`) is
                // suggested as a whole.
                var unknown = metric
                var hint = Suggest.hint(for: metric, in: metricNames)
                if hint == nil, metric != name, let whole = Suggest.hint(for: name, in: metricNames) {
                    unknown = name
                    hint = whole
                }
                r.fail(keyNode, p, expected: "a known metric (\(metricNames.joined(separator: ", "))) "
                       + "optionally followed by _p50, _p90, _p99, _p999, _mean or _max",
                       found: "unknown metric '\(unknown)'", hint: hint)
                continue
            }
            // Lower bounds make sense for quantities where more is better.
            if statistic == "min" && !SLOSpec.lowerBounded.contains(metric) {
                let bounded = SLOSpec.lowerBounded
                r.fail(keyNode, p, expected: "a statistic among \(SLOSpec.statistics.joined(separator: ", ")) for \(metric)",
                       found: "'min'",
                       hint: "only \(bounded.dropLast().joined(separator: ", ")) and \(bounded.last!) have a lower bound (_min)")
                continue
            }
            let limit: Double?
            switch kind {
            case .latency:
                limit = r.unit(valueNode, p, expected: "a latency limit such as 50ms", { text throws(UnitError) in
                    try Units.durationNanos(text)
                }).map { $0 / 1e6 }
            case .fraction:
                limit = r.probability(valueNode, p)
            case .number:
                limit = r.number(valueNode, p, expected: "a plain non-negative number such as 3", valid: { $0 >= 0 })
            case .perSecond:
                if let text = valueNode.scalar, let plain = Units.number(text), plain >= 0 {
                    limit = plain
                } else {
                    limit = r.unit(valueNode, p, expected: "a throughput such as 900/s", Units.rate)
                }
            }
            if let limit { result.append(SLOSpec(name: name, metric: metric, statistic: statistic, limit: limit)) }
        }
        return result
    }
}
