import Foundation
import Scenario
import Sim
import Stats
import XCTest

/// The OAuth fan-out model end to end: closed forms it must reproduce (tail at scale, M/M/c at
/// the tokeninfo cluster), what each validation strategy must and must not do, and how the
/// faults of the issue show up in the metrics.
final class MeshSimulationTests: XCTestCase {
    /// A small mesh; `services`, `auth`, `faults` and `extra` are spliced in as YAML.
    func mesh(duration: String = "10s", warmup: String = "1s", services: String, auth: String, rate: String = "100/s",
              timeout: String = "2s", faults: String = "", extra: String = "") -> String {
        """
        name: mesh-test
        duration: \(duration)
        warmup: \(warmup)
        cluster: { zones: [a, b] }
        services:
        \(services)
        auth:
        \(auth)
        workload:
          - calls: { rate: { poisson: \(rate) }, timeout: \(timeout) }
        \(faults)
        checks: [no_accepted_invalid, mesh_requests_accounted]
        \(extra)
        """
    }

    let smallTree = """
          graph: { shape: tree, depth: 1, fanout: 3 }
          defaults: { replicas: 2, servers: 16, work: { exponential: 2ms }, call: { timeout: 500ms } }
          latency: { same_zone: 200us, cross_zone: 600us }
        """

    func run(_ yaml: String, seeds: ClosedRange<UInt64> = 1...1) throws -> [RunOutcome] {
        try runSeeds(try loadScenario(yaml), seeds: seeds)
    }

    /// `services.latency.client` (what `faultline calibrate` measures for the load driver) applies
    /// to the client's calls only: with 0 work and 50 µs service hops, a 5 ms client latency
    /// puts the request latency at ≈ 2 × 5 ms, and leaving it out gives the old placement latency.
    func testClientLatencyAppliesToTheClientHopOnly() throws {
        func p50(_ latency: String) throws -> Double {
            let yaml = mesh(services: """
                  list:
                    - { name: api, work: 0ms, calls: [b] }
                    - { name: b, work: 0ms }
                  latency: { same_zone: 50us, cross_zone: 50us\(latency) }
                """, auth: "  strategy: none", rate: "50/s")
            let outcome = try XCTUnwrap(try run(yaml).first)
            return try XCTUnwrap(outcome.histograms["request_latency"]).percentile(50) / 1e6
        }
        let without = try p50("")
        let with = try p50(", client: 5ms")
        XCTAssertEqual(without, 0.2, accuracy: 0.01)          // 4 one-way hops of 50 µs
        XCTAssertEqual(with, 10.1, accuracy: 0.05)            // 2 × 5 ms + 2 × 50 µs
    }

    /// The simulated side of `MeshRulesLiveTests`' dead-replica tests (one `HopRequest` in both
    /// drivers): orders has a live and a crashed replica; round-robin sends every other first
    /// attempt to the crashed one. With a retry every request succeeds on the next replica, at
    /// 1.5 attempts per api call (live: 9 attempts for 6 requests); without, every other fails.
    func testACrashedReplicaIsRetriedOnTheNextOneAndWithoutRetriesFailsEveryOtherCall() throws {
        func outcome(retries: Int) throws -> RunOutcome {
            let yaml = """
                name: dead-replica
                duration: 10s
                cluster: { zones: [a] }
                services:
                  list:
                    - { name: api, calls: [{ to: orders, retries: \(retries), timeout: 50ms }] }
                    - { name: orders, replicas: 2 }
                  defaults: { replicas: 1, servers: 8, work: 0.2ms }
                auth:
                  strategy: local
                  tokens: { realm: services, clients: 2, lifetimes: { services: 1h, customers: 1h } }
                workload:
                  - calls: { rate: 10/s }
                faults:
                  - { at: 0s, crash: orders-r2 }
                """
            return try XCTUnwrap(try run(yaml).first)
        }
        let retried = try outcome(retries: 1)
        XCTAssertEqual(retried.metrics["availability"], 1)
        // Client → api, api → orders, and a retry for every other request.
        XCTAssertEqual(retried.metrics["hops_per_request"]!, 2.5, accuracy: 0.02)
        let hard = try outcome(retries: 0)
        XCTAssertEqual(hard.metrics["availability"]!, 0.5, accuracy: 0.02)
        XCTAssertEqual(hard.metrics["hops_per_request"], 2)
    }

    // MARK: - Fidelity

