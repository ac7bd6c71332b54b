import Foundation

/// A comparison as a pull-request comment (Markdown: what changed first, the unchanged rows
/// folded away) or as JSON (sorted keys: the same comparison gives the same bytes).
public enum ComparisonRenderer {
    public static func json(_ comparison: Comparison) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(comparison), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text + "\n"
    }

    /// Verdicts in the order a reviewer wants them.
    static let order: [Comparison.Verdict] = [.regressed, .improved, .changed, .insufficient, .unchanged]

    public static func headline(_ c: Comparison) -> String {
        let regressions = c.metrics.filter { $0.verdict == .regressed }.count + c.checks.filter { $0.verdict == .regressed }.count
        let improvements = c.metrics.filter { $0.verdict == .improved }.count + c.checks.filter { $0.verdict == .improved }.count
        let unchanged = c.metrics.filter { $0.verdict == .unchanged }.count
        let insufficient = c.metrics.filter { $0.verdict == .insufficient }.count
        var parts = [regressions == 0 ? "no regression" : "**\(regressions) regression\(regressions == 1 ? "" : "s")**"]
        if improvements > 0 { parts.append("\(improvements) improvement\(improvements == 1 ? "" : "s")") }
        parts.append("\(unchanged) unchanged")
        if insufficient > 0 { parts.append("\(insufficient) with insufficient data") }
        return parts.joined(separator: ", ")
    }

    public static func markdown(_ c: Comparison) -> String {
        var out = "## Faultline compare: \(c.scenario) — \(headline(c))\n\n"
        func describe(_ s: Comparison.Side) -> String {
            var text = "`\(s.source)` (\(s.mode), \(s.runs) run\(s.runs == 1 ? "" : "s")"
            if let v = s.faultline_version { text += ", faultline \(v)" }
            if let o = s.overrides, !o.isEmpty { text += ", --set " + o.joined(separator: " --set ") }
            return text + ")"
        }
        out += "- base: \(describe(c.base))\n- current: \(describe(c.current))\n"
        out += "- α = \(formatNumber(c.alpha)), noise band ±\(formatNumber(c.noise * 100))%; "
            + "tests: Wilcoxon signed-rank over seeds when paired, Mann–Whitney U otherwise; "
            + "intervals: bootstrap over seeds (percentiles of merged histograms)\n"
        for g in c.groups where (g.behaviour_changed ?? 0) > 0 {
            let seeds = (g.changed_seeds ?? []).map(String.init).joined(separator: ", ")
            out += "- behaviour changed\(label(g.parameters, prefix: " in ")): \(g.behaviour_changed!) of \(g.base_runs) seeds "
                + "have another trace hash (seeds \(seeds)\((g.behaviour_changed ?? 0) > 10 ? ", …" : ""))\n"
        }
        for w in c.warnings { out += "- ⚠ \(w)\n" }
        out += "\n"

        let changedRows = c.metrics.filter { $0.verdict != .unchanged }
            .sorted { order.firstIndex(of: $0.verdict)! < order.firstIndex(of: $1.verdict)! }
        let unchangedRows = c.metrics.filter { $0.verdict == .unchanged }
        let showGroup = c.groups.count > 1
        if !changedRows.isEmpty {
            out += metricTable(changedRows, showGroup: showGroup)
        } else {
            out += "No metric changed beyond its limit.\n"
        }
        let checkChanges = c.checks.filter { $0.verdict != .unchanged || !$0.current_held }
        if !checkChanges.isEmpty {
            out += "\n| | \(showGroup ? "group | " : "")check / SLO | base | current | verdict |\n|---|\(showGroup ? "---|" : "")---|---|---|---|\n"
            for row in checkChanges {
                out += "| \(row.verdict == .regressed ? "🔴" : row.verdict == .improved ? "🟢" : "⚪") | "
                    + (showGroup ? label(row.parameters) + " | " : "")
                    + "\(row.name) (\(row.kind)) | \(held(row.base_held, row.base_violations, row.base_observed)) | "
                    + "\(held(row.current_held, row.current_violations, row.current_observed)) | \(verdictText(row.verdict)) |\n"
            }
        }
        if !unchangedRows.isEmpty {
            out += "\n<details><summary>\(unchangedRows.count) unchanged metric\(unchangedRows.count == 1 ? "" : "s")</summary>\n\n"
            out += metricTable(unchangedRows, showGroup: showGroup)
            out += "\n</details>\n"
        }
        let heldChecks = c.checks.filter { $0.verdict == .unchanged && $0.current_held }
        if !heldChecks.isEmpty {
            out += "\n\(heldChecks.count) check\(heldChecks.count == 1 ? "" : "s") and SLO\(heldChecks.count == 1 ? "" : "s") held on both sides: "
                + Array(Set(heldChecks.map(\.name))).sorted().joined(separator: ", ") + "\n"
        }
        return out
    }

    static func metricTable(_ rows: [Comparison.MetricRow], showGroup: Bool) -> String {
        var out = "| | \(showGroup ? "group | " : "")metric | base | current | change (95% CI) | test (p) | limit | verdict |\n"
        out += "|---|\(showGroup ? "---|" : "")---|---:|---:|---:|---|---|---|\n"
        for row in rows {
            let unit = row.unit.isEmpty ? "" : " \(row.unit)"
            let arrow = row.difference > 0 ? "▲" : row.difference < 0 ? "▼" : "="
            var change = row.change.map { arrow + " " + percent($0) } ?? "\(arrow) \(formatNumber(row.difference))\(unit)"
            if let ci = row.change_ci95, ci.count == 2, row.test != "identical" { change += " [\(percent(ci[0])), \(percent(ci[1]))]" }
            let test = row.test == "identical" ? "identical" : "\(row.test) (\(row.p_value.map { formatP($0) } ?? "–"))"
            var verdict = verdictText(row.verdict)
            if let note = row.note { verdict += " — \(note)" }
            out += "| \(marker(row.verdict)) | " + (showGroup ? label(row.parameters) + " | " : "")
                + "\(row.metric) \(row.statistic) | \(estimate(row.base))\(unit) | \(estimate(row.current))\(unit) | \(change) | \(test) | "
                + "\(row.limit) | \(verdict) |\n"
        }
        return out
    }

    static func marker(_ v: Comparison.Verdict) -> String {
        switch v {
        case .regressed: return "🔴"
        case .improved: return "🟢"
        case .changed: return "🟡"
        case .insufficient: return "⚪"
        case .unchanged: return ""
        }
    }

    static func verdictText(_ v: Comparison.Verdict) -> String {
        v == .regressed || v == .improved ? "**\(v.rawValue)**" : v.rawValue
    }

    static func estimate(_ e: Comparison.Estimate) -> String {
        var text = formatNumber(e.value)
        if let ci = e.ci95, ci.count == 2, ci[0] != ci[1] { text += " [\(formatNumber(ci[0])), \(formatNumber(ci[1]))]" }
        return text
    }

    static func percent(_ x: Double) -> String {
        (x > 0 ? "+" : "") + formatNumber(x * 100) + "%"
    }

    static func formatP(_ p: Double) -> String {
        p < 0.0001 ? "<0.0001" : formatNumber(p)
    }

    static func held(_ held: Bool, _ violations: Int?, _ observed: Double?) -> String {
        var text = held ? "held" : "failed"
        if let violations, violations > 0 { text += " (\(violations) violations)" }
        if let observed { text += " (\(formatNumber(observed)))" }
        return text
    }

    static func label(_ parameters: [String: String], prefix: String = "") -> String {
        parameters.isEmpty ? "" : prefix + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: " ")
    }
}
