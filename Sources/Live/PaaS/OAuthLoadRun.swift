import Auth
import Experiment
import Foundation
import Live
import LiveAuth
import LiveHTTP
import LoadCore
import NIOCore
import Results
import Scenario
import Sampling
import Stats

/// One live run of an OAuth scenario's `- calls:` workload against a running PaaS (provider,
/// tokeninfo, mesh with one strategy): fetch every client's token from the provider, drive the
/// entry service open-loop (latency from the intended send time, as wrk2), judge every answer
/// against what it should have been, scrape the mesh's validator counters, and produce the
/// results schema's `RunRecord` with the simulator's metric names.
public struct OAuthLoadRun: Sendable {
    public var scenario: Scenario
    public var parameters: [String: String]
    public var seed: UInt64
    public var strategy: ValidationStrategy

    public init(scenario: Scenario, strategy: ValidationStrategy, parameters: [String: String], seed: UInt64) {
        self.scenario = scenario
        self.strategy = strategy
        self.parameters = parameters
        self.seed = seed
    }

    /// Outcome kinds a response is sorted into.
    enum Kind {
        static let forgedRejected = "forged_rejected"
        static let forgedAccepted = "forged_accepted"
        static let validRejected = "valid_rejected"
        /// A legitimate client's token had expired (it could not refresh in time): refused, rightly.
        static let expiredRejected = "expired_rejected"
        static let unvalidatedHops = "unvalidated_hops"
    }

    public func execute(launcher: PaaSLauncher, group: any EventLoopGroup, log: @escaping @Sendable (String) -> Void) async throws -> RunRecord {
        let started = Date()
        guard let workload = scenario.meshWorkloads.first else {
            throw LiveError.badInput("\(scenario.sourceFile): `faultline load` of a `services:` scenario needs a `- calls:` workload")
        }
        if scenario.meshWorkloads.count > 1 { log("only the first `- calls:` workload is driven live") }
        try OAuthLiveFaults.validate(scenario)
        let auth = scenario.auth ?? AuthSpec()
        let live = scenario.live ?? LiveSpec()
        let graph = try MeshPlan.graph(scenario, seed: launcher.layout.seed)
        let entry = workload.entry ?? graph.services[0].name
        let hops = try MeshPlan.hops(scenario, seed: launcher.layout.seed, entry: entry)
        let entries = launcher.layout.replicas.filter { $0.service == entry }
        guard !entries.isEmpty else { throw LiveError.badInput("entry service '\(entry)' has no replica") }

        // Every client's token, from the provider over HTTP (the client-credentials grant), kept
        // fresh during the run as the simulator's clients keep theirs (`ClientTokens`).
        let provider = try HTTPEndpoint(launcher.providerURL)
        let providerPool = HTTPConnectionPool(host: provider.host, port: provider.port, group: group, maxConnections: max(4, auth.clients))
        let tokens = ClientTokens(clients: launcher.clients.clients, realm: auth.clientRealm, refreshAt: auth.refreshAt, retryAfter: auth.refreshRetry)
        do { try await tokens.fetchAll(providerPool) } catch {
            await providerPool.shutdown()
            throw error
        }
        let forgedFraction = auth.forgedFraction
        let forgedTokens = (0..<tokens.count).map { Self.forge(tokens.current($0)!.raw) }
        let runSeed = seed
        let expectedHops = strategy == .none ? 0 : hops
        log("\(strategy.rawValue): \(tokens.count) client tokens; \(hops) hops per request; \(entries.count) entry replica(s)")

        let root = SeededGenerator(seed: seed)
        // The run starts at least 500 ms from now; with key rotation, on a rotation boundary:
        // the provider's schedule runs on the wall clock (key k signs from k·interval), the
        // simulator's from the run's start, so starting on a boundary puts every rotation at
        // the same run time in both (waiting at most one interval, up to a minute).
        var delay: Int64 = 500_000_000
        if let interval = auth.rotationInterval, interval > 0, interval <= 60_000_000_000 {
            let earliest = wallClockNanos() + delay
            delay += (interval - earliest % interval) % interval
        }
        let start = NIODeadline.now() + .nanoseconds(delay)
        let wallStart = wallClockNanos() + delay
        let refreshing = Task { await tokens.keepFresh(providerPool, until: wallStart + scenario.duration, seed: runSeed) }
        let ledger = AvailabilityLedger()
        let stop = min(workload.stop ?? scenario.duration, scenario.duration)
        let connections = max(1, live.connections / entries.count)
        let timeout: TimeAmount = .nanoseconds(workload.timeout ?? 10_000_000_000)
        let measureFrom = scenario.warmup
        var runs: [Task<HTTPLoadResult, Error>] = []
        for (r, replica) in entries.enumerated() {
            let arrivals = try LoadRun.perConnection(workload.arrivals, entries.count)
            let schedule = ArrivalSchedule(arrivals, start: workload.start, stop: stop, generator: root.stream("live.calls.0.\(r)"))
            var load = OpenLoopHTTPLoad(host: "127.0.0.1", port: replica.port, connections: connections,
                                        maxInFlightPerConnection: max(1, min(live.maxInFlight, 64)), timeout: timeout)
            load.measureFrom = measureFrom
            load.timeRejections = false  // request_latency times successful requests, as simulated
            load.timeSeriesWindow = scenario.timeSeriesWindow
            let stride = entries.count
            runs.append(Task {
                try await load.run(intended: schedule, start: start, group: group, request: { i in
                    let n = i * stride + r
                    if Self.isForged(n, fraction: forgedFraction, seed: runSeed) {
                        return HTTPRequestSpec.get("/", headers: [("Authorization", "Bearer " + forgedTokens[n % forgedTokens.count])])
                    }
                    let token = tokens.current(n % tokens.count)!
                    let now = wallClockNanos()
                    ledger.sent(n, at: now - wallStart, expiredToken: token.expiresAt <= now)
                    return HTTPRequestSpec.get("/", headers: [("Authorization", "Bearer " + token.raw)])
                }, classifyRequest: { i, reply in
                    let n = i * stride + r
                    let outcome = Self.classify(reply, forged: Self.isForged(n, fraction: forgedFraction, seed: runSeed),
                                                expectedHops: expectedHops, expiredToken: ledger.hadExpiredToken(n))
                    if case .ok = outcome { ledger.answeredOK(n) }
                    if reply.status == 401 && !Self.isForged(n, fraction: forgedFraction, seed: runSeed) { tokens.refused(n % tokens.count) }
                    return outcome
                })
            })
        }
        let faults = OAuthLiveFaults(scenario: scenario, launcher: launcher, runStart: start, log: log)
        let faultTask = Task { try await faults.run() }
        var results: [HTTPLoadResult] = []
        do {
            for run in runs { results.append(try await run.value) }
        } catch {
            refreshing.cancel()
            await providerPool.shutdown()
            throw error
        }
        refreshing.cancel()
        await refreshing.value
        await providerPool.shutdown()
        let timeline = try await faultTask.value
        try await faults.restore()
        let result = HTTPLoadResult.merged(results)
        let scraped = await Self.scrape(port: launcher.layout.replicas[0].port, group: group)
        let rss = launcher.residentMB()
        var record = record(result, scraped: scraped, rss: rss, hops: hops, started: started, log: log)
        // Availability as the simulator counts it (every legitimate request, per fault window).
        for (name, value) in ledger.metrics(faults: scenario.faults, warmup: scenario.warmup) {
            record.metrics[name] = value
            record.metricUnits[name] = name.hasPrefix("availability") ? "ratio" : "count"
        }
        let refreshed = tokens.refreshes.withLockedValue { $0 }
        record.metrics["token_refreshes"] = Double(refreshed.done)
        record.metrics["token_refresh_failures"] = Double(refreshed.failed)
        record.metricUnits["token_refreshes"] = "count"
        record.metricUnits["token_refresh_failures"] = "count"
        record.timeline = timeline
        return record
    }

