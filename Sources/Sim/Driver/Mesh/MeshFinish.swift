import Checkers
import Scenario
import SimCore
import Stations
import Stats

extension Simulation {
    /// The OAuth model's metrics: auth time and share on the critical path, availability
    /// (overall and during each scheduled fault), tokeninfo load and queueing next to its
    /// M/M/c prediction, and how often a hop's verdict disagreed with the truth.
    func meshMetrics(_ metrics: inout [String: Double], _ units: inout [String: String],
                     _ histograms: inout [String: LatencyHistogram], end: VirtualTime) {
        guard let m = meshWorld else { return }
        func put(_ name: String, _ value: Double, _ unit: String) {
            metrics[name] = value
            units[name] = unit
        }
        if let threshold = scenario.mesh?.slowThreshold {
            put("slow_request_fraction", latency.fraction(above: threshold), "ratio")
        }
        histograms["auth_latency"] = m.authLatency
        units["auth_latency"] = "ms"
        if m.authShareCount > 0 { put("auth_share", m.authShareSum / Double(m.authShareCount), "ratio") }

        // Availability counts the legitimate clients' requests (not the forged ones a
        // scenario injects): what their users see, including a token they could not refresh.
        let windows: [(name: String, from: VirtualTime, to: VirtualTime)] = scenario.faults.enumerated().compactMap { i, fault in
            guard let duration = fault.duration else { return nil }
            return ("availability_during_fault\(i + 1)_\(fault.action.keyword)", fault.at, fault.at + duration)
        }
        var ok = 0.0, finished = 0.0, outsideOk = 0.0, outsideFinished = 0.0
        var windowOk = Array(repeating: 0.0, count: windows.count)
        var windowFinished = Array(repeating: 0.0, count: windows.count)
        for id in 0..<requestStart.count where requestStart[id] >= scenario.warmup && id < m.requestClient.count && m.requestClient[id] >= 0 {
            guard let outcome = ledger.outcome(of: UInt64(id)), outcome != .pending else { continue }
            let success = outcome == .succeeded ? 1.0 : 0.0
            finished += 1
            ok += success
            let start = requestStart[id]
            var inside = false
            for (w, window) in windows.enumerated() where start >= window.from && start < window.to {
                windowFinished[w] += 1
                windowOk[w] += success
                inside = true
            }
            if !inside {
                outsideFinished += 1
                outsideOk += success
            }
        }
        if finished > 0 { put("availability", ok / finished, "ratio") }
        for (w, window) in windows.enumerated() where windowFinished[w] > 0 {
            put(window.name, windowOk[w] / windowFinished[w], "ratio")
        }
        if !windows.isEmpty && outsideFinished > 0 { put("availability_outside_faults", outsideOk / outsideFinished, "ratio") }

        let seconds = Double(end) / 1e9
        let arrivals = m.tokeninfoStations.reduce(0) { $0 + $1.counters.arrived }
        let requests = Double(m.requestClient.reduce(0) { $0 + ($1 >= -1 ? 1 : 0) })  // mesh requests only
        put("tokeninfo_requests", Double(arrivals), "count")
        put("tokeninfo_requests_per_s", seconds > 0 ? Double(arrivals) / seconds : 0, "/s")
        put("tokeninfo_calls_per_request", requests > 0 ? Double(arrivals) / requests : 0, "count")
        put("hops_per_request", requests > 0 ? Double(m.serviceCalls) / requests : 0, "count")
        if !m.tokeninfoStations.isEmpty {
            let capacity = Double(m.auth.tokeninfo.servers * m.tokeninfoStations.count) * Double(end)
            let busy = m.tokeninfoStations.reduce(0.0) { $0 + $1.counters.busyTime }
            put("tokeninfo_utilization", capacity > 0 ? busy / capacity : 0, "ratio")
        }
        if m.tokeninfoMeasured > 0 {
            histograms["tokeninfo_latency"] = m.tokeninfoSojourn
            units["tokeninfo_latency"] = "ms"
            let meanService = m.tokeninfoServed > 0 ? m.tokeninfoServiceSum / Double(m.tokeninfoServed) : 0
            put("tokeninfo_response_mean_ms", m.tokeninfoSojournSum / Double(m.tokeninfoMeasured) / 1e6, "ms")
            put("tokeninfo_wait_ms", max(0, m.tokeninfoSojournSum / Double(m.tokeninfoMeasured) - meanService) / 1e6, "ms")
            // What M/M/c predicts for the same per-node arrival rate and mean service time:
            // exact when arrivals are Poisson and service times exponential, a yardstick otherwise.
            let perNode = Double(arrivals) / Double(m.tokeninfoStations.count) / max(seconds, 1e-9)
            if meanService > 0, let wait = ErlangC.meanWait(servers: m.auth.tokeninfo.servers, arrivalRate: perNode,
                                                           serviceRate: 1e9 / meanService) {
                put("tokeninfo_mmc_wait_ms", wait * 1e3, "ms")
            }
        }

        put("hop_validations", Double(m.hopDecisions), "count")
        put("local_verifications", Double(m.localVerifications), "count")
        put("token_cache_hits", Double(m.cacheHits), "count")
        put("auth_unavailable", Double(m.unavailableDecisions), "count")
        put("accepted_invalid", Double(m.acceptedForged + m.acceptedExpired + m.acceptedRevoked), "count")
        put("accepted_revoked", Double(m.acceptedRevoked), "count")
        put("accepted_expired", Double(m.acceptedExpired), "count")
        put("accepted_forged", Double(m.acceptedForged), "count")
        put("rejected_valid", Double(m.rejectedValid), "count")
        put("rejected_invalid", Double(m.rejectedInvalid), "count")
        put("token_refreshes", Double(m.tokenRefreshes), "count")
        put("token_refresh_failures", Double(m.tokenRefreshFailures), "count")
        put("tokens_revoked", Double(m.revocations), "count")
        put("cross_zone_call_share", m.serviceCalls > 0 ? Double(m.crossZoneCalls) / Double(m.serviceCalls) : 0, "ratio")
    }