    /// Dean & Barroso: with n parallel leaves each slow with probability p, a request is slow
    /// with probability 1 − (1 − p)^n. p = 0.01: 0.01, 0.096, 0.634 for n = 1, 10, 100.
    func testTailAtScaleMatchesOneMinusOneMinusPToTheN() throws {
        for (n, expected) in [(1, 0.01), (10, 0.0956), (100, 0.6340)] {
            XCTAssertEqual(1 - pow(0.99, Double(n)), expected, accuracy: 5e-4)
            let yaml = mesh(duration: "30s", services: """
                  slow_threshold: 500ms
                  list:
                    - { name: root, work: 0ms, servers: 1000, calls: [{ to: leaf, copies: \(n) }] }
                    - name: leaf
                      replicas: \(n)
                      servers: 1000
                      work: { mixture: [{ weight: 99%, value: 10ms }, { weight: 1%, value: 1s }] }
                  latency: { same_zone: 100us, cross_zone: 100us }
                """, auth: "  strategy: none", rate: "20/s", timeout: "10s")
            let outcomes = try run(yaml, seeds: 1...8)
            let fractions = outcomes.map { $0.metrics["slow_request_fraction"]! }
            let s = Summary(fractions)
            XCTAssertLessThanOrEqual(s.ciLow, expected, "n = \(n): \(expected) outside [\(s.ciLow), \(s.ciHigh)]")
            XCTAssertGreaterThanOrEqual(s.ciHigh, expected, "n = \(n): \(expected) outside [\(s.ciLow), \(s.ciHigh)]")
            XCTAssertLessThan(s.ciHigh - s.ciLow, max(0.01, expected * 0.25), "n = \(n): CI too wide to be a test")
            // Every leaf answered: the root made n calls per request.
            XCTAssertEqual(outcomes[0].metrics["hops_per_request"]!, Double(n + 1), accuracy: 0.05)
        }
    }

    /// With one validation per request, tokeninfo sees Poisson arrivals and exponential service:
    /// an M/M/c queue, whose Erlang-C response time the simulation must reproduce — and the
    /// queue must grow steeply as the cluster saturates.
    func testCentralTokeninfoIsAnMMcQueue() throws {
        var waits: [Double] = []
        for rate in [1000.0, 1700.0] {
            let yaml = mesh(duration: "8s", services: """
                  graph: { shape: tree, depth: 0, fanout: 1 }
                  defaults: { servers: 10000, work: 0ms }
                  latency: { same_zone: 100us, cross_zone: 100us }
                """, auth: """
                  strategy: central
                  tokeninfo: { nodes: 1, servers: 2, service: { exponential: 1ms } }
                  central: { timeout: 10s, retries: 0 }
                """, rate: "\(Int(rate))/s")
            let outcomes = try run(yaml, seeds: 1...10)
            let expectedMs = try XCTUnwrap(ErlangCReference.responseMs(servers: 2, lambda: rate, mu: 1000))
            let s = Summary(outcomes.map { $0.metrics["tokeninfo_response_mean_ms"]! })
            XCTAssertLessThanOrEqual(s.ciLow, expectedMs, "λ = \(rate): Erlang C \(expectedMs) ms outside [\(s.ciLow), \(s.ciHigh)]")
            XCTAssertGreaterThanOrEqual(s.ciHigh, expectedMs, "λ = \(rate): Erlang C \(expectedMs) ms outside [\(s.ciLow), \(s.ciHigh)]")
            XCTAssertLessThan(s.ciHigh - s.ciLow, expectedMs * 0.25, "CI too wide to be a test")
            // The model's own M/M/c column agrees with the reference formula.
            XCTAssertEqual(outcomes[0].metrics["tokeninfo_mmc_wait_ms"]! + 1, expectedMs, accuracy: expectedMs * 0.1)
            XCTAssertEqual(outcomes[0].metrics["tokeninfo_calls_per_request"]!, 1, accuracy: 0.01)
            waits.append(s.mean)
        }
        // ρ 0.5 → 0.85: the mean response time grows more than 2×, as queueing theory says.
        XCTAssertGreaterThan(waits[1], 2 * waits[0])
    }

    // MARK: - Strategies

