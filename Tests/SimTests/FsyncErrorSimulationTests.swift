import Sim
import XCTest

/// `disk: {fsync_error: true}`: a node whose fsync fails stops itself (fail-stop, as the live
/// broker does), the stream fails over, and with `fsync: always` and `ack: all` nothing
/// acknowledged is lost; a node restarted while the fault holds fails again at its next fsync.
final class FsyncErrorSimulationTests: XCTestCase {
    func run(_ faults: String, seed: UInt64 = 1) throws -> RunOutcome {
        let yaml = """
            name: fsync-error
            duration: 4s
            cluster:
              nodes: 3
              disk: { fsync: { uniform: [0.5ms, 2ms] } }
            broker:
              streams: [ { name: orders, replication_factor: 3, min_isr: 2 } ]
              ack_policy: all
              fsync: always
            workload:
              - publish: { stream: orders, rate: 500/s, size: 256B, timeout: 300ms, retries: 20 }
            faults:
            \(faults)
            checks: [no_acknowledged_loss, producer_order]
            """
        var simulation = try Simulation(scenario: try loadScenario(yaml), seed: seed)
        return simulation.run()
    }

    func testTheLeaderStopsAtItsFirstFailedFsyncAndTheStreamFailsOver() throws {
        let outcome = try run("""
              - { at: 1s, disk: { node: leader(orders), fsync_error: true }, for: 1s }
              - { at: 2.5s, restart: crashed }
            """)
        XCTAssertEqual(outcome.metrics["messages_lost"], 0)
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        let failover = try XCTUnwrap(outcome.histograms["failover_time"], "the leader's fail-stop is a lost leader")
        XCTAssertGreaterThan(failover.count, 0)

        // The same schedule without the fault: nobody stops, no failover.
        let calm = try run("""
              - { at: 1s, disk: { node: leader(orders), fsync_error: false }, for: 1s }
              - { at: 2.5s, restart: crashed }
            """)
        XCTAssertGreaterThan(outcome.metrics["stream_leader_changes"]!, calm.metrics["stream_leader_changes"]!, "a new leader took over")
        XCTAssertEqual(calm.histograms["failover_time"]?.count ?? 0, 0)
        XCTAssertEqual(calm.metrics["node_fail_stops"], 0)
        XCTAssertEqual(outcome.metrics["node_fail_stops"], 1)
    }

    func testAFollowerWhoseDiskFailsIsOutUntilRestartedOnAHealthyDisk() throws {
        // n3 fails at its first fsync; restarted at 1.5s with the fault still in force it fails
        // again; restarted at 3s on a healed disk it stays up and the run ends healthy.
        let outcome = try run("""
              - { at: 500ms, disk: { node: n3, fsync_error: true }, for: 2s }
              - { at: 1.5s, restart: crashed }
              - { at: 3s, restart: crashed }
            """)
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        XCTAssertEqual(outcome.metrics["messages_lost"], 0)
        XCTAssertGreaterThanOrEqual(outcome.metrics["node_fail_stops"] ?? 0, 2, "stopped again after the restart under the fault")
    }
}
