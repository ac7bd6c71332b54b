import Foundation
import GRDB
import Stats

/// Why a results database could not be read or written.
public enum ResultsError: Error, Equatable, CustomStringConvertible {
    case newerSchema(found: Int, supported: Int)
    case unsupportedHistogramEncoding(run: Int64, name: String, encoding: String)
    case corruptHistogram(run: Int64, name: String, reason: String)
    case corruptParameters(run: Int64)
    case corruptTimeSeries(run: Int64, name: String)

    public var description: String {
        switch self {
        case let .newerSchema(found, supported):
            return "results schema version \(found) is newer than this build supports (\(supported))"
        case let .unsupportedHistogramEncoding(run, name, encoding):
            return "run \(run): histogram \(name) has unsupported encoding \(encoding)"
        case let .corruptHistogram(run, name, reason):
            return "run \(run): histogram \(name) is corrupt: \(reason)"
        case let .corruptParameters(run):
            return "run \(run): parameters are not a JSON object of strings"
        case let .corruptTimeSeries(run, name):
            return "run \(run): time series \(name) is not a JSON array of numbers and nulls"
        }
    }
}

/// The results database shared by simulated and live runs (schema in Results/README.md).
///
/// Every `append` is one transaction: a run is either entirely stored or not at all, so a
/// crash during run N leaves runs 1…N-1 intact.
public final class ResultsStore: Sendable {
    /// 2: the `timeline` table (live runs' faults, heals and leader changes).
    /// 3: the `properties` table (scenario hash, overrides, regression limits, version, host).
    public static let schemaVersion = 4
    let dbQueue: DatabaseQueue

