import Foundation
import Results
import Sampling
import Stats

/// One measured figure of `faultline bench`, with the goal it is measured against (issue 18's
/// targets). Figures are printed and recorded, never asserted: machines are shared and noisy,
/// so CI gates on them by comparing results folders (`faultline compare`), not here.
struct BenchFigure: Sendable {
    enum Goal: Sendable {
        case atLeast(Double)
        case atMost(Double)

        func met(by value: Double) -> Bool {
            switch self {
            case .atLeast(let bound): return value >= bound
            case .atMost(let bound): return value <= bound
            }
        }

        /// "higher" or "lower": which way is better, for `compare`.
        var direction: String {
            switch self {
            case .atLeast: return "higher"
            case .atMost: return "lower"
            }
        }
    }

    /// A metric name (snake case), e.g. `replication_events_per_s`.
    var name: String
    var value: Double
    var unit: String
    var goal: Goal?
    /// What was measured, for the table.
    var what: String

    var met: Bool? { goal.map { $0.met(by: value) } }
}

/// The table, the JSON object and the results folder of a bench run.
enum BenchReport {
    static func table(_ figures: [BenchFigure]) -> String {
        var lines = ["| figure | value | unit | goal | met | what |", "|---|---|---|---|---|---|"]
        for f in figures {
            let goal: String
            switch f.goal {
            case .atLeast(let bound)?: goal = "≥ " + number(bound)
            case .atMost(let bound)?: goal = "≤ " + number(bound)
            case nil: goal = "—"
            }
            let met = f.met.map { $0 ? "yes" : "**no**" } ?? "—"
            lines.append("| \(f.name) | \(number(f.value)) | \(f.unit) | \(goal) | \(met) | \(f.what) |")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ figures: [BenchFigure]) -> String {
        var object: [String: Any] = [:]
        for f in figures {
            var entry: [String: Any] = ["value": f.value, "unit": f.unit, "what": f.what]
            switch f.goal {
            case .atLeast(let bound)?: entry["goal_at_least"] = bound
            case .atMost(let bound)?: entry["goal_at_most"] = bound
            case nil: break
            }
            if let met = f.met { entry["met"] = met }
            object[f.name] = entry
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    /// One run per repetition: each figure a metric (its direction recorded, so `compare`
    /// knows which way is worse), each goal a check (a goal met before and missed now is a
    /// regression to `compare`). Mode "live": wall-clock figures are measurements, not
    /// replayable simulations, and are compared unpaired.
    static func record(_ repetitions: [[BenchFigure]], into folder: String) throws {
        let output = try OutputFolder(requested: folder, scenarioName: benchScenario)
        let store = try ResultsStore(path: output.database, createdAt: ISO8601DateFormatter().string(from: Date()))
        try store.setHeader(scenario: benchScenario, mode: "live",
                            description: "faultline bench: simulator, report and kernel figures against issue 18's goals", slos: [])
        var directions: [String: String] = [:]
        var runs: [RunRecord] = []
        for (index, figures) in repetitions.enumerated() {
            var run = RunRecord(scenario: benchScenario, mode: "live", seed: UInt64(index + 1),
                                startedAt: ISO8601DateFormatter().string(from: Date()), wallSeconds: 0, events: 0,
                                traceHash: "", passed: true)
            for f in figures {
                run.metrics[f.name] = f.value
                run.metricUnits[f.name] = f.unit
                if let goal = f.goal {
                    directions[f.name] = goal.direction
                    let met = goal.met(by: f.value)
                    run.checks.append(CheckResult(name: "goal_" + f.name, passed: met, violations: met ? 0 : 1))
                    run.passed = run.passed && met
                }
            }
            runs.append(run)
        }
        try store.append(contentsOf: runs)
        let thresholds = Thresholds(directions: directions)
        var properties = [ResultsProperty.host: ProcessInfo.processInfo.hostName]
        if let encoded = try? JSONEncoder().encode(thresholds), let text = String(data: encoded, encoding: .utf8) {
            properties[ResultsProperty.regression] = text
        }
        try store.setProperties(properties)
        let set = try store.load()
        let summary = SummaryBuilder.build(set)
        try ReportRenderer.render(set, summary: summary, format: .json).write(toFile: output.summary, atomically: true, encoding: .utf8)
        try ReportRenderer.render(set, summary: summary, format: .md).write(toFile: output.report, atomically: true, encoding: .utf8)
        print("results: \(output.path)")
    }

    static let benchScenario = "faultline-bench"

    static func number(_ value: Double) -> String {
        if value.isNaN { return "—" }
        let magnitude = abs(value)
        if magnitude >= 1e6 { return String(format: "%.2f M", value / 1e6) }
        if magnitude >= 1000 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.3f", value)
    }
}

/// The report benchmark's load: runs as a 1000-seed sweep writes them (a latency histogram of a
/// few thousand samples, a dozen scalars, checks), in four parameter groups, summarised and
/// rendered as `run` and `report` do.
enum BenchReportLoad {
    static func runs(_ count: Int) -> RunSet {
        var rng = SeededGenerator(seed: 7)
        let latency = Distribution.lognormal(median: 2e6, p99: 2e7)
        var runs: [RunRecord] = []
        runs.reserveCapacity(count)
        for index in 0..<count {
            var histogram = LatencyHistogram()
            for _ in 0..<2000 { histogram.record(latency.sampleNanos(&rng)) }
            var run = RunRecord(scenario: "bench-report", mode: "sim", parameters: ["group": "\(index % 4)"],
                                seed: UInt64(index / 4 + 1), startedAt: "", wallSeconds: 0, events: 0,
                                traceHash: String(format: "%016llx", UInt64(index)), passed: true)
            run.histograms["request_latency"] = histogram
            run.metricUnits["request_latency"] = "ms"
            for metric in 0..<12 {
                run.metrics["metric_\(metric)"] = Double(rng.next() % 10_000) / 100
                run.metricUnits["metric_\(metric)"] = "count"
            }
            run.checks = [CheckResult(name: "requests_accounted", passed: true, violations: 0)]
            runs.append(run)
        }
        return RunSet(scenario: "bench-report", mode: "sim", runs: runs)
    }

    /// Seconds to build the summary and render report.md and summary.json (the runs are made first, untimed).
    static func summaryAndReportSeconds(runs count: Int) -> Double {
        let set = runs(count)
        let clock = ContinuousClock()
        let start = clock.now
        let summary = SummaryBuilder.build(set)
        let markdown = ReportRenderer.render(set, summary: summary, format: .md)
        let json = ReportRenderer.render(set, summary: summary, format: .json)
        let seconds = (clock.now - start).seconds
        if markdown.isEmpty || json.isEmpty { print("") }  // keeps the work from being optimised away
        return seconds
    }
}
