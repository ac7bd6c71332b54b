import Sim
import XCTest

/// The broker model end to end through the simulator (short runs: debug builds are slow;
/// the 200-seed acceptance runs and the swarm live in CI's release checks).
final class BrokerSimulationTests: XCTestCase {
    func scenario(fsync: String, faults: String, checks: String = "[no_acknowledged_loss, replicas_agree, hw_monotonic, one_leader_per_epoch, raft_election_safety, raft_log_matching, no_commit_below_min_isr, producer_order, liveness_after_heal]") -> String {
        """
        name: broker-test
        duration: 4s
        cluster:
          nodes: 3
          network: { latency: { lognormal: { median: 0.3ms, p99: 1ms } } }
          disk: { fsync: { uniform: [0.5ms, 2ms] } }
        broker:
          streams: [ { name: orders, replication_factor: 3, min_isr: 2 } ]
          ack_policy: all
          fsync: \(fsync)
        workload:
          - publish: { stream: orders, rate: 1000/s, size: 256B, timeout: 300ms, retries: 20 }
        faults: \(faults)
        checks: \(checks)
        """
    }

    func run(_ yaml: String, seed: UInt64 = 1) throws -> RunOutcome {
        var simulation = try Simulation(scenario: try loadScenario(yaml), seed: seed)
        return simulation.run()
    }

    func testSteadyStateReplicatesEverythingAndPassesEveryCheck() throws {
        let outcome = try run(scenario(fsync: "always", faults: "[]"))
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        XCTAssertGreaterThan(outcome.metrics["messages_acked"]!, 3_000)
        XCTAssertEqual(outcome.metrics["messages_lost"], 0)
        XCTAssertEqual(outcome.metrics["raft_elections"], 1)
        XCTAssertGreaterThan(outcome.histograms["publish_latency"]!.count, 3_000)
        XCTAssertGreaterThan(outcome.histograms["end_to_end_latency"]!.count, 3_000)
        XCTAssertGreaterThan(outcome.metrics["fsyncs"]!, 1_000)
    }

    /// Group commit (LogStore's, as on a live node): with 2 ms fsyncs a node can sync 500 times a
    /// second, fewer than the 1000 messages each replica writes; batching lets it keep up, and
    /// an acknowledgement waits for the leader's and a follower's batch.
    func testGroupCommitLetsSlowFsyncsKeepUp() throws {
        let yaml = scenario(fsync: "always", faults: "[]")
            .replacingOccurrences(of: "disk: { fsync: { uniform: [0.5ms, 2ms] } }", with: "disk: { fsync: 2ms }")
        let outcome = try run(yaml)
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        let acked = outcome.metrics["messages_acked"]!
        XCTAssertGreaterThan(acked, 3_500)
        // One fsync per log write on three replicas would be over 3 × acked (checkpoints and Raft aside).
        XCTAssertLessThan(outcome.metrics["fsyncs"]!, 1.5 * acked)
        XCTAssertGreaterThanOrEqual(outcome.histograms["publish_latency"]!.percentile(50), 4e6)
    }

    func testConsumersReadEveryCommittedMessageThroughAFailover() throws {
        let yaml = scenario(fsync: "always", faults: "[ { at: 2s, crash: leader(orders), for: 1s } ]")
            .replacingOccurrences(of: "retries: 20 }", with: "retries: 20 }\n  - consume: { stream: orders, poll: 5ms, max_batch: 100 }")
        let outcome = try run(yaml)
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        XCTAssertGreaterThanOrEqual(outcome.metrics["messages_consumed"]!, outcome.metrics["messages_acked"]!)
        XCTAssertGreaterThan(outcome.histograms["end_to_end_latency"]!.count, 3_000)
    }

    func testLeaderCrashFailsOverWithoutLosingAcknowledgedMessages() throws {
        let outcome = try run(scenario(fsync: "always", faults: "[ { at: 2s, crash: leader(orders), for: 1s } ]"))
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        XCTAssertEqual(outcome.histograms["failover_time"]!.count, 1)
        XCTAssertGreaterThan(outcome.metrics["stream_leader_changes"]!, 1)
    }

    /// With `client_connection_reset`, publishers learn of the crash at once (as live clients of a
    /// SIGKILLed process do) instead of waiting for their 2 s timeout: failover shrinks to the
    /// leader timeout plus the election, and no acknowledged message is lost either way.
    func testConnectionResetLetsPublishersFailOverBeforeTheirTimeout() throws {
        // No restart: a restarted old leader would redirect the publisher itself.
        let base = scenario(fsync: "always", faults: "[ { at: 1s, crash: leader(orders) } ]",
                            checks: "[no_acknowledged_loss, replicas_agree, one_leader_per_epoch, producer_order]")
            .replacingOccurrences(of: "timeout: 300ms", with: "timeout: 2s")
        let waiting = try run(base)
        let reset = try run(base.replacingOccurrences(of: "fsync: always", with: "fsync: always\n  client_connection_reset: true"))
        for outcome in [waiting, reset] {
            XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
            XCTAssertEqual(outcome.histograms["failover_time"]!.count, 1)
        }
        let slow = waiting.histograms["failover_time"]!.max / 1e6, fast = reset.histograms["failover_time"]!.max / 1e6
        XCTAssertLessThan(fast * 2, slow, "without the reset publishers wait out their timeout on the dead leader")
        XCTAssertLessThan(fast, 1000, "with it, the failover is the leader timeout plus an election")
        XCTAssertLessThan(reset.histograms["publish_latency"]!.percentile(99), waiting.histograms["publish_latency"]!.percentile(99))
    }

    func testPowerLossWithLazyFsyncLosesAcknowledgedMessagesButNotWithFsyncAlways() throws {
        let lazy = try run(scenario(fsync: "{ interval: 1s }", faults: "[ { at: 2.5s, crash: all, for: 500ms } ]"))
        XCTAssertGreaterThan(lazy.metrics["messages_lost"]!, 0)
        XCTAssertFalse(lazy.checks.first { $0.name == "no_acknowledged_loss" }!.passed)
        let safe = try run(scenario(fsync: "always", faults: "[ { at: 2.5s, crash: all, for: 500ms } ]"))
        XCTAssertEqual(safe.metrics["messages_lost"], 0)
        XCTAssertTrue(safe.passed, "\(safe.checks.filter { !$0.passed })")
    }

    func testSameSeedSameTrace() throws {
        let yaml = scenario(fsync: "always", faults: "[ { at: 2s, crash: random-node, for: 500ms } ]")
        let a = try run(yaml, seed: 5)
        let b = try run(yaml, seed: 5)
        XCTAssertEqual(a.traceHash, b.traceHash)
        XCTAssertEqual(a.metrics, b.metrics)
    }
}