    func testLocalNeverCallsTokeninfoAndCentralCallsItAtEveryHop() throws {
        var results: [String: [String: Double]] = [:]
        for strategy in ["central", "local", "hybrid", "none"] {
            let yaml = mesh(services: smallTree, auth: """
                  strategy: \(strategy)
                  tokeninfo: { nodes: 2, servers: 4, service: { exponential: 1ms } }
                """)
            let outcome = try XCTUnwrap(run(yaml).first)
            XCTAssertTrue(outcome.passed, "\(strategy): \(outcome.checks)")
            results[strategy] = outcome.metrics
        }
        XCTAssertEqual(results["local"]!["tokeninfo_requests"], 0)
        XCTAssertEqual(results["none"]!["tokeninfo_requests"], 0)
        XCTAssertEqual(results["hybrid"]!["tokeninfo_requests"], 0, "keys are known, so hybrid never falls back")
        XCTAssertEqual(results["local"]!["local_verifications"], results["local"]!["hop_validations"])
        XCTAssertEqual(results["central"]!["local_verifications"], 0)
        // Central: one tokeninfo call per hop (4 services per request).
        XCTAssertEqual(results["central"]!["tokeninfo_calls_per_request"]!, 4, accuracy: 0.1)
        XCTAssertEqual(results["central"]!["hops_per_request"]!, 4, accuracy: 0.1)
        // Validation costs time: central ≫ local > none.
        XCTAssertGreaterThan(results["central"]!["latency_mean_ms"]!, results["local"]!["latency_mean_ms"]! + 2)
        XCTAssertGreaterThan(results["local"]!["latency_mean_ms"]!, results["none"]!["latency_mean_ms"]!)
        XCTAssertGreaterThan(results["central"]!["auth_share"]!, results["local"]!["auth_share"]!)
        XCTAssertEqual(results["none"]!["auth_share"], 0)
    }

    func testCentralCacheAnswersRepeatedTokensWithoutTokeninfo() throws {
        let yaml = mesh(services: smallTree, auth: """
              strategy: central
              tokeninfo: { nodes: 2, servers: 4, service: { exponential: 1ms } }
              central: { cache_ttl: 30s }
              tokens: { clients: 5 }
            """)
        let m = try XCTUnwrap(run(yaml).first).metrics
        // 5 clients × 8 replicas: at most a few dozen misses, then every hop hits its cache.
        XCTAssertLessThan(m["tokeninfo_requests"]!, 100)
        XCTAssertGreaterThan(m["token_cache_hits"]!, 0.9 * m["hop_validations"]!)
    }

    func testForgedTokensAreRejectedByEveryStrategyThatValidates() throws {
        for strategy in ["central", "local", "hybrid"] {
            let yaml = mesh(services: smallTree, auth: """
                  strategy: \(strategy)
                  tokeninfo: { nodes: 2, servers: 4, service: { exponential: 1ms } }
                  forged_tokens: 5%
                """)
            let outcome = try XCTUnwrap(run(yaml).first)
            XCTAssertTrue(outcome.passed, "\(strategy): \(outcome.checks)")
            XCTAssertEqual(outcome.metrics["accepted_forged"], 0, strategy)
            XCTAssertGreaterThan(outcome.metrics["rejected_invalid"]!, 20, strategy)
            XCTAssertEqual(outcome.metrics["rejected_valid"], 0, strategy)
            // Refusing an attacker is not an outage: availability counts legitimate clients.
            XCTAssertEqual(outcome.metrics["availability"], 1, strategy)
        }
        // Without validation the forged tokens get through, and the check says so.
        let none = try XCTUnwrap(run(mesh(services: smallTree, auth: "  strategy: none\n  forged_tokens: 5%")).first)
        XCTAssertGreaterThan(none.metrics["accepted_forged"]!, 20)
        XCTAssertFalse(try XCTUnwrap(none.checks.first { $0.name == "no_accepted_invalid" }).passed)
    }

