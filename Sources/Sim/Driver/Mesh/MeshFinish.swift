import Checkers
import Mesh
import Scenario
import SimCore
import Stations
import Stats

extension MeshModel {
    /// The OAuth model's metrics: auth time and share on the critical path, availability
    /// (overall and during each scheduled fault), tokeninfo load and queueing next to its
    /// M/M/c prediction, and how often a hop's verdict disagreed with the truth.
    func meshMetrics(_ metrics: inout [String: Double], _ units: inout [String: String],
                     _ histograms: inout [String: LatencyHistogram], end: VirtualTime, _ cluster: VirtualCluster) {
        func put(_ name: String, _ value: Double, _ unit: String) {
            metrics[name] = value
            units[name] = unit
        }
        if let threshold = cluster.scenario.mesh?.slowThreshold {
            put("slow_request_fraction", cluster.requests.latency.fraction(above: threshold), "ratio")
        }
        histograms["auth_latency"] = world.authLatency
        units["auth_latency"] = "ms"
        if world.authShareCount > 0 { put("auth_share", world.authShareSum / Double(world.authShareCount), "ratio") }

        // Availability counts the legitimate clients' requests (not the forged ones a
        // scenario injects): what their users see, including a token they could not refresh.
        var availability = Availability(faults: cluster.scenario.faults)
        for id in 0..<cluster.requests.start.count where cluster.requests.start[id] >= cluster.scenario.warmup && id < world.requestClient.count && world.requestClient[id] >= 0 {
            guard let outcome = cluster.requests.ledger.outcome(of: UInt64(id)), outcome != .pending else { continue }
            availability.count(sentAt: cluster.requests.start[id], success: outcome == .succeeded)
        }
        for (name, value) in availability.metrics { put(name, value, "ratio") }

        let seconds = Double(end) / 1e9
        let arrivals = world.tokeninfoStations.reduce(0) { $0 + $1.counters.arrived }
        let requests = Double(world.requestClient.reduce(0) { $0 + ($1 >= -1 ? 1 : 0) })  // mesh requests only
        put("tokeninfo_requests", Double(arrivals), "count")
        put("tokeninfo_requests_per_s", seconds > 0 ? Double(arrivals) / seconds : 0, "/s")
        put("tokeninfo_calls_per_request", requests > 0 ? Double(arrivals) / requests : 0, "count")
        put("hops_per_request", requests > 0 ? Double(world.serviceCalls) / requests : 0, "count")
        if !world.tokeninfoStations.isEmpty {
            let capacity = Double(world.auth.tokeninfo.servers * world.tokeninfoStations.count) * Double(end)
            let busy = world.tokeninfoStations.reduce(0.0) { $0 + $1.counters.busyTime }
            put("tokeninfo_utilization", capacity > 0 ? busy / capacity : 0, "ratio")
        }
        if world.tokeninfoMeasured > 0 {
            histograms["tokeninfo_latency"] = world.tokeninfoSojourn
            units["tokeninfo_latency"] = "ms"
            let meanService = world.tokeninfoServed > 0 ? world.tokeninfoServiceSum / Double(world.tokeninfoServed) : 0
            put("tokeninfo_response_mean_ms", world.tokeninfoSojournSum / Double(world.tokeninfoMeasured) / 1e6, "ms")
            put("tokeninfo_wait_ms", max(0, world.tokeninfoSojournSum / Double(world.tokeninfoMeasured) - meanService) / 1e6, "ms")
            // What M/M/c predicts for the same per-node arrival rate and mean service time:
            // exact when arrivals are Poisson and service times exponential, a yardstick otherwise.
            let perNode = Double(arrivals) / Double(world.tokeninfoStations.count) / max(seconds, 1e-9)
            if meanService > 0, let wait = ErlangC.meanWait(servers: world.auth.tokeninfo.servers, arrivalRate: perNode,
                                                           serviceRate: 1e9 / meanService) {
                put("tokeninfo_mmc_wait_ms", wait * 1e3, "ms")
            }
        }

        put("hop_validations", Double(world.hopDecisions), "count")
        put("local_verifications", Double(world.localVerifications), "count")
        put("token_cache_hits", Double(world.cacheHits), "count")
        put("auth_unavailable", Double(world.unavailableDecisions), "count")
        put("accepted_invalid", Double(world.acceptedForged + world.acceptedExpired + world.acceptedRevoked), "count")
        put("accepted_revoked", Double(world.acceptedRevoked), "count")
        put("accepted_expired", Double(world.acceptedExpired), "count")
        put("accepted_forged", Double(world.acceptedForged), "count")
        put("rejected_valid", Double(world.rejectedValid), "count")
        put("rejected_invalid", Double(world.rejectedInvalid), "count")
        put("token_refreshes", Double(world.tokenRefreshes), "count")
        put("token_refresh_failures", Double(world.tokenRefreshFailures), "count")
        put("tokens_revoked", Double(world.revocations), "count")
        put("cross_zone_call_share", world.serviceCalls > 0 ? Double(world.crossZoneCalls) / Double(world.serviceCalls) : 0, "ratio")
    }

    /// The OAuth model's checks, or nil when `name` is not one of them.
    func meshCheck(_ name: String, end: VirtualTime, _ cluster: VirtualCluster) -> CheckReport? {
        switch name {
        case "no_accepted_invalid":
            let count = world.acceptedForged + world.acceptedExpired + world.acceptedRevoked
            var violations = world.acceptedInvalidExamples.map {
                CheckViolation(check: name, description: $0.description, time: $0.time)
            }
            if count > UInt64(violations.count) {
                violations.append(CheckViolation(
                    check: name, description: "\(count) hop(s) in all accepted an invalid token (forged \(world.acceptedForged), expired \(world.acceptedExpired), revoked \(world.acceptedRevoked))",
                    time: nil))
            }
            return CheckReport(name: name, violations: violations)
        case "mesh_requests_accounted":
            // Every request must end in one outcome, unless it was sent so late that its
            // timeout (or 10 s without one) had not run out at the end.
            let patience = (cluster.scenario.meshWorkloads.compactMap(\.timeout).max() ?? 10 * Nanos.second) + Nanos.second
            var violations: [CheckViolation] = []
            var stuck = 0
            for id in 0..<cluster.requests.start.count where cluster.requests.ledger.outcome(of: UInt64(id)) == .pending && cluster.requests.start[id] + patience < end {
                stuck += 1
                if violations.count < 5 {
                    violations.append(CheckViolation(check: name, description: "request \(id) sent at \(Double(cluster.requests.start[id]) / 1e9) s never ended",
                                                     time: cluster.requests.start[id]))
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
