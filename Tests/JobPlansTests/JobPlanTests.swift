import Foundation
import JobPlans
import Results
import XCTest

final class JobPlanTests: XCTestCase {
    static func plan(seeds: Int, axis: [String] = ["1", "2"]) -> JobPlan {
        let jobs = axis.flatMap { value in (1...UInt64(seeds)).map { JobPlan.Job(parameters: ["cluster.nodes": value], seed: $0) } }
        return JobPlan(label: "sweep", scenario: .init(path: "s.yaml", hash: "00000000000000aa", name: "s"),
                       faultline: .init(version: "test", hash: "00000000000000bb"), overrides: ["duration=1s"],
                       axes: [.init(key: "cluster.nodes", values: axis)], jobs: jobs, properties: ["faultline_version": "test"])
    }

    func testShardRangesCoverEveryJobOnceWhateverTheCount() {
        for jobs in [1, 7, 200] {
            let plan = Self.plan(seeds: jobs, axis: ["1"])
            for count in [1, 2, 3, 8, jobs, jobs + 5] {
                let ranges = (0..<count).map { plan.jobRange(shard: $0, of: count) }
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<jobs), "\(jobs) jobs in \(count) shards")
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
            }
        }
    }

    func testTheIDCoversTheContentAndAnEditedPlanIsRefused() throws {
        let plan = Self.plan(seeds: 3)
        XCTAssertEqual(try JobPlan.decode(plan.encoded()), plan)
        var other = Self.plan(seeds: 3)
        other.jobs[4].seed = 99
        XCTAssertNotEqual(other.contentID(), plan.id)
        let edited = try String(decoding: plan.encoded(), as: UTF8.self).replacingOccurrences(of: "\"seed\":3", with: "\"seed\":4")
        XCTAssertThrowsError(try JobPlan.decode(Data(edited.utf8))) { error in
            guard case PlanError.idMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try JobPlan.decode(Data("{}".utf8)))
    }

    func testAssignmentsFollowTheAxesOrder() {
        var plan = Self.plan(seeds: 1)
        plan.axes.append(.init(key: "a.b", values: ["x"]))
        XCTAssertEqual(plan.assignments(for: .init(parameters: ["a.b": "x", "cluster.nodes": "2"], seed: 1)),
                       ["cluster.nodes=2", "a.b=x"])
    }

    func testShardSpecParsing() {
        XCTAssertEqual(ShardSpec("3/8"), ShardSpec(index: 3, count: 8))
        for bad in ["8/8", "-1/2", "1/0", "1", "a/b", "1/2/3"] { XCTAssertNil(ShardSpec(bad), bad) }
    }
}

final class ShardMergeTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobplans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func run(_ job: JobPlan.Job) -> RunRecord {
        RunRecord(scenario: "s", mode: "sim", parameters: job.parameters, seed: job.seed, startedAt: "", wallSeconds: 0.5,
                  events: job.seed, traceHash: "h\(job.seed)", passed: true, metrics: ["m": Double(job.seed)],
                  metricUnits: ["m": "ms"], histograms: [:], checks: [], violations: [])
    }

    /// Writes shard `index` of `count` as run-jobs would, its runs in the given order.
    @discardableResult
    func writeShard(_ plan: JobPlan, _ index: Int, of count: Int, planID: String? = nil, runs: [RunRecord]? = nil) throws -> String {
        let path = folder.appendingPathComponent("shard-\(index)-\(UUID().uuidString).sqlite").path
        let store = try ResultsStore(path: path)
        var properties = ShardProperty.properties(plan: plan, shard: ShardSpec(index: index, count: count))
        if let planID { properties[ShardProperty.plan] = planID }
        try store.setProperties(properties)
        try store.append(contentsOf: runs ?? plan.jobs[plan.jobRange(shard: index, of: count)].reversed().map(run))
        return path
    }

    func testMergesInPlanOrderWhateverOrderShardsAndRunsArriveIn() throws {
        let plan = JobPlanTests.plan(seeds: 5)
        let paths = try (0..<3).reversed().map { try writeShard(plan, $0, of: 3) }
        let merge = try ShardMerge(plan: plan, databases: paths)
        let merged = try (0..<merge.shardCount).flatMap { try merge.runs(ofShard: $0).runs }
        XCTAssertEqual(merged.map { JobPlan.Job(parameters: $0.parameters, seed: $0.seed) }, plan.jobs)
        XCTAssertTrue(merge.duplicates.isEmpty)
    }

    func testARepeatedShardIsTakenOnce() throws {
        let plan = JobPlanTests.plan(seeds: 4)
        var paths = try (0..<2).map { try writeShard(plan, $0, of: 2) }
        paths.append(try writeShard(plan, 1, of: 2))
        let merge = try ShardMerge(plan: plan, databases: paths)
        XCTAssertEqual(merge.duplicates.count, 1)
        XCTAssertEqual(try (0..<2).flatMap { try merge.runs(ofShard: $0).runs }.count, plan.jobs.count)
    }

    func testRefusesMissingForeignAndIncompleteShards() throws {
        let plan = JobPlanTests.plan(seeds: 4)
        let first = try writeShard(plan, 0, of: 3)
        let second = try writeShard(plan, 1, of: 3)
        XCTAssertThrowsError(try ShardMerge(plan: plan, databases: [first, second])) {
            XCTAssertEqual($0 as? MergeError, .missingShards([2], of: 3))
        }
        let foreign = try writeShard(plan, 2, of: 3, planID: "0123456789abcdef")
        XCTAssertThrowsError(try ShardMerge(plan: plan, databases: [first, second, foreign])) {
            guard case MergeError.otherPlan = $0 else { return XCTFail("\($0)") }
        }
        // Shard 2 with one of its runs missing, then with one run too many.
        var jobs = Array(plan.jobs[plan.jobRange(shard: 2, of: 3)])
        let short = try writeShard(plan, 2, of: 3, runs: jobs.dropLast().map(run))
        XCTAssertThrowsError(try ShardMerge(plan: plan, databases: [first, second, short]).runs(ofShard: 2)) {
            guard case MergeError.missingRun = $0 else { return XCTFail("\($0)") }
        }
        jobs.append(jobs[0])
        let long = try writeShard(plan, 2, of: 3, runs: jobs.map(run))
        XCTAssertThrowsError(try ShardMerge(plan: plan, databases: [first, second, long]).runs(ofShard: 2)) {
            XCTAssertEqual($0 as? MergeError, .extraRuns(path: long, count: 1))
        }
        let plain = folder.appendingPathComponent("plain.sqlite").path
        try ResultsStore(path: plain).append(run(plan.jobs[0]))
        XCTAssertThrowsError(try ShardMerge(plan: plan, databases: [plain])) {
            XCTAssertEqual($0 as? MergeError, .notAShard(path: plain))
        }
    }
}
