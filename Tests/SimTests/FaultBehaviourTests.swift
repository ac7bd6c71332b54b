import Checkers
import Sim
import Stats
import XCTest

/// What the fault schedule does to a station as clients see it.
final class FaultBehaviourTests: XCTestCase {
    func scenario(faults: String, checks: String = "[requests_accounted, liveness_after_heal]",
                  network: String = "{ latency: 1ms }", timeout: String = "100ms", extra: String = "") -> String {
        """
        name: faults
        duration: 10s
        cluster:
          nodes: 3
          network: \(network)
        stations:
          - { name: svc, node: n1, servers: 2, service: { exponential: 1ms } }
        workload:
          - requests: { station: svc, rate: 500/s, timeout: \(timeout) }
        faults:
        \(faults)
        checks: \(checks)
        \(extra)
        """
    }

    func run(_ yaml: String, seed: UInt64 = 1) throws -> RunOutcome {
        var simulation = try Simulation(scenario: try loadScenario(yaml), seed: seed)
        return simulation.run()
    }

    func testCrashMakesClientsTimeOutAndServiceRecoversAfterRestart() throws {
        let outcome = try run(scenario(faults: "  - { at: 3s, crash: n1, for: 2s }"))
        // About 2 s of 10 s lost: ~20% of requests time out.
        XCTAssertEqual(outcome.metrics["timeout_rate"]!, 0.2, accuracy: 0.03)
        XCTAssertTrue(outcome.passed, "\(outcome.checks)")
    }

    func testCrashWithoutRestartFailsLiveness() throws {
        let outcome = try run(scenario(faults: "  - { at: 3s, crash: station(svc) }"))
        let liveness = outcome.checks.first { $0.name == "liveness_after_heal" }!
        XCTAssertFalse(liveness.passed)
        XCTAssertTrue(outcome.checks.first { $0.name == "requests_accounted" }!.passed)
        XCTAssertFalse(outcome.passed)
    }

    func testPauseHoldsRequestsAndDeliversThemOnResume() throws {
        let outcome = try run(scenario(faults: "  - { at: 3s, pause: n1, for: 400ms }", timeout: "2s"))
        XCTAssertEqual(outcome.metrics["timeout_rate"], 0)
        let latency = outcome.histograms["request_latency"]!
        // A request that arrived just as the pause began waited the whole 400 ms.
        XCTAssertGreaterThan(latency.max / 1e6, 395)
        XCTAssertLessThan(latency.max / 1e6, 450)
        XCTAssertTrue(outcome.passed, "\(outcome.checks)")
    }

    func testPartitionBetweenClientAndStationLosesRequests() throws {
        let outcome = try run(scenario(faults: "  - { at: 2s, partition: [[client], [n1, n2, n3]], for: 1s }"))
        XCTAssertEqual(outcome.metrics["timeout_rate"]!, 0.1, accuracy: 0.02)
        XCTAssertTrue(outcome.passed, "\(outcome.checks)")
    }

    func testPartitionAmongServersDoesNotTouchClients() throws {
        let outcome = try run(scenario(faults: "  - { at: 2s, partition: [[n1], [n2, n3]], for: 1s }"))
        XCTAssertEqual(outcome.metrics["timeout_rate"], 0)
    }

    func testSlowdownRaisesLatencyWhileInForce() throws {
        let base = try run(scenario(faults: "  []"))
        let slowed = try run(scenario(faults: "  - { at: 0s, slowdown: { station: svc, factor: 3 }, for: 10s }"))
        let baseMean = base.metrics["latency_mean_ms"]!
        let slowMean = slowed.metrics["latency_mean_ms"]!
        XCTAssertGreaterThan(slowMean, baseMean + 1.5)
    }

    func testQueueLimitRejectsWhenOverloaded() throws {
        let yaml = """
            name: overload
            duration: 5s
            cluster: { nodes: 1 }
            stations: [ { name: svc, node: n1, servers: 1, service: { constant: 2ms }, queue_limit: 10 } ]
            workload: [ { requests: { station: svc, rate: 1000/s, timeout: 1s } } ]
            checks: [requests_accounted]
            """
        let outcome = try run(yaml)
        // Capacity 500/s against 1000/s offered: about half is rejected.
        XCTAssertEqual(outcome.metrics["rejection_rate"]!, 0.5, accuracy: 0.05)
        XCTAssertEqual(outcome.metrics["throughput_per_s"]!, 500, accuracy: 10)
        XCTAssertTrue(outcome.passed)
    }

    func testDuplicatedMessagesAreCountedButNeverFinishARequestTwice() throws {
        let outcome = try run(scenario(faults: "  []", network: "{ latency: 1ms, duplicate: 10% }"))
        XCTAssertGreaterThan(outcome.metrics["late_or_duplicate_answers"]!, 0)
        XCTAssertTrue(outcome.passed, "\(outcome.checks)")
    }

    func testLossyNetworkTimesOutTheLostShare() throws {
        let outcome = try run(scenario(faults: "  []", network: "{ latency: 1ms, loss: 5% }"))
        // Request or response lost: 1 − 0.95² ≈ 9.75%.
        XCTAssertEqual(outcome.metrics["timeout_rate"]!, 0.0975, accuracy: 0.015)
    }

    func testNemesisInjectsFaultsAndHealsThem() throws {
        let yaml = scenario(faults: "  []", extra: """
            nemesis: { interval: 2s, duration: 500ms, start: 1s, stop: 7s, actions: [crash, pause, partition, delay, loss] }
            """)
        let first = try run(yaml, seed: 3)
        let second = try run(yaml, seed: 3)
        XCTAssertEqual(first.traceHash, second.traceHash)
        XCTAssertGreaterThan(first.metrics["error_rate"]! + first.metrics["latency_mean_ms"]!, 0)
        XCTAssertTrue(first.checks.first { $0.name == "liveness_after_heal" }!.passed, "\(first.checks)")
    }

    func testSameSeedSameHashOtherSeedOtherHash() throws {
        let yaml = scenario(faults: "  - { at: 3s, crash: random-node, for: 1s }")
        let a = try run(yaml, seed: 11)
        let b = try run(yaml, seed: 11)
        let c = try run(yaml, seed: 12)
        XCTAssertEqual(a.traceHash, b.traceHash)
        XCTAssertEqual(a.events, b.events)
        XCTAssertEqual(a.metrics, b.metrics)
        XCTAssertNotEqual(a.traceHash, c.traceHash)
    }
}