    /// Whether request `n` carries a forged token: a seeded, order-free draw per request.
    static func isForged(_ n: Int, fraction: Double, seed: UInt64) -> Bool {
        guard fraction > 0 else { return false }
        var g = SeededGenerator(seed: seed ^ 0x666f_7267_6564).stream("forged.\(n)")
        return g.nextUnit() < fraction
    }

    /// A genuine token with one bit of its signature flipped: well-formed, always different
    /// from the original, and caught only by the signature check. (Rewriting the last base64url
    /// characters instead could leave the token unchanged, and a "forgery" then passed.)
    public static func forge(_ token: String) -> String {
        guard let dot = token.lastIndex(of: "."), var signature = Base64URL.decode(String(token[token.index(after: dot)...])),
              !signature.isEmpty else { return token + "x" }
        signature[0] ^= 0x01
        return String(token[...dot]) + Base64URL.encode(signature)
    }

    static func classify(_ reply: HTTPReply, forged: Bool, expectedHops: Int, expiredToken: Bool = false) -> HTTPOutcome {
        if forged {
            switch reply.status {
            case 401: return .rejected(Kind.forgedRejected)
            case 200: return .error(Kind.forgedAccepted)
            default: return .error("http_\(reply.status)")
            }
        }
        switch reply.status {
        case 200:
            // A degraded answer (a soft dependency skipped) validated fewer hops by design.
            if MeshReplica.count("degraded", in: reply.body) > 0 { return .ok }
            return MeshReplica.count("validated", in: reply.body) == expectedHops ? .ok : .error(Kind.unvalidatedHops)
        // An expired token's refusal is right; the request still failed for its user.
        case 401: return .error(expiredToken ? Kind.expiredRejected : Kind.validRejected)
        default: return .error("http_\(reply.status)")
        }
    }