    /// Creates the database or opens an existing one, migrating its schema. `createdAt` is
    /// recorded in `meta.created` for a new database; the caller supplies it (the results
    /// layer reads no clock, so re-rendering and tests stay reproducible).
    ///
    /// `durable: false` skips SQLite's fsync per transaction: for a shard of a job plan, which is
    /// run again whole if its process dies (its 50 appends spent 0.3 s in fsync, 3% of the shard).
    public init(path: String, createdAt: String = "", durable: Bool = true) throws {
        var configuration = Configuration()
        if !durable {
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        }
        dbQueue = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(dbQueue)
        try dbQueue.write { db in
            let found = try Int.fetchOne(db, sql: "SELECT schema_version FROM meta WHERE id = 1") ?? 0
            if found > Self.schemaVersion {
                throw ResultsError.newerSchema(found: found, supported: Self.schemaVersion)
            }
            if found == 0 {
                try db.execute(
                    sql: "INSERT INTO meta (id, schema_version, scenario, mode, description, created) VALUES (1, ?, '', '', '', ?)",
                    arguments: [Self.schemaVersion, createdAt])
            } else if found < Self.schemaVersion {
                // The migrator has just added what the newer schema has.
                try db.execute(sql: "UPDATE meta SET schema_version = ? WHERE id = 1", arguments: [Self.schemaVersion])
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "meta") { t in
                t.column("id", .integer).primaryKey()
                t.column("schema_version", .integer).notNull()
                t.column("scenario", .text).notNull()
                t.column("mode", .text).notNull()
                t.column("description", .text).notNull()
                t.column("created", .text).notNull()
            }
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("scenario", .text).notNull()
                t.column("mode", .text).notNull()
                t.column("parameters", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("started_at", .text).notNull()
                t.column("wall_seconds", .double).notNull()
                t.column("events", .integer).notNull()
                t.column("trace_hash", .text).notNull()
                t.column("passed", .boolean).notNull()
            }
            try db.create(table: "run_metrics") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("value", .double)
                t.column("unit", .text).notNull()
                t.primaryKey(["run_id", "name"])
            }
            try db.create(table: "histograms") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("unit", .text).notNull()
                t.column("count", .integer).notNull()
                t.column("encoding", .text).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["run_id", "name"])
            }
            try db.create(table: "checks") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("passed", .boolean).notNull()
                t.column("violations", .integer).notNull()
            }
            try db.create(table: "violations") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("check_name", .text).notNull()
                t.column("description", .text).notNull()
                t.column("virtual_time_ns", .integer)
            }
            try db.create(table: "slos") { t in
                t.column("position", .integer).primaryKey()
                t.column("name", .text).notNull()
                t.column("metric", .text).notNull()
                t.column("statistic", .text).notNull()
                t.column("limit", .double).notNull()
            }
        }
        migrator.registerMigration("v2-timeline") { db in
            try db.create(table: "timeline") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("at_ns", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("description", .text).notNull()
                t.column("nodes", .text).notNull()
            }
        }
        migrator.registerMigration("v3-properties") { db in
            try db.create(table: "properties") { t in
                t.column("key", .text).primaryKey()
                t.column("value", .text).notNull()
            }
        }
        migrator.registerMigration("v4-timeseries") { db in
            // One row per (run, series), the windows packed as a JSON array: a 1000-seed swarm
            // with a dozen series of ~25 windows stays a few MB (rows per window were ~10×).
            try db.create(table: "timeseries") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("unit", .text).notNull()
                t.column("start_ns", .integer).notNull()
                t.column("window_ns", .integer).notNull()
                t.column("points", .text).notNull()
                t.primaryKey(["run_id", "name"])
            }
            try db.execute(sql: """
                CREATE VIEW timeseries_points AS
                  SELECT ts.run_id, ts.name, ts.unit, CAST(j.key AS INTEGER) AS window,
                         (ts.start_ns + j.key * ts.window_ns) / 1e9 AS t_s, j.value AS value
                  FROM timeseries ts, json_each(ts.points) j
                """)
            // `timeline` (live runs only) becomes `events` (every run), with the end of a fault when known.
            try db.create(table: "events") { t in
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("at_ns", .integer).notNull()
                t.column("end_ns", .integer)
                t.column("kind", .text).notNull()
                t.column("description", .text).notNull()
                t.column("nodes", .text).notNull()
            }
            try db.execute(sql: """
                INSERT INTO events (run_id, at_ns, end_ns, kind, description, nodes)
                  SELECT run_id, at_ns, NULL, kind, description, nodes FROM timeline ORDER BY rowid
                """)
            try db.drop(table: "timeline")
        }
        return migrator
    }

    /// A series' windows as stored: a JSON array, six significant digits, null for no value.
    static func pointsJSON(_ points: [Double?]) -> String {
        var out = "["
        for (i, point) in points.enumerated() {
            if i > 0 { out += "," }
            if let value = point, value.isFinite {
                out += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6g", value)
            } else {
                out += "null"
            }
        }
        return out + "]"
    }

    static func points(fromJSON text: String) -> [Double?]? {
        guard let data = text.data(using: .utf8), let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return nil }
        return array.map { ($0 as? NSNumber)?.doubleValue }
    }

    /// Facts about the whole results set (what produced it), kept beside the runs.
    public func setProperties(_ properties: [String: String]) throws {
        try dbQueue.write { db in
            for key in properties.keys.sorted() {
                try db.execute(sql: "INSERT OR REPLACE INTO properties (key, value) VALUES (?, ?)", arguments: [key, properties[key]!])
            }
        }
    }

    public func append(_ run: RunRecord) throws {
        try dbQueue.write { db in _ = try Self.insert(run, into: db) }
    }

    /// Appends runs in one transaction (a merge appends a whole shard at once).
    public func append(contentsOf runs: [RunRecord]) throws {
        try dbQueue.write { db in
            for run in runs { _ = try Self.insert(run, into: db) }
        }
    }

    /// The `properties` table alone, without reading the runs.
    public func properties() throws -> [String: String] {
        try dbQueue.read { db in try Self.readProperties(db) }
    }

    static func readProperties(_ db: Database) throws -> [String: String] {
        var properties: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM properties") {
            properties[row["key"]] = row["value"] as String
        }
        return properties
    }

    /// Inserts a run and all its rows; the caller owns the transaction.
    static func insert(_ run: RunRecord, into db: Database) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO runs (scenario, mode, parameters, seed, started_at, wall_seconds, events, trace_hash, passed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [run.scenario, run.mode, canonicalParametersJSON(run.parameters),
                        Int64(bitPattern: run.seed), run.startedAt, run.wallSeconds,
                        Int64(bitPattern: run.events), run.traceHash, run.passed])
        let id = db.lastInsertedRowID
        for name in run.metrics.keys.sorted() {
            try db.execute(sql: "INSERT INTO run_metrics (run_id, name, value, unit) VALUES (?, ?, ?, ?)",
                           arguments: [id, name, run.metrics[name], run.metricUnits[name] ?? ""])
        }
        for name in run.histograms.keys.sorted() {
            let h = run.histograms[name]!
            try db.execute(
                sql: "INSERT INTO histograms (run_id, name, unit, count, encoding, data) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, name, run.metricUnits[name] ?? "ms", Int64(bitPattern: h.count),
                            LatencyHistogram.encodingName, Data(h.serialized())])
        }
        // Units of metrics that have no value in this run are kept as rows with a NULL value.
        for name in run.metricUnits.keys.sorted() where run.metrics[name] == nil && run.histograms[name] == nil {
            try db.execute(sql: "INSERT INTO run_metrics (run_id, name, value, unit) VALUES (?, ?, NULL, ?)",
                           arguments: [id, name, run.metricUnits[name]!])
        }
        for check in run.checks {
            try db.execute(sql: "INSERT INTO checks (run_id, name, passed, violations) VALUES (?, ?, ?, ?)",
                           arguments: [id, check.name, check.passed, check.violations])
        }
        for v in run.violations {
            try db.execute(
                sql: "INSERT INTO violations (run_id, check_name, description, virtual_time_ns) VALUES (?, ?, ?, ?)",
                arguments: [id, v.check, v.description, v.virtualTimeNanos])
        }
        for event in run.timeline.prefix(Self.maxEventsPerRun) {
            try db.execute(sql: "INSERT INTO events (run_id, at_ns, end_ns, kind, description, nodes) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, event.atNanos, event.endNanos, event.kind, event.description,
                                       event.nodes.joined(separator: ",")])
        }
        for series in run.timeSeries {
            try db.execute(
                sql: "INSERT INTO timeseries (run_id, name, unit, start_ns, window_ns, points) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, series.name, series.unit, series.startNanos, series.windowNanos, Self.pointsJSON(series.points)])
        }
        return id
    }

    public func setHeader(scenario: String, mode: String, description: String, slos: [StoredSLO]) throws {
        try dbQueue.write { db in
            try db.execute(sql: "UPDATE meta SET scenario = ?, mode = ?, description = ? WHERE id = 1",
                           arguments: [scenario, mode, description])
            try db.execute(sql: "DELETE FROM slos")
            for (i, slo) in slos.enumerated() {
                try db.execute(
                    sql: #"INSERT INTO slos (position, name, metric, statistic, "limit") VALUES (?, ?, ?, ?, ?)"#,
                    arguments: [i, slo.name, slo.metric, slo.statistic, slo.limit])
            }
        }
    }

    /// A run's timeline is cut here (a runaway nemesis must not fill the disk).
    public static let maxEventsPerRun = 10_000

    /// Reads everything back. When no header was set, scenario and mode come from the first run.
    /// Time series are read only when asked for: summaries, reports and comparisons do not use them.
    public func load(timeSeries: Bool = false) throws -> RunSet {
        try dbQueue.read { db in
            let meta = try Row.fetchOne(db, sql: "SELECT scenario, mode, description FROM meta WHERE id = 1")
            let slos = try Row.fetchAll(db, sql: #"SELECT name, metric, statistic, "limit" FROM slos ORDER BY position"#).map {
                StoredSLO(name: $0["name"], metric: $0["metric"], statistic: $0["statistic"], limit: $0["limit"])
            }
            var runs: [Int64: RunRecord] = [:]
            var order: [Int64] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id") {
                let id: Int64 = row["id"]
                let text: String = row["parameters"]
                guard let data = text.data(using: .utf8),
                      let parameters = try? JSONDecoder().decode([String: String].self, from: data)
                else { throw ResultsError.corruptParameters(run: id) }
                let seed: Int64 = row["seed"]
                let events: Int64 = row["events"]
                runs[id] = RunRecord(
                    scenario: row["scenario"], mode: row["mode"], parameters: parameters,
                    seed: UInt64(bitPattern: seed), startedAt: row["started_at"], wallSeconds: row["wall_seconds"],
                    events: UInt64(bitPattern: events), traceHash: row["trace_hash"], passed: row["passed"])
                order.append(id)
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM run_metrics ORDER BY run_id, name") {
                let id: Int64 = row["run_id"], name: String = row["name"]
                if let value: Double = row["value"] { runs[id]?.metrics[name] = value }
                runs[id]?.metricUnits[name] = row["unit"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM histograms ORDER BY run_id, name") {
                let id: Int64 = row["run_id"], name: String = row["name"], encoding: String = row["encoding"]
                guard encoding == LatencyHistogram.encodingName else {
                    throw ResultsError.unsupportedHistogramEncoding(run: id, name: name, encoding: encoding)
                }
                let data: Data = row["data"]
                do {
                    runs[id]?.histograms[name] = try LatencyHistogram(serialized: [UInt8](data))
                } catch {
                    throw ResultsError.corruptHistogram(run: id, name: name, reason: "\(error)")
                }
                runs[id]?.metricUnits[name] = row["unit"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM checks ORDER BY rowid") {
                let id: Int64 = row["run_id"]
                runs[id]?.checks.append(CheckResult(name: row["name"], passed: row["passed"], violations: row["violations"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM violations ORDER BY rowid") {
                let id: Int64 = row["run_id"]
                runs[id]?.violations.append(
                    Violation(check: row["check_name"], description: row["description"], virtualTimeNanos: row["virtual_time_ns"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY rowid") {
                let id: Int64 = row["run_id"], nodes: String = row["nodes"]
                runs[id]?.timeline.append(TimelineEvent(
                    atNanos: row["at_ns"], endNanos: row["end_ns"], kind: row["kind"], description: row["description"],
                    nodes: nodes.isEmpty ? [] : nodes.split(separator: ",").map(String.init)))
            }
            if timeSeries {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM timeseries ORDER BY run_id, name") {
                    let id: Int64 = row["run_id"], name: String = row["name"], text: String = row["points"]
                    guard let points = Self.points(fromJSON: text) else { throw ResultsError.corruptTimeSeries(run: id, name: name) }
                    runs[id]?.timeSeries.append(TimeSeries(name: name, unit: row["unit"], startNanos: row["start_ns"],
                                                           windowNanos: row["window_ns"], points: points))
                }
            }
            let properties = try Self.readProperties(db)
            let records = order.compactMap { runs[$0] }
            var scenario: String = meta?["scenario"] ?? ""
            var mode: String = meta?["mode"] ?? ""
            if scenario.isEmpty { scenario = records.first?.scenario ?? "" }
            if mode.isEmpty { mode = records.first?.mode ?? "" }
            return RunSet(scenario: scenario, mode: mode, description: meta?["description"] ?? "", slos: slos, runs: records,
                          properties: properties)
        }
    }
}
