import Foundation
import Stats

public enum ReportFormat: String, Sendable, CaseIterable {
    case md, json, csv
}

/// Renders a run set as report.md, summary.json or CSV. Output is deterministic.
public enum ReportRenderer {
    public static func render(_ set: RunSet, format: ReportFormat) -> String {
        render(set, summary: format == .csv ? nil : SummaryBuilder.build(set), format: format)
    }

    /// With the set's summary already built (`SummaryBuilder.build`, which pools, merges and
    /// bootstraps every metric: the costly part of a report), so that summary.json, report.md and
    /// the printed report come from one build instead of one each.
    public static func render(_ set: RunSet, summary: SummaryDocument?, format: ReportFormat) -> String {
        switch format {
        case .json: return (summary ?? SummaryBuilder.build(set)).jsonString()
        case .md: return markdown(set, summary ?? SummaryBuilder.build(set))
        case .csv: return csv(set)
        }
    }

    // MARK: Markdown

    static func markdown(_ set: RunSet, _ doc: SummaryDocument) -> String {
        var out: [String] = []
        out.append("# \(doc.scenario) — \(doc.allPassed ? "PASS" : "FAIL")")
        out.append("")
        if !doc.description.isEmpty {
            out.append(doc.description)
            out.append("")
        }
        out.append("- mode: \(doc.mode)")
        out.append("- runs: \(doc.runs.count)")
        out.append("- seeds: \(seedList(doc.seeds))")
        out.append("")

        out.append("## Metrics")
        out.append("")
        out.append("Histogram metrics: n/mean/stddev/95% CI over per-run means; p50/p99 from the histogram merged over all runs (never averaged).")
        out.append("")
        out.append(contentsOf: table(
            ["metric", "n", "mean", "stddev", "95% CI", "p50", "p99", "p99 95% CI", "unit"],
            doc.metrics.keys.sorted().map { name in
                let m = doc.metrics[name]!
                return [name, "\(m.n)", num(m.mean), num(m.stddev), interval(m.ci95), num(m.p50), num(m.p99),
                        interval(m.p99_ci95), m.unit]
            }))
        out.append("")

        if !doc.checks.isEmpty {
            out.append("## Checks")
            out.append("")
            out.append(contentsOf: table(["check", "result", "violations", "runs"], doc.checks.keys.sorted().map { name in
                let c = doc.checks[name]!
                return [name, c.passed ? "PASS" : "FAIL", "\(c.violations)", "\(c.runs)"]
            }))
            out.append("")
        }

        if !set.slos.isEmpty {
            out.append("## SLOs")
            out.append("")
            out.append(contentsOf: table(["slo", "limit", "observed", "result"], set.slos.compactMap { spec in
                guard let s = doc.slos[spec.name] else { return nil }
                let unit = s.unit.isEmpty ? "" : " \(s.unit)"
                let observed = s.observed.map { num($0) + unit } ?? "— (\(s.note ?? "n/a"))"
                return [spec.name, num(s.limit) + unit, observed, s.passed ? "PASS" : "FAIL"]
            }))
            out.append("")
        }

        if let groups = doc.groups {
            out.append("## Parameter groups")
            out.append("")
            let histograms = SummaryBuilder.histogramNames(set.runs)
            let scalars = SummaryBuilder.scalarNames(set.runs)
            let header = ["parameters", "runs"] + histograms.flatMap { ["\($0) p99", "\($0) mean"] } + ["result"]
            out.append(contentsOf: table(header, groups.map { g in
                var row = [parameterText(g.parameters), "\(g.seeds.count)"]
                for name in histograms {
                    let unit = g.metrics[name].map { " \($0.unit)" } ?? ""
                    row.append(g.metrics[name]?.p99.map { num($0) + unit } ?? "—")
                    row.append(g.metrics[name]?.mean.map { num($0) + unit } ?? "—")
                }
                row.append(g.passed ? "PASS" : "FAIL")
                return row
            }))
            out.append("")
            out.append(contentsOf: accountSizing(groups))
            out.append(contentsOf: comparison(groups, histograms: histograms, scalars: scalars))
            out.append(contentsOf: pivot(groups, histograms: histograms))
        }

        func percent(_ x: Double?) -> String { x.map { v in (v >= 0 ? "+" : "") + String(format: "%.1f%%", v * 100) } ?? "—" }
        if let rows = doc.sim_vs_live {
            out.append("## Simulated vs live")
            out.append("")
            out.append("The same scenario and overrides, simulated (all seeds, merged) and run live; difference = (live − sim) / sim.")
            out.append("")
            out.append(contentsOf: table(
                ["parameters", "metric", "sim p50", "live p50", "p50 diff", "sim p99", "live p99", "p99 diff", "samples sim / live"],
                rows.map { r in
                    [parameterText(r.parameters), r.metric, num(r.sim_p50) + " " + r.unit, num(r.live_p50) + " " + r.unit,
                     percent(r.p50_difference), num(r.sim_p99) + " " + r.unit, num(r.live_p99) + " " + r.unit,
                     percent(r.p99_difference), "\(r.sim_samples) / \(r.live_samples)"]
                }))
            out.append("")
        }
        if let rows = doc.sim_vs_live_means {
            out.append("### Simulated vs live: means")
            out.append("")
            out.append("Mean over simulated seeds and over live runs, 95% CI in brackets (with ≥ 2 of them); difference = (live − sim) / sim.")
            out.append("")
            func mean(_ m: Double, _ ci: [Double]?, _ unit: String) -> String {
                num(m) + (unit.isEmpty ? "" : " " + unit) + (ci.map { " [\(num($0[0])), \(num($0[1]))]" } ?? "")
            }
            out.append(contentsOf: table(
                ["parameters", "metric", "sim mean", "live mean", "difference", "seeds sim / runs live"],
                rows.map { r in
                    [parameterText(r.parameters), r.metric, mean(r.sim_mean, r.sim_ci95, r.unit), mean(r.live_mean, r.live_ci95, r.unit),
                     percent(r.difference), "\(r.sim_runs) / \(r.live_runs)"]
                }))
            out.append("")
        }

        out.append("## Runs")
        out.append("")
        let sweep = doc.groups != nil
        // Wall time is a fact about the host, shown for live runs only (simulated runs' is in results.sqlite).
        let wall = doc.runs.contains { $0.wall_seconds != nil }
        out.append(contentsOf: table(
            (sweep ? ["parameters"] : []) + ["seed", "passed", "events"] + (wall ? ["wall s"] : []) + ["trace hash"],
            doc.runs.map { r in
                (sweep ? [parameterText(r.parameters ?? [:])] : [])
                    + ["\(r.seed)", r.passed ? "yes" : "NO", "\(r.events)"] + (wall ? [num(r.wall_seconds)] : []) + ["`\(r.trace_hash)`"]
            }))

        out.append(contentsOf: timeline(SummaryBuilder.orderedRuns(set.runs)))

        let violations = SummaryBuilder.orderedRuns(set.runs).flatMap { run in run.violations.map { (run, $0) } }
        if !violations.isEmpty {
            out.append("")
            out.append("## Violations")
            out.append("")
            out.append(contentsOf: table(["seed", "check", "virtual time", "description"], violations.map { run, v in
                ["\(run.seed)", v.check, v.virtualTimeNanos.map { num(Double($0) * 1e-9) + " s" } ?? "—", v.description]
            }))
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Each live run's timeline, and the first simulated run's of each parameter group: faults,
    /// heals, crashes and leader changes with their time since the run's start (at most `limit`
    /// rows per run; table `events` keeps them all, for every seed).
    static func timeline(_ runs: [RunRecord], limit: Int = 200) -> [String] {
        var out: [String] = []
        var shownGroups: Set<[String: String]> = []
        for run in runs where !run.timeline.isEmpty && (run.mode != "sim" || shownGroups.insert(run.parameters).inserted) {
            let parameters = run.parameters.keys.sorted().map { "\($0)=\(run.parameters[$0]!)" }.joined(separator: ", ")
            out.append("")
            out.append("## Timeline: seed \(run.seed)\(parameters.isEmpty ? "" : " (\(parameters))")")
            out.append("")
            out.append(contentsOf: table(["t (s)", "event", "what", "nodes"], run.timeline.prefix(limit).map { e in
                [String(format: "%.3f", Double(e.atNanos) / 1e9), e.kind, e.description, e.nodes.isEmpty ? "—" : e.nodes.joined(separator: ", ")]
            }))
            if run.timeline.count > limit { out += ["", "(\(run.timeline.count - limit) more in results.sqlite, table `events`)"] }
        }
        return out
    }

    /// The architect's table of the multi-account model: one row per group (e.g. per account
    /// count), the account metrics with their 95% CIs over seeds, and the first group — in
    /// parameter order — that meets every SLO (the scenario's limits), or a plain "none".
    static func accountSizing(_ groups: [SummaryDocument.GroupSummary]) -> [String] {
        guard groups.contains(where: { $0.metrics["blast_radius_mean"] != nil }) else { return [] }
        let columns: [(metric: String, title: String)] = [
            ("accounts", "accounts"), ("blast_radius_mean", "blast radius mean"), ("blast_radius_p99", "blast radius p99"),
            ("impaired_services_mean", "services impaired (mean)"), ("exposure_services", "exposure on compromise (services)"),
            ("availability_mc", "availability (Monte Carlo)"), ("added_latency_p99", "added latency p99 (ms)"),
            ("cross_account_call_share", "cross-account calls"), ("overhead_cost", "overhead cost"),
        ].filter { column in groups.contains { $0.metrics[column.metric] != nil } }
        var out = ["## Account sizing", "",
                   "Blast radius: the traffic-weighted share of requests that fail when one account fails, over every account of the placement (mean and p99 over accounts), then over seeds: mean [95% CI].",
                   ""]
        out.append(contentsOf: table(["parameters"] + columns.map(\.title) + ["SLOs"], groups.map { g in
            [parameterText(g.parameters)] + columns.map { column in
                guard let m = g.metrics[column.metric], let mean = m.mean else { return "—" }
                return num(mean) + (m.ci95.map { " " + interval($0) } ?? "")
            } + [g.slos.isEmpty ? "—" : (g.slos.values.allSatisfy(\.passed) ? "met" : "missed")]
        }))
        out.append("")
        if groups.allSatisfy({ $0.slos.isEmpty }) {
            out.append("No limits stated (add SLOs such as `blast_radius_p99_mean: 10%`).")
        } else if let first = groups.first(where: { !$0.slos.isEmpty && $0.slos.values.allSatisfy(\.passed) }) {
            out.append("Smallest setting that meets every limit: **\(parameterText(first.parameters))**.")
        } else {
            out.append("**No setting meets every limit.**")
        }
        out.append("")
        return out
    }

    /// Groups side by side: per latency histogram, the merged p50 / p99 / p99.9 with their
    /// cluster-bootstrap 95% CIs; then every scalar metric as mean [95% CI] per group.
    static func comparison(_ groups: [SummaryDocument.GroupSummary], histograms: [String], scalars: [String]) -> [String] {
        var out: [String] = []
        let columns = groups.map { parameterText($0.parameters) }
        for name in histograms {
            out.append("### \(name) by group")
            out.append("")
            out.append("Merged over the group's seeds; 95% CIs by cluster bootstrap over seeds.")
            out.append("")
            out.append(contentsOf: table(["parameters", "samples", "p50", "p99", "p99.9", "mean (95% CI)"], groups.map { g in
                guard let m = g.metrics[name] else { return [parameterText(g.parameters), "0", "—", "—", "—", "—"] }
                func cell(_ value: Double?, _ ci: [Double]?) -> String {
                    guard let value else { return "—" }
                    return num(value) + (ci == nil ? "" : " " + interval(ci))
                }
                return [parameterText(g.parameters), "\(m.count ?? 0)", cell(m.p50, m.p50_ci95), cell(m.p99, m.p99_ci95),
                        cell(m.p999, m.p999_ci95), cell(m.mean, m.ci95) + " \(m.unit)"]
            }))
            out.append("")
        }
        if !scalars.isEmpty {
            out.append("### Scalar metrics by group (mean [95% CI] over seeds)")
            out.append("")
            out.append(contentsOf: table(["metric"] + columns + ["unit"], scalars.map { name in
                var unit = ""
                let cells = groups.map { g -> String in
                    guard let m = g.metrics[name], let mean = m.mean else { return "—" }
                    unit = m.unit
                    return num(mean) + (m.ci95.map { " " + interval($0) } ?? "")
                }
                return [name] + cells + [unit]
            }))
            out.append("")
        }
        return out
    }

    /// With two or more parameters, each histogram's p99 as a grid: one column per value of the
    /// parameter with the fewest values (e.g. the strategies of `compare:`), one row per
    /// combination of the others — a sweep's table at a glance.
    static func pivot(_ groups: [SummaryDocument.GroupSummary], histograms: [String]) -> [String] {
        let keys = Array(Set(groups.flatMap { $0.parameters.keys })).sorted()
        guard keys.count >= 2 else { return [] }
        func values(_ key: String) -> [String] {
            var seen: [String] = []
            for g in groups { if let v = g.parameters[key], !seen.contains(v) { seen.append(v) } }
            return seen
        }
        let column = keys.min { values($0).count < values($1).count }!
        let columns = values(column)
        var rows: [[String: String]] = []
        for g in groups {
            var rest = g.parameters
            rest[column] = nil
            if !rows.contains(rest) { rows.append(rest) }
        }
        var out: [String] = []
        for name in histograms {
            out.append("### \(name) p99 (ms): \(column) across, the other parameters down")
            out.append("")
            out.append(contentsOf: table(["parameters"] + columns, rows.map { row in
                [parameterText(row)] + columns.map { value in
                    var parameters = row
                    parameters[column] = value
                    return groups.first { $0.parameters == parameters }?.metrics[name]?.p99.map(num) ?? "—"
                }
            }))
            out.append("")
        }
        return out
    }

    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
                .joined(separator: " | ") + " |"
        }
        return [line(header), "|" + header.map { _ in "---|" }.joined()] + rows.map(line)
    }