    func testRevocationLagOfLocalValidationIsMeasured() throws {
        func metrics(_ strategy: String, _ extra: String = "") throws -> [String: Double] {
            let yaml = mesh(duration: "30s", services: smallTree, auth: """
                  strategy: \(strategy)
                  tokeninfo: { nodes: 2, servers: 4, service: { exponential: 1ms } }
                  local: { revocation_poll: 10s }
                  revocations: 2/s
                  tokens: { clients: 20 }
                \(extra)
                """)
            return try XCTUnwrap(run(yaml).first).metrics
        }
        let local = try metrics("local")
        XCTAssertGreaterThan(local["tokens_revoked"]!, 20)
        XCTAssertGreaterThan(local["accepted_revoked"]!, 0, "a 10 s poll lets revoked tokens through meanwhile")
        XCTAssertEqual(local["accepted_forged"], 0)
        // Tokeninfo knows every revocation at once…
        let central = try metrics("central")
        XCTAssertEqual(central["accepted_revoked"], 0)
        XCTAssertGreaterThan(central["rejected_invalid"]!, 0)
        // …unless its answers are cached.
        let cached = try metrics("central", "  central: { cache_ttl: 20s }")
        XCTAssertGreaterThan(cached["accepted_revoked"]!, 0)
    }

    // MARK: - Faults

    func testTokeninfoOutageTakesCentralDownButNotLocal() throws {
        func metrics(_ strategy: String) throws -> [String: Double] {
            let yaml = mesh(duration: "20s", services: smallTree, auth: """
                  strategy: \(strategy)
                  tokeninfo: { nodes: 2, servers: 4, service: { exponential: 1ms } }
                  central: { timeout: 100ms, retries: 1, breaker: { failures: 5, open_for: 1s } }
                """, faults: "faults: [{ at: 5s, crash: service(tokeninfo), for: 5s }]")
            return try XCTUnwrap(run(yaml).first).metrics
        }
        let central = try metrics("central")
        XCTAssertLessThan(central["availability_during_fault1_crash"]!, 0.05)
        XCTAssertGreaterThan(central["auth_unavailable"]!, 100)
        XCTAssertGreaterThan(central["availability_outside_faults"]!, 0.9)
        let local = try metrics("local")
        XCTAssertEqual(local["availability_during_fault1_crash"], 1)
        XCTAssertEqual(local["availability"], 1)
    }

    func testKeyRotationDuringAJWKSOutageRejectsValidTokensUnlessKeysArePrePublished() throws {
        func metrics(prePublish: String) throws -> [String: Double] {
            let yaml = mesh(duration: "60s", services: smallTree, auth: """
                  strategy: local
                  local: { jwks_refresh: 30s, unknown_kid: refetch }
                  tokens: { clients: 20, lifetimes: { services: 40s } }
                  key_rotation: { every: 20s, pre_publish: \(prePublish) }
                """, faults: "faults: [{ at: 15s, crash: jwks, for: 20s }]")
            return try XCTUnwrap(run(yaml).first).metrics
        }
        let bare = try metrics(prePublish: "0s")
        XCTAssertGreaterThan(bare["rejected_valid"]!, 50)
        XCTAssertLessThan(bare["availability_during_fault1_crash"]!, 0.95)
        let prePublished = try metrics(prePublish: "40s")
        XCTAssertEqual(prePublished["rejected_valid"], 0)
        XCTAssertEqual(prePublished["availability"], 1)
    }

    func testClockSkewOnOneReplicaRejectsValidTokensThere() throws {
        let yaml = mesh(duration: "20s", services: smallTree, auth: """
              strategy: local
              tokens: { lifetimes: { services: 60s } }
            """, faults: "faults: [{ at: 5s, clock: { node: s1-0-r1, offset: 5m }, for: 5s }]")
        let m = try XCTUnwrap(run(yaml).first).metrics
        XCTAssertGreaterThan(m["rejected_valid"]!, 50)
        // s1-0 has two replicas; calls alternate, so about half the requests fail meanwhile.
        XCTAssertEqual(m["availability_during_fault1_clock"]!, 0.5, accuracy: 0.1)
        XCTAssertEqual(m["availability_outside_faults"], 1)
    }

    func testTokenProviderOutageLetsTokensExpire() throws {
        let yaml = mesh(duration: "60s", services: smallTree, auth: """
              strategy: local
              tokens: { clients: 10, refresh_retry: 1s, lifetimes: { services: 20s } }
            """, faults: "faults: [{ at: 10s, crash: token-provider, for: 30s }]")
        let m = try XCTUnwrap(run(yaml).first).metrics
        XCTAssertGreaterThan(m["token_refresh_failures"]!, 10)
        XCTAssertLessThan(m["availability_during_fault1_crash"]!, 0.8)
        XCTAssertGreaterThan(m["rejected_invalid"]!, 0, "expired tokens are refused")
        XCTAssertEqual(m["accepted_expired"], 0)
    }

