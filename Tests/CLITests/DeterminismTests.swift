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

    /// Replays one seed in two processes, each writing a trace: both must succeed and agree on
    /// everything they print (trace hash and metrics) but the trace file's name, and write
    /// byte-identical traces of substantial size. Returns the trace and the first output.
    func replayTwiceInSeparateProcesses(_ scenarioPath: String, _ arguments: [String],
                                        file: StaticString = #filePath, line: UInt = #line) throws -> (trace: String, output: String) {
        let dir = try CLI.temporaryDirectory()
        let args = ["replay", CLI.packageRoot.appendingPathComponent(scenarioPath).path] + arguments
        let first = try CLI.run(args + ["--trace", dir.appendingPathComponent("1.jsonl").path])
        let second = try CLI.run(args + ["--trace", dir.appendingPathComponent("2.jsonl").path])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr, file: file, line: line)
        func withoutTracePath(_ out: String) -> String { out.split(separator: "\n").filter { !$0.hasPrefix("trace:") }.joined(separator: "\n") }
        XCTAssertNotNil(hashLine(first.stdout), file: file, line: line)
        XCTAssertEqual(withoutTracePath(first.stdout), withoutTracePath(second.stdout), file: file, line: line)
        let a = try Data(contentsOf: dir.appendingPathComponent("1.jsonl"))
        XCTAssertGreaterThan(a.count, 100_000, file: file, line: line)
        XCTAssertEqual(a, try Data(contentsOf: dir.appendingPathComponent("2.jsonl")), file: file, line: line)
        return (String(decoding: a, as: UTF8.self), first.stdout)
    }

    func testReplicationScenarioIsDeterministicAcrossProcesses() throws {
        // Raft, stream replicas, disks, crashes and restarts: the broker model too must give
        // identical traces in separate processes.
        let run = try replayTwiceInSeparateProcesses("Scenarios/replication/kip101-restart.yaml", [
            "--seed", "3", "--set", "duration=10s", "--set", "faults.0.at=4s", "--set", "faults.1.at=4.02s",
            "--set", "faults.2.at=4.02s"])
        XCTAssertTrue(run.trace.contains("\"message\":\"fetch\""))
    }

    func testOAuthScenarioIsDeterministicAcrossProcesses() throws {
        // Validators, tokeninfo, JWKS fetches, token refreshes and key rotation with faults:
        // the OAuth model too must give identical traces in separate processes.
        let run = try replayTwiceInSeparateProcesses("Scenarios/oauth/key-rotation.yaml", [
            "--seed", "5", "--set", "duration=40s", "--set", "faults.1.at=30s", "--set", "faults.2.at=32s",
            "--set", "workload.0.calls.rate=30/s", "--set", "auth.strategy=hybrid"])
        XCTAssertTrue(run.trace.contains("\"kind\":\"keys_reply\""))
    }

    func testAccountsScenarioIsDeterministicAcrossProcesses() throws {
        // A generated organisation, a random shuffle-shard placement, a region outage in the
        // request path, and the end-of-run account analysis: the same traces and metrics.
        let run = try replayTwiceInSeparateProcesses("Scenarios/accounts/region-outage.yaml", [
            "--seed", "3", "--set", "accounts.strategy=shuffle-shard", "--set", "duration=15s",
            "--set", "faults.0.at=5s", "--set", "faults.0.for=5s"])
        XCTAssertTrue(run.output.contains("same_shard_fraction"), run.output)
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