    static func seedList(_ seeds: [UInt64]) -> String {
        if seeds.isEmpty { return "none" }
        // Contiguous seeds (the usual 1…N) print as a range.
        if seeds.count > 3, seeds.last! - seeds.first! == UInt64(seeds.count - 1) {
            return "\(seeds.first!)…\(seeds.last!) (\(seeds.count))"
        }
        return seeds.map(String.init).joined(separator: ", ")
    }

    static func parameterText(_ p: [String: String]) -> String {
        p.isEmpty ? "—" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: ", ")
    }

    static func interval(_ ci: [Double]?) -> String {
        guard let ci, ci.count == 2 else { return "—" }
        return "[\(num(ci[0])), \(num(ci[1]))]"
    }

    static func num(_ x: Double?) -> String {
        guard let x else { return "—" }
        return formatNumber(x)
    }

    // MARK: CSV

    /// `seed,parameters,metric,value,unit`: one row per run × scalar metric, per run × histogram
    /// (`<name>.count`, `.mean`, `.p50`, `.p90`, `.p99`, `.p999`, `.max`, in ms), then rows with
    /// seed `merged` for each histogram merged over the runs of each parameter group (and over
    /// all runs, parameters `*`, for sweeps).
    static func csv(_ set: RunSet) -> String {
        var lines = ["seed,parameters,metric,value,unit"]
        let runs = SummaryBuilder.orderedRuns(set.runs)
        func row(_ seed: String, _ parameters: String, _ metric: String, _ value: Double, _ unit: String) {
            lines.append([seed, parameters, metric, value.isFinite ? csvNumber(value) : "", unit].map(csvField).joined(separator: ","))
        }
        func histogramRows(_ seed: String, _ parameters: String, _ name: String, _ h: LatencyHistogram, _ unit: String) {
            row(seed, parameters, "\(name).count", Double(h.count), "")
            guard !h.isEmpty else { return }
            row(seed, parameters, "\(name).mean", h.mean * 1e-6, unit)
            for (label, p) in [("p50", 50.0), ("p90", 90), ("p99", 99), ("p999", 99.9)] {
                row(seed, parameters, "\(name).\(label)", h.percentile(p) * 1e-6, unit)
            }
            row(seed, parameters, "\(name).max", h.max * 1e-6, unit)
        }
        for run in runs {
            let parameters = canonicalParametersJSON(run.parameters)
            for name in run.metrics.keys.sorted() where run.histograms[name] == nil {
                row("\(run.seed)", parameters, name, run.metrics[name]!, run.metricUnits[name] ?? "")
            }
            for name in run.histograms.keys.sorted() {
                histogramRows("\(run.seed)", parameters, name, run.histograms[name]!, "ms")
            }
        }
        let groups = SummaryBuilder.parameterGroups(runs)
        var mergeSets = groups.map { (canonicalParametersJSON($0[0].parameters), $0) }
        if groups.count > 1 { mergeSets.append(("*", runs)) }
        for (parameters, group) in mergeSets {
            for name in SummaryBuilder.histogramNames(group) {
                histogramRows("merged", parameters, name, LatencyHistogram.merged(group.compactMap { $0.histograms[name] }), "ms")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            : s
    }

    /// Full precision for machines: shortest representation that round-trips.
    static func csvNumber(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}

/// Four significant digits, no exponent between 0.001 and 10^9: enough to compare runs,
/// few enough to read. Integers print as integers.
public func formatNumber(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == 0 { return "0" }
    let magnitude = abs(x)
    if magnitude >= 1e9 || magnitude < 1e-3 { return String(format: "%.3e", x) }
    if x == x.rounded() { return String(format: "%.0f", x) }
    if magnitude >= 1000 { return String(format: "%.0f", x) }
    let decimals = 3 - Int(floor(log10(magnitude)))
    var text = String(format: "%.\(decimals)f", x)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text
}
