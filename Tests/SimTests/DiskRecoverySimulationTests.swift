import Sim
import XCTest

/// A simulated broker recovers its disk with the live broker's code (LogStore): the disk faults
/// the simulator injects at a crash — a flipped bit, a torn write — are caught by the record CRC
/// and the log is cut there, and with `fsync: always` no acknowledged message is lost across it.
final class DiskRecoverySimulationTests: XCTestCase {
    func run(disk: String, rate: Int = 500, seed: UInt64 = 1) throws -> RunOutcome {
        let yaml = """
            name: disk-recovery
            duration: 3s
            cluster:
              nodes: 3
              network: { latency: { lognormal: { median: 0.3ms, p99: 1ms } } }
              disk: { fsync: { uniform: [0.5ms, 2ms] }, \(disk) }
            broker:
              streams: [ { name: orders, replication_factor: 3, min_isr: 2 } ]
              ack_policy: all
              truncation: leader-epoch
              fsync: always
            workload:
              - publish: { stream: orders, rate: \(rate)/s, size: 256B, timeout: 300ms, retries: 20 }
            faults: [ { at: 1.5s, crash: n2, for: 300ms } ]
            checks: [no_acknowledged_loss, replicas_agree, hw_monotonic, one_leader_per_epoch, raft_log_matching, producer_order, liveness_after_heal]
            """
        var simulation = try Simulation(scenario: try loadScenario(yaml), seed: seed)
        return simulation.run()
    }

    func testAFlippedBitCutsTheLogOnRecoveryWithoutLosingAcknowledgedMessages() throws {
        // Without torn writes the synced log ends at a record boundary: only the flip (one bit
        // anywhere in n2's files at its crash, nearly always in the stream log) can fail a CRC.
        let outcome = try run(disk: "corruption: 1")
        XCTAssertGreaterThanOrEqual(outcome.metrics["log_cuts_on_recovery"]!, 1, "the flipped record was detected")
        XCTAssertGreaterThan(outcome.metrics["log_bytes_cut_on_recovery"]!, 0)
        XCTAssertEqual(outcome.metrics["messages_lost"], 0)
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")

        let clean = try run(disk: "corruption: 0")
        XCTAssertEqual(clean.metrics["log_cuts_on_recovery"], 0, "a clean crash cuts nothing")
    }

    func testATornWriteIsCutOnRecoveryWithoutLosingAcknowledgedMessages() throws {
        // At 2000 messages/s a few records are always waiting for the fsync in flight: the
        // unsynced tail a crash tears.
        var cut = false
        for seed in UInt64(1)...3 where !cut {
            let outcome = try run(disk: "torn_writes: true", rate: 2000, seed: seed)
            XCTAssertEqual(outcome.metrics["messages_lost"], 0, "seed \(seed)")
            XCTAssertTrue(outcome.passed, "seed \(seed): \(outcome.checks.filter { !$0.passed })")
            cut = outcome.metrics["log_cuts_on_recovery"]! > 0
        }
        XCTAssertTrue(cut, "a tail torn inside a record is cut by recovery")
    }
}
