import GRDB
import XCTest
import Stats
@testable import Results

final class ResultsStoreTests: XCTestCase {
    private struct Boom: Error {}

    func testRoundTripThroughReopenedDatabase() throws {
        let path = temporaryPath()
        let slos = [StoredSLO(name: "request_latency_p99", metric: "request_latency", statistic: "p99", limit: 50)]
        var runs = [
            makeRun(seed: 1, latency: latencies([(1.5, 99), (12, 1)])),
            makeRun(seed: UInt64.max, parameters: ["broker.ack_policy": "all", "cluster.nodes": "5"], passed: false,
                    checks: [CheckResult(name: "no_acknowledged_loss", passed: false, violations: 2),
                             CheckResult(name: "replicas_agree", passed: true, violations: 0)],
                    violations: [Violation(check: "no_acknowledged_loss", description: "offset 7 lost", virtualTimeNanos: 20_000_000_000),
                                 Violation(check: "no_acknowledged_loss", description: "offset 8 lost", virtualTimeNanos: nil)]),
            makeRun(seed: 1 << 63, errorRate: 0.25),
        ]
        runs[2].events = UInt64.max
        runs[2].metricUnits["unreported_metric"] = "ms"
        runs[2].histograms["empty_latency"] = LatencyHistogram()
        runs[2].metricUnits["empty_latency"] = "ms"  // histograms without a unit are stored as "ms"
        runs[0].timeline = [TimelineEvent(atNanos: 5_000_123_456, kind: "fault", description: "partition leader(orders)", nodes: ["n1"]),
                            TimelineEvent(atNanos: 5_300_000_000, kind: "leader", description: "orders: n1 → n2", nodes: ["n2"]),
                            TimelineEvent(atNanos: 9_000_000_000, kind: "undo", description: "undo partition leader(orders)")]
        do {
            let store = try ResultsStore(path: path)
            try store.setHeader(scenario: "leader-failover", mode: "sim", description: "Kill the leader.", slos: slos)
            for run in runs { try store.append(run) }
        }
        let loaded = try ResultsStore(path: path).load()
        XCTAssertEqual(loaded.scenario, "leader-failover")
        XCTAssertEqual(loaded.mode, "sim")
        XCTAssertEqual(loaded.description, "Kill the leader.")
        XCTAssertEqual(loaded.slos, slos)
        XCTAssertEqual(loaded.runs.count, 3)
        for (a, b) in zip(loaded.runs, runs) { XCTAssertEqual(a, b) }
        XCTAssertEqual(loaded.runs[1].seed, UInt64.max)
        XCTAssertEqual(loaded.runs[2].events, UInt64.max)
        XCTAssertEqual(loaded.runs[0].histograms["request_latency"]?.percentile(99),
                       runs[0].histograms["request_latency"]?.percentile(99))
        XCTAssertEqual(loaded.runs[0].timeline.count, 3)
        // The report draws each live run's timeline in time order.
        let report = ReportRenderer.render(loaded, format: .md)
        XCTAssertTrue(report.contains("## Timeline: seed 1"), report)
        XCTAssertTrue(report.contains("| 5.000 | fault | partition leader(orders) | n1 |"), report)
        XCTAssertTrue(report.contains("| 9.000 | undo | undo partition leader(orders) | — |"), report)
    }

    func testParametersAreStoredAsCanonicalJSON() throws {
        let path = temporaryPath()
        let store = try ResultsStore(path: path)
        try store.append(makeRun(seed: 3, parameters: ["z.b": "2", "a.path/x": "1"]))
        let text = try store.dbQueue.read { try String.fetchOne($0, sql: "SELECT parameters FROM runs") }
        XCTAssertEqual(text, #"{"a.path/x":"1","z.b":"2"}"#)
        let encoding = try store.dbQueue.read { try String.fetchOne($0, sql: "SELECT encoding FROM histograms") }
        XCTAssertEqual(encoding, "hdr-faultline-v1")
    }

    func testFailedAppendLeavesEarlierRunsIntact() throws {
        let path = temporaryPath()
        let store = try ResultsStore(path: path)
        try store.append(makeRun(seed: 1))
        try store.append(makeRun(seed: 2))
        // A run that dies half-way through being written: its rows are inserted, then the
        // transaction fails.
        XCTAssertThrowsError(try store.dbQueue.write { db in
            _ = try ResultsStore.insert(makeRun(seed: 3, violations: [Violation(check: "x", description: "y")]), into: db)
            throw Boom()
        })
        let reopened = try ResultsStore(path: path)
        let set = try reopened.load()
        XCTAssertEqual(set.runs.map(\.seed), [1, 2])
        let orphans = try reopened.dbQueue.read { db in
            try Int.fetchOne(db, sql: """
                SELECT (SELECT COUNT(*) FROM run_metrics WHERE run_id NOT IN (SELECT id FROM runs))
                     + (SELECT COUNT(*) FROM histograms WHERE run_id NOT IN (SELECT id FROM runs))
                     + (SELECT COUNT(*) FROM violations)
                """)
        }
        XCTAssertEqual(orphans, 0)
        // And appending continues to work afterwards.
        try reopened.append(makeRun(seed: 4))
        XCTAssertEqual(try reopened.load().runs.map(\.seed), [1, 2, 4])
    }

    func testLoadWithoutHeaderUsesFirstRun() throws {
        let store = try ResultsStore(path: temporaryPath())
        XCTAssertEqual(try store.load().runs.count, 0)
        try store.append(makeRun(seed: 9))
        let set = try store.load()
        XCTAssertEqual(set.scenario, "leader-failover")
        XCTAssertEqual(set.mode, "sim")
    }

    func testGarbageFileAndCorruptHistogramAreErrors() throws {
        let path = temporaryPath()
        try Data("this is not a database, just some text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ResultsStore(path: path))

        let good = temporaryPath()
        let store = try ResultsStore(path: good)
        try store.append(makeRun(seed: 1))
        try store.dbQueue.write { try $0.execute(sql: "UPDATE histograms SET data = x'00010203'") }
        XCTAssertThrowsError(try store.load()) { error in
            guard case ResultsError.corruptHistogram(_, "request_latency", _)? = error as? ResultsError else {
                return XCTFail("unexpected \(error)")
            }
        }
    }

    func testNewerSchemaIsRejected() throws {
        let path = temporaryPath()
        let store = try ResultsStore(path: path)
        try store.dbQueue.write { try $0.execute(sql: "UPDATE meta SET schema_version = 99") }
        XCTAssertThrowsError(try ResultsStore(path: path)) {
            XCTAssertEqual($0 as? ResultsError, .newerSchema(found: 99, supported: ResultsStore.schemaVersion))
        }
    }
}
