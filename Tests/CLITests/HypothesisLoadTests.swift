import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Chaos experiments with a steady-state hypothesis through `faultline load`: the method runs
/// only when the hypothesis holds before it, a deviation during it stops and heals it, the
/// rollbacks always run, and the exit code says whether the hypothesis held.
final class HypothesisLoadTests: XCTestCase {
    /// `crashFor`: the crash's `for:` (the method then lasts that long); nil: the method is the
    /// crash alone and only the rollback restarts the node.
    private func scenario(in dir: URL, crashFor: String?) throws -> URL {
        let url = dir.appendingPathComponent("hypothesis.yaml")
        try """
        name: hypothesis-test
        duration: 8s
        warmup: 500ms
        cluster:
          nodes: 3
        broker:
          streams:
            - { name: orders, replication_factor: 3, min_isr: 2 }
          ack_policy: all
          fsync: always
          fetch_interval: 2ms
          leader_timeout: 300ms
        workload:
          - publish: { stream: orders, rate: { constant: 400/s }, size: 256B, timeout: 2s, retries: 50 }
        faults:
          - { at: 3s, crash: leader(orders)\(crashFor.map { ", for: \($0)" } ?? "") }
        hypothesis:
          window: 1s
          every: 250ms
          recover_within: 4s
          steady_state:
            throughput_min: 300/s
            leader_present: true
            metrics:
              - { metric: faultline_broker_is_metadata_leader, of: sum, min: 1, max: 1 }
          during:
            publish_latency_max: 30s
        rollbacks:
          - restart: crashed
        checks: [no_acknowledged_loss, producer_order]
        live:
          connections: 2
          drain: 5s
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private struct Outcome {
        var status: Int32
        var stdout: String
        var checks: [String: [String: Any]]
        var metrics: [String: [String: Any]]
        /// (kind, description, nodes) of each timeline row.
        var timeline: [(kind: String, text: String, nodes: String)]
    }

    private func run(_ overrides: [String], crashFor: String? = nil) throws -> Outcome {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let result = try CLI.run(["load", try scenario(in: dir, crashFor: crashFor).path, "--out", out.path, "--sim-seeds", "0"]
                                 + overrides.flatMap { ["--set", $0] })
        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        let section = try XCTUnwrap(report.components(separatedBy: "## Timeline").dropFirst().first, report)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| t (s)") }.map { row in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return (kind: cells[1], text: cells[2], nodes: cells.count > 3 ? cells[3] : "")
        }
        return Outcome(status: result.status, stdout: result.stdout + result.stderr,
                       checks: try XCTUnwrap(summary["checks"] as? [String: [String: Any]]),
                       metrics: try XCTUnwrap(summary["metrics"] as? [String: [String: Any]]), timeline: rows)
    }

    func testHeldHypothesisRunsTheMethodRecoversAndRollsBack() throws {
        let o = try run([])
        XCTAssertEqual(o.status, 0, o.stdout)
        XCTAssertEqual(o.timeline.first { $0.kind == "probe" }?.text.hasPrefix("before: holds"), true, "\(o.timeline)")
        let crash = try XCTUnwrap(o.timeline.firstIndex { $0.kind == "fault" }, "\(o.timeline)")
        XCTAssertLessThan(try XCTUnwrap(o.timeline.firstIndex { $0.kind == "probe" }), crash, "the method waited for the hypothesis")
        // The method is the crash alone (no `for:`): nothing to read during it.
        XCTAssertNil(o.checks["hypothesis_during"])
        for check in ["hypothesis_before", "hypothesis_after", "no_acknowledged_loss", "isr_complete"] {
            XCTAssertEqual(o.checks[check]?["passed"] as? Bool, true, "\(check): \(o.stdout)")
        }
        XCTAssertEqual(o.metrics["method_aborted"]?["mean"] as? Double, 0)
        let recovery = try XCTUnwrap(o.metrics["hypothesis_recovery_ms"]?["mean"] as? Double)
        XCTAssertLessThanOrEqual(recovery, 4000)
        // The crash had no `for:`: only the rollback brought the node back, before the read-back.
        let rollback = try XCTUnwrap(o.timeline.first { $0.kind == "rollback" }, "\(o.timeline)")
        XCTAssertTrue(rollback.text.contains("restart crashed"), rollback.text)
        XCTAssertEqual(rollback.nodes, o.timeline[crash].nodes, "the rollback restarted the crashed node")
    }

    func testDeviationDuringTheMethodHealsAndExitsOne() throws {
        let o = try run(["hypothesis.during.publish_latency_max=1ms"], crashFor: "1s")
        XCTAssertEqual(o.status, 1, o.stdout)
        XCTAssertEqual(o.checks["hypothesis_before"]?["passed"] as? Bool, true, o.stdout)
        XCTAssertEqual(o.checks["hypothesis_during"]?["passed"] as? Bool, false, o.stdout)
        XCTAssertEqual(o.metrics["method_aborted"]?["mean"] as? Double, 1)
        let crash = try XCTUnwrap(o.timeline.first { $0.kind == "fault" }, "\(o.timeline)")
        // The abort's heal restarted the crashed node; the rollbacks still ran (finding nothing crashed).
        let abort = try XCTUnwrap(o.timeline.first { $0.kind == "abort" }, "\(o.timeline)")
        XCTAssertEqual(abort.nodes, crash.nodes)
        XCTAssertTrue(o.timeline.contains { $0.kind == "rollback" }, "\(o.timeline)")
        XCTAssertEqual(o.checks["isr_complete"]?["passed"] as? Bool, true, o.stdout)
        XCTAssertEqual(o.checks["no_acknowledged_loss"]?["passed"] as? Bool, true, o.stdout)
    }

    func testMissingSteadyStateInjectsNothingAndExitsOne() throws {
        let o = try run(["hypothesis.steady_state.throughput_min=100000/s"])
        XCTAssertEqual(o.status, 1, o.stdout)
        XCTAssertEqual(o.checks["hypothesis_before"]?["passed"] as? Bool, false, o.stdout)
        XCTAssertFalse(o.timeline.contains { $0.kind == "fault" || $0.kind == "nemesis" }, "a fault was injected: \(o.timeline)")
        XCTAssertFalse(o.stdout.contains("crash leader(orders) →"), o.stdout)
        XCTAssertTrue(o.timeline.contains { $0.kind == "rollback" }, "\(o.timeline)")
        XCTAssertEqual(o.metrics["method_aborted"]?["mean"] as? Double, 1)
        XCTAssertEqual(o.checks["no_acknowledged_loss"]?["passed"] as? Bool, true, o.stdout)
    }

    func testProbesTheTargetCannotAnswerAreBadInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // nats-server exposes neither the broker's ISR nor its /metrics: refused before anything starts.
        let result = try CLI.run(["load", try scenario(in: dir, crashFor: nil).path, "--target", "nats-jetstream",
                                  "--out", dir.appendingPathComponent("out").path, "--sim-seeds", "0"])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("hypothesis.yaml:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("sum(faultline_broker_is_metadata_leader) reads the Faultline broker's ISR and /metrics"), result.stderr)
    }

    /// `faultline chaos --cluster`: the same experiment against a cluster `cluster up` started;
    /// twice (the second run finds the first one's messages in the stream and ignores them),
    /// and the cluster keeps running — the node the crash hit restarted under a new pid.
    func testChaosAgainstARunningClusterLeavesItRunning() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try scenario(in: dir, crashFor: "1s").path
        let folder = dir.appendingPathComponent("cluster").path
        let up = try CLI.run(["cluster", "up", scenario, "--out", folder])
        defer { _ = try? CLI.run(["cluster", "down", scenario, "--out", folder]) }
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        func pids() throws -> [Int32] {
            let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/cluster.json"))) as? [String: Any])
            return try XCTUnwrap(state["nodes"] as? [[String: Any]]).compactMap { $0["pid"] as? Int32 }
        }
        let before = try pids()
        for round in 1...2 {
            let out = dir.appendingPathComponent("chaos-\(round)").path
            let result = try CLI.run(["chaos", scenario, "--cluster", folder + "/cluster.json", "--out", out])
            XCTAssertEqual(result.status, 0, "round \(round): " + result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains("crash leader(orders) →"), result.stdout)
            XCTAssertTrue(result.stdout.contains("undo crash leader(orders) →"), result.stdout)
            let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
            let metrics = try XCTUnwrap(summary["metrics"] as? [String: [String: Any]])
            XCTAssertEqual(metrics["messages_lost"]?["mean"] as? Double, 0)
            // The read-back holds this run's messages only (re-sends after the failover may store a
            // few twice: idempotent producers are issue 20), not the earlier run's 3,200.
            let entries = try XCTUnwrap(metrics["read_back_entries"]?["mean"] as? Double)
            let published = try XCTUnwrap(metrics["messages_published"]?["mean"] as? Double)
            let duplicated = try XCTUnwrap(metrics["messages_duplicated"]?["mean"] as? Double)
            XCTAssertEqual(entries, published + duplicated, "round \(round): entries of other producers counted")
            XCTAssertLessThan(duplicated, 100)
        }
        let after = try pids()
        XCTAssertEqual(after.count, 3)
        for pid in after { XCTAssertEqual(kill(pid, 0), 0, "node pid \(pid) is not running after the chaos runs") }
        XCTAssertNotEqual(Set(before), Set(after), "the crashed leader was restarted under a new pid")
        let down = try CLI.run(["cluster", "down", scenario, "--out", folder])
        XCTAssertEqual(down.status, 0, down.stderr)
        for pid in after { XCTAssertNotEqual(kill(pid, 0), 0, "pid \(pid) survived cluster down") }
    }

    func testChaosRefusesFaultsTheClusterCannotTake() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try scenario(in: dir, crashFor: "1s")
        let folder = dir.appendingPathComponent("cluster").path
        let up = try CLI.run(["cluster", "up", url.path, "--out", folder])
        defer { _ = try? CLI.run(["cluster", "down", url.path, "--out", folder]) }
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        let original = try String(contentsOf: url, encoding: .utf8)
        for (fault, why) in [("partition: leader(orders), for: 1s", "fault proxy"), ("clock: { node: n1, offset: 1s }, for: 1s", "libfaketime")] {
            try original.replacingOccurrences(of: "crash: leader(orders), for: 1s", with: fault).write(to: url, atomically: true, encoding: .utf8)
            let result = try CLI.run(["chaos", url.path, "--cluster", folder, "--out", dir.appendingPathComponent("out").path])
            XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
            XCTAssertTrue(result.stderr.contains("hypothesis.yaml:16:"), result.stderr)
            XCTAssertTrue(result.stderr.contains(why), result.stderr)
        }
    }

    /// A live clock fault: n1..n3 start under libfaketime and n1's wall clock runs an hour ahead
    /// for 2 s. The hypothesis reads it from the nodes' own /metrics: during the fault the
    /// largest wall clock must be ≥ now + 30 min (else the method is aborted: exit 1), and the
    /// steady state after it puts the clocks back within a minute of true time.
    func testClockOffsetReachesTheNodesWallClock() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try scenario(in: dir, crashFor: "1s")
        let now = Date().timeIntervalSince1970
        var text = try String(contentsOf: url, encoding: .utf8)
        text = text.replacingOccurrences(of: "crash: leader(orders), for: 1s", with: "clock: { node: n1, offset: 1h }, for: 2s")
        text = text.replacingOccurrences(of: "recover_within: 4s", with: "recover_within: 2s")
        text = text.replacingOccurrences(of: "    publish_latency_max: 30s", with: """
                publish_latency_max: 30s
                metrics:
                  - { metric: faultline_broker_wall_clock_seconds, of: max, min: \(Int(now) + 1800) }
            """)
        text = text.replacingOccurrences(of: "      - { metric: faultline_broker_is_metadata_leader, of: sum, min: 1, max: 1 }", with: """
                  - { metric: faultline_broker_is_metadata_leader, of: sum, min: 1, max: 1 }
                  - { metric: faultline_broker_wall_clock_seconds, of: max, max: \(Int(now) + 600) }
            """)
        try text.write(to: url, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let result = try CLI.run(["load", url.path, "--out", out.path, "--sim-seeds", "0"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("clock n1 → n1"), result.stdout)
        XCTAssertTrue(result.stdout.contains("hypothesis during: holds"), result.stdout)
    }
}
