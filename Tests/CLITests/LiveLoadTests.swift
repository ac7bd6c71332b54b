import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The live acceptance test: three broker processes on loopback, publishes with `ack: all`, the
/// stream leader SIGKILLed mid-run, a new leader taking over, and a read-back that must find
/// every acknowledged message in producer order — all through `faultline load`.
final class LiveLoadTests: XCTestCase {
    private func scenario(in dir: URL, extra: String = "") throws -> URL {
        let url = dir.appendingPathComponent("live.yaml")
        try """
        name: live-failover-test
        duration: 6s
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
          - consume: { stream: orders, poll: 5ms, max_batch: 200 }
        faults:
          - { at: 2500ms, crash: leader(orders) }
          - { at: 4500ms, restart: crashed }
        checks: [no_acknowledged_loss, producer_order]
        live:
          connections: 2
          drain: 5s
        \(extra)
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testLeaderKilledMidRunLosesNoAcknowledgedMessage() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        // The live run alone: the summary's means are then the live run's (simulated seeds would mix in).
        let result = try CLI.run(["load", try scenario(in: dir).path, "--out", out.path, "--sim-seeds", "0"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("crash leader(orders) →"), result.stdout)

        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(summary["mode"] as? String, "live")
        let checks = try XCTUnwrap(summary["checks"] as? [String: [String: Any]])
        XCTAssertEqual(checks["no_acknowledged_loss"]?["passed"] as? Bool, true)
        XCTAssertEqual(checks["producer_order"]?["passed"] as? Bool, true)
        let metrics = try XCTUnwrap(summary["metrics"] as? [String: [String: Any]])
        // 6 s at 400/s: nearly everything must be acknowledged despite the failover.
        let acked = try XCTUnwrap(metrics["messages_acked"]?["mean"] as? Double)
        XCTAssertGreaterThan(acked, 2000)
        XCTAssertEqual(metrics["messages_lost"]?["mean"] as? Double, 0)
        // Publishing went on after the crash: a failover was measured, below the election bound.
        let failover = try XCTUnwrap(metrics["failover_time"]?["mean"] as? Double, "no failover measured")
        XCTAssertGreaterThan(failover, 0)
        XCTAssertLessThan(failover, 5000)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["read_back_entries"]?["mean"] as? Double), acked)
        // The consumer followed the leader through the failover and read everything committed.
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics["messages_consumed"]?["mean"] as? Double), acked)
        let endToEnd = try XCTUnwrap(metrics["end_to_end_latency"])
        XCTAssertGreaterThan(try XCTUnwrap(endToEnd["count"] as? Double), 2000)
        XCTAssertGreaterThan(try XCTUnwrap(endToEnd["p50"] as? Double), 0)

        // Everything the run started was stopped (by pid), and the logs were kept.
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf:
            out.appendingPathComponent("run-1-faultline/cluster.json"))) as? [String: Any])
        for node in try XCTUnwrap(state["nodes"] as? [[String: Any]]) {
            XCTAssertNil(node["pid"], "node \(node["name"] ?? "?") still recorded as running")
        }
        let log = try String(contentsOf: out.appendingPathComponent("run-1-faultline/logs/n1.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("broker listening"), log)

        // The report's timeline: the crash, the restart, and the leader moving away from the
        // crashed node (seen in the metadata), in time order.
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        let timeline = try XCTUnwrap(report.components(separatedBy: "## Timeline").dropFirst().first, report)
        let rows = timeline.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| t (s)") }
        let kinds = rows.map { $0.split(separator: "|")[1].trimmingCharacters(in: .whitespaces) }
        let crash = try XCTUnwrap(rows.firstIndex { $0.contains("| fault | crash leader(orders)") }, timeline)
        XCTAssertNotNil(rows.firstIndex { $0.contains("| fault | restart crashed") }, timeline)
        XCTAssertNotNil(rows[crash...].firstIndex { $0.contains("| leader | orders: ") }, "no leader change after the crash: \(timeline)")
        XCTAssertTrue(kinds.contains("metadata_leader"), timeline)
        let times = rows.compactMap { Double($0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(times, times.sorted(), "timeline out of order")
    }

    /// Liftbridge-style ingestion from the CLI: producers publish NATS requests on the stream's
    /// subject; the stream leader sequences, replicates and acks on the reply subject.
    func testPublishingThroughNATSIngestionSurvivesTheLeaderCrash() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let result = try CLI.run(["load", try scenario(in: dir).path, "--target", "faultline-nats", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any])
        let checks = try XCTUnwrap(summary["checks"] as? [String: [String: Any]])
        XCTAssertEqual(checks["no_acknowledged_loss"]?["passed"] as? Bool, true)
        XCTAssertEqual(checks["producer_order"]?["passed"] as? Bool, true)
        let metrics = try XCTUnwrap(summary["metrics"] as? [String: [String: Any]])
        XCTAssertGreaterThan(try XCTUnwrap(metrics["messages_acked"]?["mean"] as? Double), 1500)
        XCTAssertEqual(metrics["messages_lost"]?["mean"] as? Double, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("run-1-faultline-nats/nats").path))
    }

    func testClusterUpStatusDown() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try scenario(in: dir).path
        let folder = dir.appendingPathComponent("cluster").path
        let up = try CLI.run(["cluster", "up", scenario, "--out", folder])
        defer { _ = try? CLI.run(["cluster", "down", scenario, "--out", folder]) }
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        XCTAssertTrue(up.stdout.contains("metadata leader: n"), up.stdout)

        let status = try CLI.run(["cluster", "status", scenario, "--out", folder])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertEqual(status.stdout.components(separatedBy: "| yes |").count - 1, 3, status.stdout)
        XCTAssertTrue(status.stdout.contains("| orders | n"), status.stdout)

        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/cluster.json"))) as? [String: Any])
        let pids = try XCTUnwrap(state["nodes"] as? [[String: Any]]).compactMap { $0["pid"] as? Int32 }
        XCTAssertEqual(pids.count, 3)

        let down = try CLI.run(["cluster", "down", scenario, "--out", folder])
        XCTAssertEqual(down.status, 0, down.stderr)
        for pid in pids { XCTAssertNotEqual(kill(pid, 0), 0, "pid \(pid) survived cluster down") }
        let after = try CLI.run(["cluster", "status", scenario, "--out", folder])
        XCTAssertEqual(after.stdout.components(separatedBy: "| no |").count - 1, 3, after.stdout)
    }

    func testClusterUpWithNATSKeepsTheNATSServerUntilDown() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try scenario(in: dir, extra: "").path
        var text = try String(contentsOfFile: scenario, encoding: .utf8)
        text = text.replacingOccurrences(of: "  drain: 5s", with: "  drain: 5s\n  nats: true")
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("cluster").path
        let up = try CLI.run(["cluster", "up", scenario, "--out", folder])
        defer { _ = try? CLI.run(["cluster", "down", scenario, "--out", folder]) }
        XCTAssertEqual(up.status, 0, up.stdout + up.stderr)
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/cluster.json"))) as? [String: Any])
        let nats = try XCTUnwrap(state["nats"] as? [String: Any])
        let natsPids = try XCTUnwrap(nats["pids"] as? [Int32])
        XCTAssertEqual(natsPids.count, 1)
        // `cluster up` has exited; its nats-server must still run, and `down` must stop it.
        XCTAssertEqual(kill(natsPids[0], 0), 0, "nats-server died with `cluster up`")
        let status = try CLI.run(["cluster", "status", scenario, "--out", folder])
        XCTAssertTrue(status.stdout.contains("nats-server: pids \(natsPids[0])"), status.stdout)
        XCTAssertEqual(try CLI.run(["cluster", "down", scenario, "--out", folder]).status, 0)
        XCTAssertNotEqual(kill(natsPids[0], 0), 0, "nats-server survived `cluster down`")
    }

    func testUnsupportedLiveFaultIsBadInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try scenario(in: dir)
        var text = try String(contentsOf: url, encoding: .utf8)
        // A flipped bit at a crash has no live injector (slow fsync and fsync errors do).
        text = text.replacingOccurrences(of: "  - { at: 4500ms, restart: crashed }", with: "  - { at: 4500ms, disk: { node: n1, corrupt: 1% }, for: 1s }")
        try text.write(to: url, atomically: true, encoding: .utf8)
        let result = try CLI.run(["load", url.path, "--out", dir.appendingPathComponent("out").path])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("live.yaml:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("faults.disk"), result.stderr)
        XCTAssertTrue(result.stderr.contains("corrupt and torn_writes are simulator-only"), result.stderr)
    }
}

/// An interrupted chaos run (SIGINT to the driver alone, mid-partition) stops every process it
/// started and exits 130.
final class InterruptedRunTests: XCTestCase {
    func testSIGINTMidFaultLeavesNoProcessBehind() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try CLI.write("""
            name: interrupted-chaos
            duration: 30s
            warmup: 500ms
            cluster:
              nodes: 3
            broker:
              streams:
                - { name: orders, replication_factor: 3, min_isr: 2 }
              ack_policy: all
              fetch_interval: 2ms
              leader_timeout: 300ms
            workload:
              - publish: { stream: orders, rate: { constant: 200/s }, size: 256B, timeout: 2s, retries: 50 }
            faults:
              - { at: 1s, partition: leader(orders), for: 20s }
            live:
              connections: 1
            """, to: "chaos.yaml", in: dir)
        let out = dir.appendingPathComponent("out")
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["load", scenario, "--out", out.path, "--sim-seeds", "0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputCollector(pipe)
        try process.run()
        // Wait until the partition is in force, then interrupt the driver (not its process group).
        let deadline = Date().addingTimeInterval(60)
        while !output.text.contains("partition leader(orders) →") {
            guard Date() < deadline, process.isRunning else {
                process.terminate()
                return XCTFail("the partition never started: \(output.text)")
            }
            usleep(50_000)
        }
        let children = childPids(of: process.processIdentifier)
        XCTAssertEqual(children.count, 3, "three broker nodes run")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, output.text)
        XCTAssertTrue(output.text.contains("interrupted"), output.text)
        for pid in children {
            XCTAssertFalse(isAlive(pid), "node pid \(pid) outlived the interrupted run")
        }
        // Nothing else of this run is left either: no process has its folder on its command line.
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return cmdline.contains(out.path) && isAlive(pid)
        }
        XCTAssertEqual(leftovers, [])
    }

    private func childPids(of parent: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").dropFirst().first.flatMap { Int32($0) } == parent
        }
    }

    /// Running and not a zombie (a reaped or exited child).
    private func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }
}

/// Collects a child's output as it arrives.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            lock.lock(); data.append(chunk); lock.unlock()
        }
    }

    var text: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
