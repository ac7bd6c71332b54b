import Foundation
import XCTest

final class CommandTests: XCTestCase {
    var quickstart: String { CLI.packageRoot.appendingPathComponent("Scenarios/quickstart.yaml").path }

    func testRunWritesTheThreeOutputsWithContractKeys() throws {
        let dir = try CLI.temporaryDirectory().appendingPathComponent("out")
        let result = try CLI.run(["run", quickstart, "--seeds", "3", "--out", dir.path, "--set", "duration=8s"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("results: \(dir.path)"))
        for file in ["results.sqlite", "summary.json", "report.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any])
        for key in ["scenario", "mode", "seeds", "metrics", "checks", "slos", "runs"] {
            XCTAssertNotNil(summary[key], "summary.json lacks \(key)")
        }
        XCTAssertEqual(summary["mode"] as? String, "sim")
        XCTAssertEqual(summary["seeds"] as? [Int], [1, 2, 3])
        let runs = try XCTUnwrap(summary["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 3)
        for run in runs {
            XCTAssertEqual((run["trace_hash"] as? String)?.count, 16)
            XCTAssertGreaterThan(run["events"] as? Int ?? 0, 1000)
        }
        let metrics = try XCTUnwrap(summary["metrics"] as? [String: Any])
        let latency = try XCTUnwrap(metrics["request_latency"] as? [String: Any])
        for key in ["n", "mean", "stddev", "ci95", "p50", "p99", "unit"] { XCTAssertNotNil(latency[key], key) }

        // report re-renders from SQLite alone.
        for format in ["md", "json", "csv"] {
            let report = try CLI.run(["report", dir.path, "--format", format])
            XCTAssertEqual(report.status, 0, report.stderr)
            XCTAssertFalse(report.stdout.isEmpty)
        }
        let json = try CLI.run(["report", dir.appendingPathComponent("results.sqlite").path, "--format", "json"])
        XCTAssertTrue(json.stdout.contains("\"trace_hash\""))
        // Refuses to overwrite earlier results.
        let again = try CLI.run(["run", quickstart, "--seeds", "1", "--out", dir.path])
        XCTAssertEqual(again.status, 2)
    }

    func testFailingCheckExitsOneAndPrintsTheReplayCommand() throws {
        let dir = try CLI.temporaryDirectory()
        let scenario = try CLI.write("""
            name: never-recovers
            duration: 4s
            cluster: { nodes: 1 }
            stations: [ { name: svc, node: n1, servers: 1, service: { exponential: 1ms } } ]
            workload: [ { requests: { station: svc, rate: 100/s, timeout: 50ms } } ]
            faults: [ { at: 1s, crash: n1 } ]
            checks: [liveness_after_heal]
            """, to: "bad.yaml", in: dir)
        let result = try CLI.run(["run", scenario, "--seeds", "2", "--out", dir.appendingPathComponent("out").path])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.contains("faultline replay \(scenario) --seed 1"), result.stdout)
    }

    func testSLOViolationExitsOne() throws {
        let dir = try CLI.temporaryDirectory()
        let result = try CLI.run(["run", quickstart, "--seeds", "1", "--set", "duration=4s",
                                  "--set", "slos.request_latency_p99=1ms", "--out", dir.appendingPathComponent("o").path])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
    }

    func testSweepRunsTheCartesianProductIntoGroups() throws {
        let dir = try CLI.temporaryDirectory().appendingPathComponent("sweep")
        let result = try CLI.run(["sweep", quickstart, "--vary", "stations.0.servers=3,4", "--vary", "workload.0.requests.rate=1000/s,1200/s",
                                  "--seeds", "2", "--set", "duration=4s", "--set", "faults=[]", "--out", dir.path, "--jobs", "2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any])
        let groups = try XCTUnwrap(summary["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.count, 4)
        XCTAssertEqual((summary["runs"] as? [Any])?.count, 8)
    }

    func testCompareRunsEachStrategySideBySideInOneReport() throws {
        // central-vs-local.yaml has `compare: {auth.strategy: [central, local, hybrid, none]}`:
        // one `run` gives one group per strategy, and the report puts them side by side.
        let dir = try CLI.temporaryDirectory().appendingPathComponent("compare")
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/oauth/central-vs-local.yaml").path
        let result = try CLI.run(["run", scenario, "--seeds", "2", "--set", "duration=2s", "--set", "warmup=500ms",
                                  "--out", dir.path, "--jobs", "2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any])
        let groups = try XCTUnwrap(summary["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.compactMap { ($0["parameters"] as? [String: String])?["auth.strategy"] },
                       ["central", "hybrid", "local", "none"])
        func mean(_ group: [String: Any], _ metric: String) -> Double? {
            ((group["metrics"] as? [String: Any])?[metric] as? [String: Any])?["mean"] as? Double
        }
        XCTAssertGreaterThan(mean(groups[0], "tokeninfo_requests") ?? 0, 1000)
        XCTAssertEqual(mean(groups[2], "tokeninfo_requests"), 0)
        let latency = try XCTUnwrap((groups[0]["metrics"] as? [String: Any])?["request_latency"] as? [String: Any])
        for key in ["p50", "p99", "p999", "p50_ci95", "p99_ci95", "p999_ci95"] { XCTAssertNotNil(latency[key], key) }
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("### request_latency by group"), report)
        XCTAssertTrue(report.contains("| metric | auth.strategy=central | auth.strategy=hybrid | auth.strategy=local | auth.strategy=none | unit |"), report)
    }

    func testValidateAcceptsShippedScenarios() throws {
        let result = try CLI.run(["validate", quickstart])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("ok"))
    }

    func testUsageErrorsExitTwo() throws {
        XCTAssertEqual(try CLI.run(["run"]).status, 2)
        XCTAssertEqual(try CLI.run(["run", quickstart, "--seeds", "0"]).status, 2)
        XCTAssertEqual(try CLI.run(["no-such-command"]).status, 2)
        XCTAssertEqual(try CLI.run(["report", "/nonexistent/folder"]).status, 2)
        XCTAssertEqual(try CLI.run(["--help"]).status, 0)
    }
}
