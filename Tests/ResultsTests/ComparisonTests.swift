import Foundation
import Stats
import XCTest
@testable import Results

/// `Comparer`: verdicts, paired vs unpaired tests, limits, directions and the inputs it refuses.
final class ComparisonTests: XCTestCase {
    /// Seeds 1…n; seed s has latencies around `base × scale` ms (spread by seed) and the error rate given.
    func runs(_ n: Int, scale: Double = 1, errorRate: Double = 0.01, mode: String = "sim", seedOffset: UInt64 = 0,
              checkPassed: Bool = true, trace: (UInt64) -> String = { String(format: "%016llx", $0) }) -> [RunRecord] {
        (1...UInt64(n)).map { s in
            let seed = s + seedOffset
            let spread = 1 + Double(seed % 7) / 10
            var run = makeRun(seed: seed, errorRate: errorRate,
                              latency: latencies([(2 * spread * scale, 90), (9 * spread * scale, 9), (40 * spread * scale, 1)]),
                              checks: [CheckResult(name: "no_acknowledged_loss", passed: checkPassed, violations: checkPassed ? 0 : 2)])
            run.mode = mode
            run.traceHash = trace(seed)
            run.passed = checkPassed
            return run
        }
    }

    func set(_ runs: [RunRecord], mode: String = "sim", properties: [String: String] = [:], scenario: String = "leader-failover") -> RunSet {
        RunSet(scenario: scenario, mode: mode, runs: runs, properties: properties)
    }

    func row(_ c: Comparison, _ metric: String, _ statistic: String) throws -> Comparison.MetricRow {
        try XCTUnwrap(c.metrics.first { $0.metric == metric && $0.statistic == statistic }, "no row \(metric) \(statistic)")
    }