    /// The OAuth model's checks, or nil when `name` is not one of them.
    func meshCheck(_ name: String, end: VirtualTime) -> CheckReport? {
        guard let m = meshWorld else { return nil }
        switch name {
        case "no_accepted_invalid":
            let count = m.acceptedForged + m.acceptedExpired + m.acceptedRevoked
            var violations = m.acceptedInvalidExamples.map {
                CheckViolation(check: name, description: $0.description, time: $0.time)
            }
            if count > UInt64(violations.count) {
                violations.append(CheckViolation(
                    check: name, description: "\(count) hop(s) in all accepted an invalid token (forged \(m.acceptedForged), expired \(m.acceptedExpired), revoked \(m.acceptedRevoked))",
                    time: nil))
            }
            return CheckReport(name: name, violations: violations)
        case "mesh_requests_accounted":
            // Every request must end in one outcome, unless it was sent so late that its
            // timeout (or 10 s without one) had not run out at the end.
            let patience = (scenario.meshWorkloads.compactMap(\.timeout).max() ?? 10 * Nanos.second) + Nanos.second
            var violations: [CheckViolation] = []
            var stuck = 0
            for id in 0..<requestStart.count where ledger.outcome(of: UInt64(id)) == .pending && requestStart[id] + patience < end {
                stuck += 1
                if violations.count < 5 {
                    violations.append(CheckViolation(check: name, description: "request \(id) sent at \(Double(requestStart[id]) / 1e9) s never ended",
                                                     time: requestStart[id]))
                }
            }
            if stuck > violations.count {
                violations.append(CheckViolation(check: name, description: "\(stuck) requests in all never ended", time: nil))
            }
            return CheckReport(name: name, violations: violations)
        default:
            return nil
        }
    }
}
