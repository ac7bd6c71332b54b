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

final class TimeSeriesStoreTests: XCTestCase {
    func testTimeSeriesAndEventsRoundTripAndUnpackThroughTheView() throws {
        let path = temporaryPath()
        var run = RunRecord(scenario: "s", mode: "sim", seed: 3, startedAt: "2026-01-01T00:00:00Z", wallSeconds: 1, events: 10,
                            traceHash: "0123456789abcdef", passed: true)
        run.timeSeries = [
            TimeSeries(name: "publish_throughput", unit: "/s", windowNanos: 100_000_000, points: [2000, 0, nil, 1234.56789]),
            TimeSeries(name: "leader.orders", unit: "node", windowNanos: 100_000_000, points: [1, 1, nil, 2]),
        ]
        run.timeline = [TimelineEvent(atNanos: 6_000_000_000, endNanos: 8_000_000_000, kind: "fault", description: "partition leader(orders)", nodes: ["n1"])]
        try ResultsStore(path: path).append(run)
        let store = try ResultsStore(path: path)
        let loaded = try store.load(timeSeries: true).runs[0]
        XCTAssertEqual(loaded.timeline, run.timeline)
        XCTAssertEqual(loaded.timeSeries.map(\.name), ["leader.orders", "publish_throughput"])
        XCTAssertEqual(loaded.timeSeries[1].points, [2000, 0, nil, 1234.57], "six significant digits, nulls kept")
        XCTAssertEqual(try store.load().runs[0].timeSeries, [], "series are read only when asked for")
        let rows = try store.dbQueue.read { db in
            try Row.fetchAll(db, sql: "SELECT window, t_s, value FROM timeseries_points WHERE name = 'publish_throughput' ORDER BY window")
        }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows[3]["t_s"] as Double?, 0.3)
        XCTAssertNil(rows[2]["value"] as Double?)
        XCTAssertEqual(rows[0]["value"] as Double?, 2000)
    }

    func testSchema3DatabaseIsMigratedKeepingItsTimeline() throws {
        let path = temporaryPath()
        // A schema-3 database as the previous build wrote it, with one live run and its timeline.
        do {
            let queue = try DatabaseQueue(path: path)
            try ResultsStore.migrator.migrate(queue, upTo: "v3-properties")
            try queue.write { db in
                try db.execute(sql: "INSERT INTO meta (id, schema_version, scenario, mode, description, created) VALUES (1, 3, 'old', 'live', '', 'x')")
                try db.execute(sql: "INSERT INTO runs (scenario, mode, parameters, seed, started_at, wall_seconds, events, trace_hash, passed) VALUES ('old', 'live', '{}', 1, 'x', 1, 1, 'live', 1)")
                try db.execute(sql: "INSERT INTO timeline (run_id, at_ns, kind, description, nodes) VALUES (1, 5, 'fault', 'crash leader(orders)', 'n1')")
            }
        }
        let store = try ResultsStore(path: path)
        let version = try store.dbQueue.read { try Int.fetchOne($0, sql: "SELECT schema_version FROM meta") }
        XCTAssertEqual(version, 4)
        let run = try store.load(timeSeries: true).runs[0]
        XCTAssertEqual(run.timeline, [TimelineEvent(atNanos: 5, kind: "fault", description: "crash leader(orders)", nodes: ["n1"])])
        XCTAssertEqual(run.timeSeries, [])
    }

    func testCorruptSeriesIsAClearError() throws {
        let path = temporaryPath()
        var run = RunRecord(scenario: "s", mode: "sim", seed: 3, startedAt: "x", wallSeconds: 1, events: 1, traceHash: "0", passed: true)
        run.timeSeries = [TimeSeries(name: "throughput", unit: "/s", windowNanos: 1, points: [1])]
        let store = try ResultsStore(path: path)
        try store.append(run)
        try store.dbQueue.write { try $0.execute(sql: "UPDATE timeseries SET points = 'not json'") }
        XCTAssertThrowsError(try store.load(timeSeries: true)) {
            XCTAssertEqual($0 as? ResultsError, .corruptTimeSeries(run: 1, name: "throughput"))
        }
    }
}
