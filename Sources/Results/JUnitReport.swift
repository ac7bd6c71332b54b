import Foundation

/// JUnit XML, the format every CI system shows as test results (the Ant/Jenkins schema that
/// GitHub Actions reporters, GitLab's `artifacts:reports:junit` and junitparser read): one
/// `testsuite` per run group, one `testcase` per check, SLO or compared metric, a `failure` with
/// the numbers when it failed, `skipped` when there was too little data to judge.
public enum JUnitReport {
    struct Case {
        var name: String
        var classname: String
        var failure: (message: String, details: String)?
        var skipped: String?
        var seconds: Double = 0
    }

    struct Suite {
        var name: String
        var cases: [Case]
    }

    /// A run's results: per group, each check, each SLO and one case for the runs themselves.
    public static func runs(_ set: RunSet) -> String {
        let groups: [(parameters: [String: String], runs: [RunRecord])] =
            SummaryBuilder.parameterGroups(SummaryBuilder.orderedRuns(set.runs)).map { ($0[0].parameters, $0) }
        var suites: [Suite] = []
        for (parameters, runs) in groups {
            let pooled = SummaryBuilder.checksAndSLOs(runs, slos: set.slos)
            let suiteName = "\(set.scenario)\(ComparisonRenderer.label(parameters, prefix: " "))"
            let classname = "faultline.\(set.mode).\(set.scenario)"
            var cases: [Case] = []
            let failedRuns = runs.filter { !$0.passed }
            cases.append(Case(name: "runs\(ComparisonRenderer.label(parameters, prefix: " "))", classname: classname,
                              failure: failedRuns.isEmpty ? nil : (
                                "\(failedRuns.count) of \(runs.count) runs failed (seeds \(failedRuns.prefix(10).map { String($0.seed) }.joined(separator: ", ")))",
                                failedRuns.prefix(10).map { "seed \($0.seed): trace \($0.traceHash)" }.joined(separator: "\n")),
                              seconds: runs.reduce(0) { $0 + ($1.wallSeconds.isFinite ? $1.wallSeconds : 0) }))
            for name in pooled.checks.keys.sorted() {
                let check = pooled.checks[name]!
                let violations = runs.flatMap(\.violations).filter { $0.check == name }
                cases.append(Case(name: "check \(name)", classname: classname,
                                  failure: check.passed ? nil : (
                                    "\(check.violations) violation(s) over \(check.runs) run(s)",
                                    violations.prefix(20).map(\.description).joined(separator: "\n"))))
            }
            for name in pooled.slos.keys.sorted() {
                let slo = pooled.slos[name]!
                let observed = slo.observed.map { formatNumber($0) + (slo.unit.isEmpty ? "" : " \(slo.unit)") } ?? "not observed"
                let bound = slo.statistic == "min" ? "≥" : "≤"
                cases.append(Case(name: "slo \(name)", classname: classname,
                                  failure: slo.passed ? nil : ("observed \(observed), limit \(bound) \(formatNumber(slo.limit))",
                                                               slo.note ?? "")))
            }
            suites.append(Suite(name: suiteName, cases: cases))
        }
        return xml(name: "faultline \(set.mode) \(set.scenario)", suites: suites)
    }

    /// A comparison: per group, each metric row (named with its limit) and each check and SLO.
    public static func comparison(_ c: Comparison) -> String {
        var suites: [Suite] = []
        for group in c.groups {
            let label = ComparisonRenderer.label(group.parameters, prefix: " ")
            let classname = "faultline.compare.\(c.scenario)"
            var cases: [Case] = []
            for row in c.metrics where row.parameters == group.parameters {
                let unit = row.unit.isEmpty ? "" : " \(row.unit)"
                let change = row.change.map { ComparisonRenderer.percent($0) } ?? formatNumber(row.difference) + unit
                let numbers = "\(formatNumber(row.base.value))\(unit) → \(formatNumber(row.current.value))\(unit) (\(change)"
                    + (row.p_value.map { ", \(row.test) p = \(ComparisonRenderer.formatP($0))" } ?? "") + ", limit \(row.limit))"
                var item = Case(name: "\(row.metric).\(row.statistic) \(row.limit)\(label)", classname: classname)
                switch row.verdict {
                case .regressed: item.failure = ("regressed: " + numbers, row.note ?? "")
                case .insufficient: item.skipped = "insufficient data: " + numbers + (row.note.map { "; " + $0 } ?? "")
                default: break
                }
                cases.append(item)
            }
            for row in c.checks where row.parameters == group.parameters {
                var item = Case(name: "\(row.kind) \(row.name) must-hold\(label)", classname: classname)
                if row.verdict == .regressed {
                    item.failure = ("held in base, fails now"
                                    + (row.current_violations.map { " (\($0) violations)" } ?? "")
                                    + (row.current_observed.map { " (observed \(formatNumber($0)))" } ?? ""), "")
                }
                cases.append(item)
            }
            suites.append(Suite(name: "\(c.scenario)\(label)", cases: cases))
        }
        return xml(name: "faultline compare \(c.scenario)", suites: suites)
    }

    static func xml(name: String, suites: [Suite]) -> String {
        let tests = suites.reduce(0) { $0 + $1.cases.count }
        let failures = suites.reduce(0) { $0 + $1.cases.filter { $0.failure != nil }.count }
        let skipped = suites.reduce(0) { $0 + $1.cases.filter { $0.skipped != nil }.count }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(escape(name))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\">\n"
        for suite in suites {
            let f = suite.cases.filter { $0.failure != nil }.count, s = suite.cases.filter { $0.skipped != nil }.count
            let time = suite.cases.reduce(0) { $0 + $1.seconds }
            out += "  <testsuite name=\"\(escape(suite.name))\" tests=\"\(suite.cases.count)\" failures=\"\(f)\" errors=\"0\" "
                + "skipped=\"\(s)\" time=\"\(seconds(time))\">\n"
            for item in suite.cases {
                out += "    <testcase classname=\"\(escape(item.classname))\" name=\"\(escape(item.name))\" time=\"\(seconds(item.seconds))\""
                if let failure = item.failure {
                    out += ">\n      <failure message=\"\(escape(failure.message))\" type=\"failure\">\(escape(failure.details))</failure>\n    </testcase>\n"
                } else if let skipped = item.skipped {
                    out += ">\n      <skipped message=\"\(escape(skipped))\"/>\n    </testcase>\n"
                } else {
                    out += "/>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    static func seconds(_ x: Double) -> String { String(format: "%.3f", x.isFinite ? x : 0) }

    /// XML 1.0 text: the five entities, and no control characters other than tab and newline
    /// (XML 1.0 cannot carry them at all, not even escaped).
    static func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