    func testSameResultsTwiceAreUnchangedEverywhere() throws {
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10)), baseSource: "a", currentSource: "b")
        XCTAssertFalse(c.metrics.isEmpty)
        for row in c.metrics {
            XCTAssertEqual(row.verdict, .unchanged, "\(row.metric) \(row.statistic)")
            XCTAssertEqual(row.test, "identical")
        }
        XCTAssertEqual(c.groups.first?.behaviour_changed, 0)
        XCTAssertFalse(c.regressed)
    }

    func testPairedSlowdownRegressesLatencyOnly() throws {
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10, scale: 1.05, trace: { String(format: "%016llx", $0 + 1) })),
                                     baseSource: "a", currentSource: "b")
        for statistic in ["p50", "p99", "mean"] {
            let r = try row(c, "request_latency", statistic)
            XCTAssertEqual(r.verdict, .regressed, statistic)
            XCTAssertEqual(r.test, "wilcoxon")
            XCTAssertLessThan(try XCTUnwrap(r.p_value), 0.05)
            XCTAssertEqual(try XCTUnwrap(r.change), 0.05, accuracy: 0.01)
            let ci = try XCTUnwrap(r.change_ci95)
            XCTAssertLessThanOrEqual(ci[0], ci[1])
        }
        XCTAssertEqual(try row(c, "error_rate", "mean").verdict, .unchanged)
        XCTAssertEqual(try row(c, "throughput_per_s", "mean").verdict, .unchanged)
        XCTAssertEqual(c.groups.first?.behaviour_changed, 10, "every trace hash differs")
        XCTAssertTrue(c.regressed)
    }

    func testImprovementIsNotARegression() throws {
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10, scale: 0.8)), baseSource: "a", currentSource: "b")
        XCTAssertEqual(try row(c, "request_latency", "p99").verdict, .improved)
        XCTAssertFalse(c.regressed)
    }

    func testHigherIsBetterForThroughputAndAvailability() throws {
        var base = runs(10), current = runs(10)
        for i in current.indices { current[i].metrics["throughput_per_s"] = 1800 + Double(i) }
        for i in base.indices { base[i].metrics["throughput_per_s"] = 2000 + Double(i) }
        let c = try Comparer.compare(base: set(base), current: set(current), baseSource: "a", currentSource: "b")
        let r = try row(c, "throughput_per_s", "mean")
        XCTAssertEqual(r.direction, "higher")
        XCTAssertEqual(r.verdict, .regressed)
    }

    func testALimitDecidesInsteadOfTheNoiseBand() throws {
        // +5% on p99 tolerates a 3% slowdown; the default 1% band would not.
        let slower = runs(10, scale: 1.03)
        let plain = try Comparer.compare(base: set(runs(10)), current: set(slower), baseSource: "a", currentSource: "b")
        XCTAssertEqual(try row(plain, "request_latency", "p99").verdict, .regressed)
        let rule = Thresholds.Rule(key: "request_latency.p99", metric: "request_latency", statistic: "p99", kind: "relative", limit: 0.05)
        let limited = try Comparer.compare(base: set(runs(10)), current: set(slower), baseSource: "a", currentSource: "b",
                                           options: ComparisonOptions(thresholds: Thresholds(rules: [rule])))
        let r = try row(limited, "request_latency", "p99")
        XCTAssertEqual(r.verdict, .unchanged)
        XCTAssertEqual(r.limit, "+5%")
        XCTAssertEqual(r.note, "worse, within +5%")
    }

    func testLimitsStoredWithTheCurrentResultsApply() throws {
        let json = #"{"rules":[{"key":"request_latency.p50","metric":"request_latency","statistic":"p50","kind":"relative","limit":0.5}],"directions":{}}"#
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10, scale: 1.2), properties: [ResultsProperty.regression: json]),
                                     baseSource: "a", currentSource: "b")
        XCTAssertEqual(try row(c, "request_latency", "p50").verdict, .unchanged, "+20% is within +50%")
        XCTAssertEqual(try row(c, "request_latency", "p99").verdict, .regressed, "no limit on p99: the noise band")
    }

    func testTooFewSeedsIsInsufficientData() throws {
        let c = try Comparer.compare(base: set(runs(3)), current: set(runs(3, scale: 1.5)), baseSource: "a", currentSource: "b")
        XCTAssertEqual(try row(c, "request_latency", "p99").verdict, .insufficient)
        XCTAssertFalse(c.regressed, "too little data is no regression")
        XCTAssertTrue(c.warnings.contains { $0.contains("too few runs") })
    }

    func testLiveRunsAreComparedUnpairedWithMannWhitney() throws {
        let base = set(runs(12, mode: "live"), mode: "live")
        let current = set(runs(12, scale: 1.3, mode: "live", seedOffset: 100), mode: "live")
        let c = try Comparer.compare(base: base, current: current, baseSource: "a", currentSource: "b")
        let r = try row(c, "request_latency", "p99")
        XCTAssertEqual(r.test, "mann-whitney")
        XCTAssertEqual(r.verdict, .regressed)
        XCTAssertEqual(c.noise, ComparisonOptions.liveNoise)
        XCTAssertEqual(c.groups.first?.paired, false)
    }

    func testInterleavedLiveRoundsArePaired() throws {
        let mark = [ResultsProperty.interleaved: "ab-1"]
        let c = try Comparer.compare(base: set(runs(8, mode: "live"), mode: "live", properties: mark),
                                     current: set(runs(8, scale: 1.2, mode: "live"), mode: "live", properties: mark),
                                     baseSource: "a", currentSource: "b")
        XCTAssertEqual(c.groups.first?.paired, true)
        XCTAssertEqual(try row(c, "request_latency", "p99").test, "wilcoxon")
        XCTAssertEqual(try row(c, "request_latency", "p99").verdict, .regressed)
    }

    func testACheckThatHeldAndFailsNowIsARegression() throws {
        let c = try Comparer.compare(base: set(runs(5)), current: set(runs(5, checkPassed: false)), baseSource: "a", currentSource: "b")
        let check = try XCTUnwrap(c.checks.first { $0.name == "no_acknowledged_loss" })
        XCTAssertEqual(check.verdict, .regressed)
        XCTAssertEqual(check.current_violations, 10)
        XCTAssertTrue(c.regressed)
        let back = try Comparer.compare(base: set(runs(5, checkPassed: false)), current: set(runs(5)), baseSource: "a", currentSource: "b")
        XCTAssertEqual(back.checks.first { $0.name == "no_acknowledged_loss" }?.verdict, .improved)
    }

    func testDifferentScenariosAreRefused() {
        XCTAssertThrowsError(try Comparer.compare(base: set(runs(3)), current: set(runs(3), scenario: "other"),
                                                  baseSource: "a", currentSource: "b")) { error in
            XCTAssertEqual(error as? ComparisonError, .differentScenarios(base: "leader-failover", current: "other"))
            XCTAssertTrue("\(error)".contains("different scenarios"))
        }
    }

    func testAChangedScenarioFileIsRefusedUnlessAllowed() throws {
        let a = set(runs(6), properties: [ResultsProperty.scenarioHash: "aaaa"])
        let b = set(runs(6), properties: [ResultsProperty.scenarioHash: "bbbb"])
        XCTAssertThrowsError(try Comparer.compare(base: a, current: b, baseSource: "a", currentSource: "b")) { error in
            XCTAssertEqual(error as? ComparisonError, .scenarioChanged(base: "aaaa", current: "bbbb"))
        }
        let allowed = try Comparer.compare(base: a, current: b, baseSource: "a", currentSource: "b",
                                           options: ComparisonOptions(allowScenarioChange: true))
        XCTAssertTrue(allowed.warnings.contains { $0.contains("scenario file changed") })
    }

    func testMissingMetricsAndUnknownLimitsAreBadInput() {
        var current = runs(5)
        for i in current.indices { current[i].metrics["error_rate"] = nil }
        XCTAssertThrowsError(try Comparer.compare(base: set(runs(5)), current: set(current), baseSource: "a", currentSource: "b")) { error in
            guard case .metricsMissing(let lines)? = error as? ComparisonError else { return XCTFail("\(error)") }
            XCTAssertEqual(lines, ["error_rate: only in base"])
        }
        let rule = Thresholds.Rule(key: "publish_latency.p99", metric: "publish_latency", statistic: "p99", kind: "relative", limit: 0.05)
        XCTAssertThrowsError(try Comparer.compare(base: set(runs(5)), current: set(runs(5)), baseSource: "a", currentSource: "b",
                                                  options: ComparisonOptions(thresholds: Thresholds(rules: [rule])))) { error in
            guard case .unknownRule(let key, let available)? = error as? ComparisonError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "publish_latency.p99")
            XCTAssertTrue(available.contains("request_latency"))
        }
    }

    func testGroupsMustMatch() {
        var current = runs(4)
        for i in current.indices { current[i].parameters = ["n": "2"] }
        XCTAssertThrowsError(try Comparer.compare(base: set(runs(4)), current: set(current), baseSource: "a", currentSource: "b")) { error in
            guard case .groupsDiffer(let onlyBase, let onlyCurrent)? = error as? ComparisonError else { return XCTFail("\(error)") }
            XCTAssertEqual(onlyBase, ["{}"])
            XCTAssertEqual(onlyCurrent, [#"{"n":"2"}"#])
        }
    }

    func testMarkdownPutsChangedRowsFirstAndJSONRoundTrips() throws {
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10, scale: 1.1)), baseSource: "a", currentSource: "b")
        let md = ComparisonRenderer.markdown(c)
        XCTAssertTrue(md.contains("regression"))
        let regressed = try XCTUnwrap(md.range(of: "**regressed**"))
        let folded = try XCTUnwrap(md.range(of: "<details>"))
        XCTAssertLessThan(regressed.lowerBound, folded.lowerBound, "changed rows come before the unchanged ones")
        XCTAssertTrue(md.contains("▲"))
        let decoded = try JSONDecoder().decode(Comparison.self, from: Data(ComparisonRenderer.json(c).utf8))
        XCTAssertEqual(decoded, c)
    }

    func testJUnitHasAFailurePerRegressionWithTheNumbers() throws {
        let c = try Comparer.compare(base: set(runs(10)), current: set(runs(10, scale: 1.1, checkPassed: false)),
                                     baseSource: "a", currentSource: "b")
        let xml = JUnitReport.comparison(c)
        let failures = xml.components(separatedBy: "<failure ").count - 1
        XCTAssertEqual(failures, c.metrics.filter { $0.verdict == .regressed }.count + 1)
        XCTAssertTrue(xml.contains("request_latency.p99 noise ±1%"))
        XCTAssertTrue(xml.contains("regressed: "))
        XCTAssertTrue(xml.contains("held in base, fails now (20 violations)"))
    }

    func testBaselineRoundTripsThroughJSON() throws {
        let original = set(runs(4), properties: [ResultsProperty.scenarioHash: "abcd"])
        let baseline = Baseline(name: "main", set: original, savedAt: "2026-12-05T00:00:00Z")
        let path = temporaryPath("main").replacingOccurrences(of: ".sqlite", with: ".json")
        try baseline.jsonString().write(toFile: path, atomically: true, encoding: .utf8)
        let read = try Baseline.read(path: path)
        XCTAssertEqual(read.runSet.runs, original.runs)
        XCTAssertEqual(read.seeds, [1, 2, 3, 4])
        XCTAssertEqual(read.properties[ResultsProperty.scenarioHash], "abcd")
        let c = try Comparer.compare(base: read.runSet, current: original, baseSource: path, currentSource: "x")
        XCTAssertTrue(c.metrics.allSatisfy { $0.verdict == .unchanged })
        try "{\"format\": \"something-else\"}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Baseline.read(path: path))
    }

    func testPropertiesSurviveTheDatabase() throws {
        let store = try ResultsStore(path: temporaryPath())
        try store.setProperties([ResultsProperty.scenarioHash: "0123", ResultsProperty.overrides: "[\"a=1\"]"])
        try store.append(makeRun(seed: 1))
        let loaded = try store.load()
        XCTAssertEqual(loaded.properties[ResultsProperty.scenarioHash], "0123")
        XCTAssertEqual(loaded.properties[ResultsProperty.overrides], "[\"a=1\"]")
    }
}
