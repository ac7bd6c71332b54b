import Checkers
import Scenario
import SimCore
import Stats

extension Simulation {
    /// Closes the books: metrics over the measured window (after warm-up), the checks the
    /// scenario asked for, and the trace hash.
    mutating func finish(events: UInt64) -> RunOutcome {
        let end = broker == nil ? scenario.duration : cluster.now
        for index in stations.stations.indices { stations.stations[index].close(at: end) }
        let requests = cluster.requests

        // Outcomes of requests that started inside the measured window.
        var sent = 0.0, succeeded = 0.0, timedOut = 0.0, rejected = 0.0, failed = 0.0
        for id in 0..<requests.start.count where requests.start[id] >= scenario.warmup {
            sent += 1
            switch requests.ledger.outcome(of: UInt64(id)) ?? .pending {
            case .succeeded: succeeded += 1
            case .timedOut: timedOut += 1
            case .rejected: rejected += 1
            case .failed: failed += 1
            case .pending: break
            }
        }
        let finished = succeeded + timedOut + rejected + failed
        let window = Double(scenario.duration - scenario.warmup) / 1e9
        var metrics: [String: Double] = [
            "requests": sent,
            "throughput_per_s": window > 0 ? succeeded / window : 0,
            "error_rate": finished > 0 ? (timedOut + rejected + failed) / finished : 0,
            "timeout_rate": finished > 0 ? timedOut / finished : 0,
            "rejection_rate": finished > 0 ? rejected / finished : 0,
            "late_or_duplicate_answers": Double(requests.ledger.tally.lateOrDuplicateAnswers),
        ]
        var units: [String: String] = [
            "requests": "count", "throughput_per_s": "/s", "error_rate": "ratio",
            "timeout_rate": "ratio", "rejection_rate": "ratio", "late_or_duplicate_answers": "count",
            "request_latency": "ms", "latency_mean_ms": "ms",
        ]
        if requests.latencyCount > 0 {
            // Exact mean (the histogram's is quantised to 3 significant digits); the fidelity
            // tests compare it with closed forms.
            metrics["latency_mean_ms"] = requests.latencySum / Double(requests.latencyCount) / 1e6
        }
        for (index, station) in stations.stations.enumerated() {
            let name = scenario.stations[index].name
            let capacity = Double(station.config.servers) * Double(end)
            metrics["utilization.\(name)"] = capacity > 0 ? station.counters.busyTime / capacity : 0
            metrics["mean_in_system.\(name)"] = end > 0 ? station.counters.occupancyTime / Double(end) : 0
            units["utilization.\(name)"] = "ratio"
            units["mean_in_system.\(name)"] = "count"
        }

        var histograms: [String: LatencyHistogram] = [:]
        let hasRequests = !scenario.workload.isEmpty || !scenario.meshWorkloads.isEmpty
        if hasRequests { histograms["request_latency"] = requests.latency }
        broker?.brokerMetrics(&metrics, &units, &histograms, &cluster)
        mesh?.meshMetrics(&metrics, &units, &histograms, end: end, cluster)
        accounts?.metrics(&metrics, &units, &histograms, end: end, spec: scenario.accounts ?? AccountsSpec(), seed: seed,
                          mesh: mesh?.world, latency: requests.latency, singleAccountLatency: singleAccountLatency)
        if !hasRequests {
            for name in ["requests", "throughput_per_s", "error_rate", "timeout_rate", "rejection_rate",
                         "late_or_duplicate_answers", "request_latency", "latency_mean_ms"] {
                metrics[name] = nil
                units[name] = nil
            }
        }

        var checks: [CheckReport] = []
        for name in scenario.checks {
            if let report = broker?.brokerCheck(name, cluster) ?? mesh?.meshCheck(name, end: end, cluster) {
                checks.append(report)
                continue
            }
            switch name {
            case RequestLedger.name:
                checks.append(requests.ledger.verify(
                    deliveredToStations: stations.deliveredToStations,
                    stationArrivals: stations.stations.reduce(0) { $0 + $1.counters.arrived },
                    stationOutcomes: stations.stations.reduce(0) { $0 + $1.counters.completed + $1.counters.rejected + $1.counters.dropped },
                    stationsInSystem: stations.stations.reduce(0) { $0 + UInt64($1.inSystem) },
                    at: end))
            case LivenessAfterHeal.name:
                checks.append(requests.liveness.verify(end: end, stillFaulted: !isHealthy))
            default:
                checks.append(CheckReport(name: name, violations: [
                    CheckViolation(check: name, description: "check \(name) does not apply to the station model", time: nil),
                ]))
            }
        }

        return RunOutcome(
            seed: seed,
            events: events,
            traceHash: trace.hex,
            metrics: metrics,
            metricUnits: units,
            histograms: histograms,
            checks: checks,
            endTime: end,
            timeline: cluster.timeline,
            timeSeries: finishedSeries(end: end),
            nemesisFaults: nemesisFaults,
            baselineEvents: baselineEvents)
    }
}
