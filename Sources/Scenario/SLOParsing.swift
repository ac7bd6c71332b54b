import SimCore

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
            if let underscore = name.lastIndex(of: "_") {
                let suffix = String(name[name.index(after: underscore)...])
                if SLOSpec.statistics.contains(suffix) || suffix == "min" {
                    metric = String(name[..<underscore])
                    statistic = suffix
                }
            }
            guard let kind = SLOSpec.knownMetrics.first(where: { $0.name == metric })?.kind else {
                r.fail(keyNode, p, expected: "a known metric (\(metricNames.joined(separator: ", "))) "
                       + "optionally followed by _p50, _p90, _p99, _p999, _mean or _max",
                       found: "unknown metric '\(metric)'", hint: Suggest.hint(for: metric, in: metricNames))
                continue
            }
            // Lower bounds make sense for quantities where more is better.
            if statistic == "min" && kind != .perSecond && metric != "availability" {
                r.fail(keyNode, p, expected: "a statistic among \(SLOSpec.statistics.joined(separator: ", ")) for \(metric)",
                       found: "'min'", hint: "only throughput_per_s and availability have a lower bound (_min)")
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