    func testRetriesRouteAroundACrashedReplica() throws {
        func availability(retries: Int) throws -> Double {
            let yaml = mesh(services: """
                  list:
                    - { name: api, work: 1ms, calls: [{ to: backend, timeout: 50ms, retries: \(retries) }] }
                    - { name: backend, replicas: 2, work: 1ms }
                  latency: { same_zone: 200us, cross_zone: 200us }
                """, auth: "  strategy: none", faults: "faults: [{ at: 0s, crash: backend-r1 }]")
            return try XCTUnwrap(run(yaml).first).metrics["availability"]!
        }
        XCTAssertEqual(try availability(retries: 0), 0.5, accuracy: 0.05)
        XCTAssertEqual(try availability(retries: 1), 1)
    }

    // MARK: - Call graphs

    func testStationsAndAMeshRunSideBySide() throws {
        let yaml = """
            name: mixed
            duration: 5s
            cluster: { nodes: 1, zones: [a] }
            stations: [{ name: db, node: n1, servers: 2, service: { exponential: 1ms } }]
            services:
              graph: { shape: tree, depth: 1, fanout: 2 }
            auth: { strategy: local }
            workload:
              - requests: { station: db, rate: 200/s }
              - calls: { rate: 100/s, timeout: 1s }
            checks: [requests_accounted, no_accepted_invalid, mesh_requests_accounted]
            """
        let outcome = try XCTUnwrap(run(yaml).first)
        XCTAssertTrue(outcome.passed, "\(outcome.checks)")
        XCTAssertEqual(outcome.metrics["requests"]!, 1500, accuracy: 150)
        XCTAssertEqual(outcome.metrics["hops_per_request"]!, 3, accuracy: 0.01, "per mesh request, not per station request")
        XCTAssertGreaterThan(outcome.metrics["availability"]!, 0.99)
    }

    func testSequentialCallsAddUpAndParallelCallsOverlap() throws {
        func mean(_ mode: String) throws -> Double {
            let yaml = mesh(services: """
                  list:
                    - { name: api, work: 0ms, calls: [{ to: a, mode: \(mode) }, { to: b, mode: \(mode) }] }
                    - { name: a, work: 10ms }
                    - { name: b, work: 10ms }
                  latency: { same_zone: 0ms, cross_zone: 0ms }
                """, auth: "  strategy: none", rate: "10/s")
            return try XCTUnwrap(run(yaml).first).metrics["latency_mean_ms"]!
        }
        XCTAssertEqual(try mean("parallel"), 10, accuracy: 0.01)
        XCTAssertEqual(try mean("sequential"), 20, accuracy: 0.01)
    }

    func testGeneratedGraphsAreFixedBySeed() throws {
        for graph in ["{ shape: tree, depth: 2, fanout: 3 }", "{ shape: layered, layers: 3, width: 4, edges: 2 }",
                      "{ shape: random-dag, services: 12, edge_probability: 30% }"] {
            let yaml = mesh(duration: "3s", services: """
                  graph: \(graph)
                  defaults: { work: 1ms }
                """, auth: "  strategy: local", rate: "50/s")
            let scenario = try loadScenario(yaml)
            let a = try runSeeds(scenario, seeds: 1...2)
            let b = try runSeeds(scenario, seeds: 1...2)
            XCTAssertEqual(a.map(\.traceHash), b.map(\.traceHash), graph)
            XCTAssertNotEqual(a[0].traceHash, a[1].traceHash, graph)
            XCTAssertTrue(a.allSatisfy(\.passed), graph)
        }
        // A tree's size is known: (f^(d+1) − 1) / (f − 1) hops per request.
        let tree = try run(mesh(duration: "3s", services: "  graph: { shape: tree, depth: 2, fanout: 3 }", auth: "  strategy: none"))
        XCTAssertEqual(tree[0].metrics["hops_per_request"]!, 13, accuracy: 0.2)
    }
}

/// Erlang C, written independently of the simulator's own implementation.
enum ErlangCReference {
    static func responseMs(servers c: Int, lambda: Double, mu: Double) -> Double? {
        let a = lambda / mu
        guard a < Double(c) else { return nil }
        var term = 1.0
        var sum = 1.0
        for k in 1..<c {
            term *= a / Double(k)
            sum += term
        }
        let last = term * a / Double(c) / (1 - a / Double(c))
        return 1000 * (last / (sum + last) / (Double(c) * mu - lambda) + 1 / mu)
    }
}
