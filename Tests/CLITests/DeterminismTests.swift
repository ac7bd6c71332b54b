import Foundation
import XCTest

/// The same scenario and seed, run in two separate processes, must produce the same trace
/// hash and byte-identical trace files; Swift randomises `Dictionary`/`Set` order per
/// process, so this is what catches a hash-order dependence.
final class DeterminismTests: XCTestCase {
    func hashLine(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.contains("trace hash") }.map(String.init)
    }

    func testSameSeedInTwoProcessesGivesIdenticalTraces() throws {
        let dir = try CLI.temporaryDirectory()
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/quickstart.yaml").path
        let first = try CLI.run(["replay", scenario, "--seed", "7", "--trace", dir.appendingPathComponent("a.jsonl").path])
        let second = try CLI.run(["replay", scenario, "--seed", "7", "--trace", dir.appendingPathComponent("b.jsonl").path])
        let other = try CLI.run(["replay", scenario, "--seed", "8", "--trace", dir.appendingPathComponent("c.jsonl").path])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(second.status, 0, second.stderr)
        let hashA = try XCTUnwrap(hashLine(first.stdout))
        XCTAssertEqual(hashA, hashLine(second.stdout))
        XCTAssertNotEqual(hashA, hashLine(other.stdout))

        let a = try Data(contentsOf: dir.appendingPathComponent("a.jsonl"))
        let b = try Data(contentsOf: dir.appendingPathComponent("b.jsonl"))
        let c = try Data(contentsOf: dir.appendingPathComponent("c.jsonl"))
        XCTAssertGreaterThan(a.count, 100_000, "the trace should hold every event")
        XCTAssertEqual(a, b, "same seed, different processes: trace files differ")
        XCTAssertNotEqual(a, c)
        // Every line is a JSON object with virtual time and kind.
        let firstLine = try XCTUnwrap(String(decoding: a, as: UTF8.self).split(separator: "\n").first)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any])
        XCTAssertNotNil(object["t"])
        XCTAssertNotNil(object["kind"])
    }

    func testReplicationScenarioIsDeterministicAcrossProcesses() throws {
        // Raft, stream replicas, disks, crashes and restarts: the broker model too must give
        // identical traces in separate processes.
        let dir = try CLI.temporaryDirectory()
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/replication/kip101-restart.yaml").path
        let args = ["replay", scenario, "--seed", "3", "--set", "duration=10s", "--set", "faults.0.at=4s",
                    "--set", "faults.1.at=4.02s", "--set", "faults.2.at=4.02s"]
        let first = try CLI.run(args + ["--trace", dir.appendingPathComponent("r1.jsonl").path])
        let second = try CLI.run(args + ["--trace", dir.appendingPathComponent("r2.jsonl").path])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertEqual(hashLine(first.stdout), hashLine(second.stdout))
        let a = try Data(contentsOf: dir.appendingPathComponent("r1.jsonl"))
        XCTAssertGreaterThan(a.count, 100_000)
        XCTAssertEqual(a, try Data(contentsOf: dir.appendingPathComponent("r2.jsonl")))
        XCTAssertTrue(String(decoding: a, as: UTF8.self).contains("\"message\":\"fetch\""))
    }

    func testOAuthScenarioIsDeterministicAcrossProcesses() throws {
        // Validators, tokeninfo, JWKS fetches, token refreshes and key rotation with faults:
        // the OAuth model too must give identical traces in separate processes.
        let dir = try CLI.temporaryDirectory()
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/oauth/key-rotation.yaml").path
        let args = ["replay", scenario, "--seed", "5", "--set", "duration=40s", "--set", "faults.1.at=30s",
                    "--set", "faults.2.at=32s", "--set", "workload.0.calls.rate=30/s", "--set", "auth.strategy=hybrid"]
        let first = try CLI.run(args + ["--trace", dir.appendingPathComponent("o1.jsonl").path])
        let second = try CLI.run(args + ["--trace", dir.appendingPathComponent("o2.jsonl").path])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertEqual(hashLine(first.stdout), hashLine(second.stdout))
        let a = try Data(contentsOf: dir.appendingPathComponent("o1.jsonl"))
        XCTAssertGreaterThan(a.count, 100_000)
        XCTAssertEqual(a, try Data(contentsOf: dir.appendingPathComponent("o2.jsonl")))
        XCTAssertTrue(String(decoding: a, as: UTF8.self).contains("\"kind\":\"keys_reply\""))
    }

    func testAccountsScenarioIsDeterministicAcrossProcesses() throws {
        // A generated organisation, a random shuffle-shard placement, a region outage in the
        // request path, and the end-of-run account analysis: the same traces and metrics.
        let dir = try CLI.temporaryDirectory()
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/accounts/region-outage.yaml").path
        let args = ["replay", scenario, "--seed", "3", "--set", "accounts.strategy=shuffle-shard", "--set", "duration=15s",
                    "--set", "faults.0.at=5s", "--set", "faults.0.for=5s"]
        let first = try CLI.run(args + ["--trace", dir.appendingPathComponent("a1.jsonl").path])
        let second = try CLI.run(args + ["--trace", dir.appendingPathComponent("a2.jsonl").path])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        // Everything but the line naming the trace file: metrics and trace hash.
        func withoutTracePath(_ out: String) -> String { out.split(separator: "\n").filter { !$0.hasPrefix("trace:") }.joined(separator: "\n") }
        XCTAssertEqual(withoutTracePath(first.stdout), withoutTracePath(second.stdout))
        XCTAssertTrue(first.stdout.contains("same_shard_fraction"), first.stdout)
        let a = try Data(contentsOf: dir.appendingPathComponent("a1.jsonl"))
        XCTAssertGreaterThan(a.count, 100_000)
        XCTAssertEqual(a, try Data(contentsOf: dir.appendingPathComponent("a2.jsonl")))
    }

    func testAHashOrderDependenceIsCaught() throws {
        // The hidden flag folds `Set` iteration order into the trace: two processes must
        // disagree, which is exactly what the test above would then report.
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/quickstart.yaml").path
        let args = ["replay", scenario, "--seed", "7", "--set", "duration=3s", "--debug-hash-order"]
        let first = try CLI.run(args)
        let second = try CLI.run(args)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertNotEqual(hashLine(first.stdout), hashLine(second.stdout))
    }
}
