import Foundation
import XCTest

/// `--plan`, `run-jobs` and `merge` through the binary: shards run in any order merge into the
/// folder a local sweep writes, byte for byte; a changed scenario, a missing shard or a foreign
/// plan's shard is refused with exit 2.
final class DistributedCommandTests: XCTestCase {
    let sweep = ["sweep", "Scenarios/quickstart.yaml", "--vary", "stations.0.servers=3,4", "--seeds", "3",
                 "--set", "duration=3s", "--set", "warmup=0s", "--set", "faults=[]"]

    func testShardsMergeIntoWhatALocalSweepWrites() throws {
        let dir = try CLI.temporaryDirectory()
        let local = try CLI.run(sweep + ["--out", dir.appendingPathComponent("local").path])
        XCTAssertEqual(local.status, 0, local.stderr)
        let plan = dir.appendingPathComponent("plan.json").path
        let planned = try CLI.run(sweep + ["--plan", plan])
        XCTAssertEqual(planned.status, 0, planned.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("local/plan.json").path))
        let shards = (0..<4).map { dir.appendingPathComponent("shard\($0)").path }
        for index in [2, 0, 3, 1] {
            let result = try CLI.run(["run-jobs", plan, "--shard", "\(index)/4", "--out", shards[index], "--jobs", "2"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let merged = dir.appendingPathComponent("merged").path
        let partial = try CLI.run(["merge", merged] + shards.dropLast())
        XCTAssertEqual(partial.status, 2)
        XCTAssertTrue(partial.stderr.contains("missing shards 3 of 4"), partial.stderr)
        let result = try CLI.run(["merge", merged] + shards.reversed())
        XCTAssertEqual(result.status, 0, result.stderr)
        for file in ["summary.json", "report.md"] {
            let a = try Data(contentsOf: dir.appendingPathComponent("local/\(file)"))
            let b = try Data(contentsOf: URL(fileURLWithPath: merged + "/" + file))
            XCTAssertEqual(a, b, "\(file) of the merge differs from the local sweep's")
        }
    }

    func testAChangedScenarioOrAForeignShardIsRefused() throws {
        let dir = try CLI.temporaryDirectory()
        let source = try String(contentsOf: CLI.packageRoot.appendingPathComponent("Scenarios/quickstart.yaml"), encoding: .utf8)
        let scenario = try CLI.write(source, to: "q.yaml", in: dir)
        let plan = dir.appendingPathComponent("plan.json").path
        XCTAssertEqual(try CLI.run(["run", scenario, "--seeds", "2", "--set", "duration=3s", "--set", "warmup=0s", "--plan", plan]).status, 0)
        let other = dir.appendingPathComponent("other.json").path
        XCTAssertEqual(try CLI.run(["run", scenario, "--seeds", "3", "--set", "duration=3s", "--set", "warmup=0s", "--plan", other]).status, 0)
        let foreign = dir.appendingPathComponent("foreign").path
        XCTAssertEqual(try CLI.run(["run-jobs", other, "--shard", "0/1", "--out", foreign]).status, 0)
        let refused = try CLI.run(["merge", dir.appendingPathComponent("m").path, foreign, "--plan", plan])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("not of this plan"), refused.stderr)

        try (source + "\n# edited after planning\n").write(toFile: scenario, atomically: true, encoding: .utf8)
        let changed = try CLI.run(["run-jobs", plan, "--shard", "0/1", "--out", dir.appendingPathComponent("s").path])
        XCTAssertEqual(changed.status, 2)
        XCTAssertTrue(changed.stderr.contains("is not the scenario the plan was written for"), changed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("s/results.sqlite").path))

        var text = try String(contentsOfFile: plan, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"seed\":2", with: "\"seed\":7")
        try text.write(toFile: plan, atomically: true, encoding: .utf8)
        let edited = try CLI.run(["run-jobs", plan, "--shard", "0/1", "--out", dir.appendingPathComponent("e").path])
        XCTAssertEqual(edited.status, 2)
        XCTAssertTrue(edited.stderr.contains("changed after it was written"), edited.stderr)
    }
}