    /// The mesh's `faultline_paas_validator_*` gauges summed over replicas (one registry per process).
    static func scrape(port: Int, group: any EventLoopGroup) async -> [String: Double] {
        let pool = HTTPConnectionPool(host: "127.0.0.1", port: port, group: group, maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        guard let reply = try? await pool.send(.get("/metrics"), timeout: .seconds(5)), reply.status == 200 else { return [:] }
        return PrometheusText.sums(reply.bodyText, prefix: "faultline_paas_").filter {
            $0.key.hasPrefix("validator_") || $0.key.hasPrefix("child_call")
        }
    }

    func record(_ result: HTTPLoadResult, scraped: [String: Double], rss: [String: Double], hops: Int, started: Date,
                log: (String) -> Void) -> RunRecord {
        let recorder = result.recorder
        let measured = Double(scenario.duration - scenario.warmup) / 1e9
        let ok = result.count(outcome: "ok")
        let forgedAccepted = result.count(outcome: Kind.forgedAccepted)
        let forgedRejected = result.count(outcome: Kind.forgedRejected)
        let validRejected = result.count(outcome: Kind.validRejected)
        let expiredRejected = result.count(outcome: Kind.expiredRejected)
        let unvalidated = result.count(outcome: Kind.unvalidatedHops)
        let legitimate = result.completed + result.timeouts - forgedAccepted - forgedRejected
        var metrics: [String: Double] = [
            // Timed answers only (those due after `warmup`), over the timed window.
            "throughput_per_s": Double(recorder.completed) / max(measured, 1e-9),
            "requests_sent": Double(result.sent),
            "requests_answered": Double(result.completed),
            "requests_ok": Double(ok),
            "availability": legitimate > 0 ? Double(ok) / Double(legitimate) : 0,
            "accepted_forged": Double(forgedAccepted),
            "accepted_invalid": Double(forgedAccepted),
            "rejected_invalid": Double(forgedRejected + expiredRejected),
            "rejected_valid": Double(validRejected),
            "unvalidated_hops": Double(unvalidated),
            "hops_per_request": Double(hops),
            "late_sends": Double(recorder.late),
            "dropped_sends": Double(recorder.dropped),
            "timeouts": Double(recorder.timeouts),
            "errors": Double(recorder.errorCount),
            "worst_send_lag_ms": Double(recorder.worstSendLag) / 1e6,
        ]
        var units: [String: String] = [
            "throughput_per_s": "/s", "availability": "ratio", "worst_send_lag_ms": "ms", "hops_per_request": "count",
            "request_latency": "ms", "request_latency_uncorrected": "ms",
        ]
        for name in metrics.keys where units[name] == nil { units[name] = "count" }
        // The validators' own counters, under the simulator's names where it has them.
        let renamed = ["validator_validations": "hop_validations", "validator_local_verifications": "local_verifications",
                       "validator_tokeninfo_calls": "tokeninfo_requests", "validator_cache_hits": "token_cache_hits",
                       "validator_unavailable": "auth_unavailable"]
        for (name, value) in scraped.sorted(by: { $0.key < $1.key }) {
            let key = renamed[name] ?? name
            metrics[key] = value
            units[key] = "count"
        }
        for (name, mb) in rss {
            metrics["rss_mb.\(name)"] = mb
            units["rss_mb.\(name)"] = "MB"
        }
        let errorsByKind = recorder.errorsByKind
        for (kind, count) in errorsByKind { log("  \(count) × \(kind)") }
        var checks: [CheckResult] = []
        var violations: [Violation] = []
        func check(_ name: String, _ failures: Int, _ why: String) {
            checks.append(CheckResult(name: name, passed: failures == 0, violations: failures))
            if failures > 0 { violations.append(Violation(check: name, description: why)) }
        }
        for name in scenario.checks {
            switch name {
            case "no_accepted_invalid":
                check(name, forgedAccepted, "\(forgedAccepted) request(s) with a forged token were served")
            case "mesh_requests_accounted":
                let missing = result.sent - result.completed - result.timeouts - result.transportErrors
                check(name, max(0, missing), "\(missing) sent request(s) got neither an answer, a timeout nor an error")
            default:
                break
            }
        }
        if strategy != .none {
            check("hops_validated", unvalidated + validRejected,
                  "\(unvalidated) answer(s) with fewer than \(hops) validating hops, \(validRejected) valid token(s) refused")
        }
        let histograms = ["request_latency": recorder.corrected, "request_latency_uncorrected": recorder.uncorrected]
        return RunRecord(
            scenario: scenario.name, mode: "live", parameters: parameters, seed: seed,
            startedAt: ISO8601DateFormatter().string(from: started), wallSeconds: Date().timeIntervalSince(started),
            events: UInt64(result.completed), traceHash: "live", passed: checks.allSatisfy(\.passed),
            metrics: metrics, metricUnits: units, histograms: histograms, checks: checks, violations: violations,
            timeSeries: recorder.windows.series(latencyName: "request_latency"))
    }
}

