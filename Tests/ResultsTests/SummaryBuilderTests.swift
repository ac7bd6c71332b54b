import Foundation
import XCTest
import Stats
@testable import Results

final class SummaryBuilderTests: XCTestCase {
    /// Two runs: run 1 has 99 × 1 ms and 1 × 10 ms, run 2 has 100 × 2 ms.
    private func tinySet() -> RunSet {
        let r1 = makeRun(seed: 1, errorRate: 0.1, latency: latencies([(1, 99), (10, 1)]))
        let r2 = makeRun(seed: 2, passed: false, errorRate: 0.3, latency: latencies([(2, 100)]),
                         checks: [CheckResult(name: "no_acknowledged_loss", passed: false, violations: 2)])
        return RunSet(scenario: "leader-failover", mode: "sim", description: "tiny", slos: [
            StoredSLO(name: "request_latency_p99", metric: "request_latency", statistic: "p99", limit: 5),
            StoredSLO(name: "request_latency_p999", metric: "request_latency", statistic: "p999", limit: 5),
            StoredSLO(name: "error_rate_mean", metric: "error_rate", statistic: "mean", limit: 0.25),
            StoredSLO(name: "error_rate_max", metric: "error_rate", statistic: "max", limit: 0.25),
            // Lower bounds: the smallest per-run error rate is 0.1.
            StoredSLO(name: "error_rate_min_low", metric: "error_rate", statistic: "min", limit: 0.05),
            StoredSLO(name: "error_rate_min_high", metric: "error_rate", statistic: "min", limit: 0.2),
            StoredSLO(name: "ghost", metric: "not_recorded", statistic: "p99", limit: 1),
        ], runs: [r2, r1])
    }

    func testSummaryValuesByHand() throws {
        let doc = SummaryBuilder.build(tinySet())
        XCTAssertEqual(doc.seeds, [1, 2])
        XCTAssertEqual(doc.runs.map(\.seed), [1, 2])

        let e = try XCTUnwrap(doc.metrics["error_rate"])
        XCTAssertEqual(e.kind, "scalar")
        XCTAssertEqual(e.unit, "ratio")
        XCTAssertEqual(e.n, 2)
        XCTAssertEqual(e.mean!, 0.2, accuracy: 1e-12)
        let s = 0.02.squareRoot()
        XCTAssertEqual(e.stddev!, s, accuracy: 1e-12)
        let half = 12.706205 * s / 2.0.squareRoot()
        XCTAssertEqual(e.ci95![0], 0.2 - half, accuracy: 1e-5)
        XCTAssertEqual(e.ci95![1], 0.2 + half, accuracy: 1e-5)

        let l = try XCTUnwrap(doc.metrics["request_latency"])
        XCTAssertEqual(l.kind, "histogram")
        XCTAssertEqual(l.unit, "ms")
        XCTAssertEqual(l.n, 2)
        XCTAssertEqual(l.count, 200)
        // Per-run means 1.09 ms and 2 ms.
        XCTAssertEqual(l.mean!, (1.09 + 2) / 2, accuracy: 1e-3)
        XCTAssertEqual(l.stddev!, abs(2 - 1.09) / 2.0.squareRoot(), accuracy: 1e-3)
        // Merged: ranks 1–99 are 1 ms, 100–199 are 2 ms, 200 is 10 ms.
        XCTAssertEqual(l.p50!, 2, accuracy: 2e-3)
        XCTAssertEqual(l.p99!, 2, accuracy: 2e-3)
        XCTAssertEqual(l.p999!, 10, accuracy: 1e-2)
        XCTAssertEqual(l.max!, 10, accuracy: 1e-9)
        let ci = try XCTUnwrap(l.p99_ci95)
        XCTAssertLessThanOrEqual(ci[0], ci[1])

        let c = try XCTUnwrap(doc.checks["no_acknowledged_loss"])
        XCTAssertFalse(c.passed)
        XCTAssertEqual(c.violations, 2)
        XCTAssertEqual(c.runs, 2)
    }

    func testSLOPassAndFail() throws {
        let doc = SummaryBuilder.build(tinySet())
        let p99 = try XCTUnwrap(doc.slos["request_latency_p99"])
        XCTAssertTrue(p99.passed)
        XCTAssertEqual(p99.observed!, 2, accuracy: 2e-3)
        XCTAssertEqual(p99.limit, 5)
        let p999 = try XCTUnwrap(doc.slos["request_latency_p999"])
        XCTAssertFalse(p999.passed)
        XCTAssertEqual(p999.observed!, 10, accuracy: 1e-2)
        XCTAssertTrue(doc.slos["error_rate_mean"]!.passed)
        XCTAssertEqual(doc.slos["error_rate_mean"]!.observed!, 0.2, accuracy: 1e-12)
        XCTAssertFalse(doc.slos["error_rate_max"]!.passed)
        // `min` is a lower bound: 0.1 ≥ 0.05 holds, 0.1 ≥ 0.2 does not.
        XCTAssertTrue(doc.slos["error_rate_min_low"]!.passed)
        XCTAssertEqual(doc.slos["error_rate_min_low"]!.observed!, 0.1, accuracy: 1e-12)
        XCTAssertFalse(doc.slos["error_rate_min_high"]!.passed)
        let ghost = try XCTUnwrap(doc.slos["ghost"])
        XCTAssertFalse(ghost.passed)
        XCTAssertNil(ghost.observed)
        XCTAssertNotNil(ghost.note)
        XCTAssertFalse(doc.allPassed)

        var good = tinySet()
        good.runs = [makeRun(seed: 1, errorRate: 0.1, latency: latencies([(1, 50)]))]
        good.slos = [StoredSLO(name: "request_latency_p99", metric: "request_latency", statistic: "p99", limit: 5)]
        XCTAssertTrue(SummaryBuilder.build(good).allPassed)
        good.slos[0].limit = 0.5
        XCTAssertFalse(SummaryBuilder.build(good).allPassed)
        XCTAssertFalse(SummaryBuilder.build(RunSet(scenario: "x", mode: "sim")).allPassed)
    }

    func testPercentileStatisticNames() {
        XCTAssertEqual(SummaryBuilder.percentileLevel("p50"), 50)
        XCTAssertEqual(SummaryBuilder.percentileLevel("p999"), 99.9)
        XCTAssertEqual(SummaryBuilder.percentileLevel("p9999"), 99.99)
        XCTAssertEqual(SummaryBuilder.percentileLevel("p5"), 5)
        XCTAssertNil(SummaryBuilder.percentileLevel("mean"))
        XCTAssertNil(SummaryBuilder.percentileLevel("p"))
        XCTAssertNil(SummaryBuilder.percentileLevel("p0"))
    }

    func testGroupsAreOrderedNumericallyThenByString() throws {
        var runs: [RunRecord] = []
        for n in ["100", "9", "10"] {
            for seed: UInt64 in [2, 1] {
                runs.append(makeRun(seed: seed, parameters: ["cluster.nodes": n, "broker.ack_policy": "all"]))
            }
        }
        runs.append(makeRun(seed: 1, parameters: ["cluster.nodes": "9", "broker.ack_policy": "leader"]))
        let doc = SummaryBuilder.build(RunSet(scenario: "s", mode: "sim", runs: runs))
        let groups = try XCTUnwrap(doc.groups)
        XCTAssertEqual(groups.map { $0.parameters["broker.ack_policy"]! + "/" + $0.parameters["cluster.nodes"]! },
                       ["all/9", "all/10", "all/100", "leader/9"])
        XCTAssertEqual(groups[0].seeds, [1, 2])
        XCTAssertEqual(groups[3].seeds, [1])
        XCTAssertEqual(groups[0].metrics["request_latency"]?.n, 2)
        XCTAssertEqual(doc.metrics["request_latency"]?.n, 7, "top level pools all runs")
        XCTAssertEqual(doc.seeds, [1, 2])
        XCTAssertEqual(SummaryBuilder.compareParameters(["a": "1.5"], ["a": "1e1"]), -1)
        XCTAssertEqual(SummaryBuilder.compareParameters(["a": "x"], ["a": "10"]), 1)
        XCTAssertEqual(SummaryBuilder.compareParameters([:], ["a": "1"]), -1)
        XCTAssertNil(SummaryBuilder.build(tinySet()).groups)
    }

    func testJSONIsDeterministicWithContractKeysAndNoNaN() throws {
        var set = tinySet()
        set.runs[0].metrics["broken"] = .nan
        set.runs[1].metrics["broken"] = .infinity
        let a = ReportRenderer.render(set, format: .json)
        let b = ReportRenderer.render(set, format: .json)
        XCTAssertEqual(a, b)
        set.runs.reverse()
        XCTAssertEqual(ReportRenderer.render(set, format: .json), a, "independent of append order")
        XCTAssertFalse(a.lowercased().contains("nan"))
        XCTAssertFalse(a.contains("inf"))

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any])
        for key in ["scenario", "mode", "seeds", "metrics", "checks", "slos", "runs"] { XCTAssertNotNil(json[key], key) }
        let metric = try XCTUnwrap((json["metrics"] as? [String: Any])?["request_latency"] as? [String: Any])
        for key in ["n", "mean", "stddev", "ci95", "p50", "p99", "unit", "p99_ci95"] { XCTAssertNotNil(metric[key], key) }
        let check = try XCTUnwrap((json["checks"] as? [String: Any])?["no_acknowledged_loss"] as? [String: Any])
        XCTAssertEqual(check["passed"] as? Bool, false)
        XCTAssertEqual(check["violations"] as? Int, 2)
        let slo = try XCTUnwrap((json["slos"] as? [String: Any])?["request_latency_p99"] as? [String: Any])
        for key in ["passed", "limit", "observed"] { XCTAssertNotNil(slo[key], key) }
        let run = try XCTUnwrap((json["runs"] as? [[String: Any]])?.first)
        for key in ["seed", "trace_hash", "events", "passed"] { XCTAssertNotNil(run[key], key) }
        XCTAssertNil(run["parameters"], "plain runs carry no parameters")
        let decoded = try JSONDecoder().decode(SummaryDocument.self, from: Data(a.utf8))
        XCTAssertEqual(decoded, SummaryBuilder.build(set))
    }

    /// A simulated run's summary depends on nothing but its seed (merged shards equal a local
    /// run byte for byte); a live run's keeps when it ran and for how long.
    func testWallTimeIsInTheSummaryOfLiveRunsOnly() throws {
        var slow = makeRun(seed: 1)
        slow.wallSeconds = 9
        slow.startedAt = "2026-12-01T00:00:00Z"
        let fast = RunSet(scenario: "s", mode: "sim", runs: [makeRun(seed: 1)])
        let other = RunSet(scenario: "s", mode: "sim", runs: [slow])
        XCTAssertEqual(ReportRenderer.render(fast, format: .json), ReportRenderer.render(other, format: .json))
        XCTAssertEqual(ReportRenderer.render(fast, format: .md), ReportRenderer.render(other, format: .md))
        XCTAssertFalse(ReportRenderer.render(fast, format: .md).contains("wall s"))
        slow.mode = "live"
        let live = SummaryBuilder.build(RunSet(scenario: "s", mode: "live", runs: [slow]))
        XCTAssertEqual(live.runs.first?.wall_seconds, 9)
        XCTAssertEqual(live.runs.first?.started_at, "2026-12-01T00:00:00Z")
        XCTAssertTrue(ReportRenderer.render(RunSet(scenario: "s", mode: "live", runs: [slow]), format: .md).contains("wall s"))
    }

    func testHugeSeedsSurviveJSON() throws {
        let set = RunSet(scenario: "s", mode: "sim", runs: [makeRun(seed: UInt64.max)])
        let text = ReportRenderer.render(set, format: .json)
        XCTAssertTrue(text.contains("18446744073709551615"))
        let doc = try JSONDecoder().decode(SummaryDocument.self, from: Data(text.utf8))
        XCTAssertEqual(doc.seeds, [UInt64.max])
    }
}

final class ReportRendererTests: XCTestCase {
    func testMarkdownHasTheTables() {
        let set = RunSet(scenario: "leader-failover", mode: "sim", description: "Kill the leader.", slos: [
            StoredSLO(name: "request_latency_p99", metric: "request_latency", statistic: "p99", limit: 50),
        ], runs: [makeRun(seed: 1, latency: latencies([(1.5, 100)])), makeRun(seed: 2, latency: latencies([(2.5, 100)]))])
        let md = ReportRenderer.render(set, format: .md)
        XCTAssertTrue(md.hasPrefix("# leader-failover — PASS"))
        XCTAssertTrue(md.contains("Kill the leader."))
        XCTAssertTrue(md.contains("- seeds: 1, 2"))
        XCTAssertTrue(md.contains("| metric | n | mean | stddev | 95% CI | p50 | p99 |"))
        XCTAssertTrue(md.contains("| error_rate | 2 | 0.1 | 0 | [0.1, 0.1] |"), md)
        XCTAssertTrue(md.contains("| request_latency | 2 | 2 |"), md)
        XCTAssertTrue(md.contains("| no_acknowledged_loss | PASS | 0 | 2 |"))
        XCTAssertTrue(md.contains("| request_latency_p99 | 50 ms | 2.5 ms | PASS |"), md)
        XCTAssertTrue(md.contains("| seed | passed | events | trace hash |"))
        XCTAssertTrue(md.contains("| 1 | yes | 1001 | `"))
        XCTAssertFalse(md.contains("Parameter groups"))
    }

    func testMarkdownSweepHasOneRowPerGroup() {
        let runs = ["4", "16"].flatMap { n in
            [1, 2].map { makeRun(seed: UInt64($0), parameters: ["fanout.n": n], passed: n == "4") }
        }
        let md = ReportRenderer.render(RunSet(scenario: "fanout", mode: "sim", runs: runs), format: .md)
        XCTAssertTrue(md.hasPrefix("# fanout — FAIL"))
        XCTAssertTrue(md.contains("## Parameter groups"))
        XCTAssertTrue(md.contains("| parameters | runs | request_latency p99 | request_latency mean |"), md)
        let fourRow = md.range(of: "| fanout.n=4 | 2 |")
        let sixteenRow = md.range(of: "| fanout.n=16 | 2 |")
        XCTAssertNotNil(fourRow)
        XCTAssertNotNil(sixteenRow)
        if let a = fourRow, let b = sixteenRow { XCTAssertLessThan(a.lowerBound, b.lowerBound) }
    }

    func testTwoParametersGiveAPivotAndGroupsSideBySide() {
        // strategy × depth; latency grows with depth, and central adds 10 ms.
        var runs: [RunRecord] = []
        for strategy in ["central", "local"] {
            for depth in ["1", "2", "3"] {
                let ms = Double(depth)! + (strategy == "central" ? 10 : 0)
                runs += [1, 2].map {
                    makeRun(seed: UInt64($0), parameters: ["auth.strategy": strategy, "services.graph.depth": depth],
                            latency: latencies([(ms, 100)]))
                }
            }
        }
        let md = ReportRenderer.render(RunSet(scenario: "fanout", mode: "sim", runs: runs), format: .md)
        // The parameter with the fewest values (2 strategies) goes across.
        XCTAssertTrue(md.contains("### request_latency p99 (ms): auth.strategy across, the other parameters down"), md)
        XCTAssertTrue(md.contains("| parameters | central | local |"), md)
        XCTAssertTrue(md.contains("| services.graph.depth=3 | 13 | 3 |"), md)
        // Side by side with CIs: p50/p99/p99.9 per group, and scalars as columns per group.
        XCTAssertTrue(md.contains("### request_latency by group"), md)
        XCTAssertTrue(md.contains("| auth.strategy=central, services.graph.depth=1 | 200 | 11 [11, 11] |"), md)
        XCTAssertTrue(md.contains("| error_rate | 0.1 [0.1, 0.1] |"), md)
    }

    func testSimulatedAndLiveGroupsArePairedForHistogramsAndMeans() {
        // Five simulated seeds and three live runs of the same group (parameters but `driver` equal).
        let sim = (1...5).map { seed -> RunRecord in
            makeRun(seed: UInt64(seed), parameters: ["target": "faultline", "driver": "sim"], errorRate: 0.1, latency: latencies([(2, 100)]))
        }
        let live = (1...3).map { seed -> RunRecord in
            var run = makeRun(seed: UInt64(seed), parameters: ["target": "faultline", "driver": "live"], errorRate: 0.1 + 0.05 * Double(seed),
                              latency: latencies([(3, 100)]))
            run.mode = "live"
            return run
        }
        let set = RunSet(scenario: "broker-failover", mode: "live", runs: sim + live)
        let doc = SummaryBuilder.build(set)
        let histogram = doc.sim_vs_live?.first { $0.metric == "request_latency" }
        XCTAssertEqual(histogram?.parameters, ["target": "faultline"])
        XCTAssertEqual(histogram?.p50_difference ?? 0, 0.5, accuracy: 0.01)
        let errors = doc.sim_vs_live_means?.first { $0.metric == "error_rate" }
        XCTAssertEqual(errors?.sim_mean ?? 0, 0.1, accuracy: 1e-9)
        XCTAssertEqual(errors?.live_mean ?? 0, 0.2, accuracy: 1e-9)
        XCTAssertEqual(errors?.difference ?? 0, 1.0, accuracy: 1e-9)
        XCTAssertEqual(errors?.sim_runs, 5)
        XCTAssertEqual(errors?.live_runs, 3)
        XCTAssertNotNil(errors?.live_ci95, "three live runs give a CI")
        let md = ReportRenderer.render(set, format: .md)
        XCTAssertTrue(md.contains("### Simulated vs live: means"), md)
        XCTAssertTrue(md.contains("| target=faultline | error_rate | 0.1 ratio [0.1, 0.1] | 0.2 ratio ["), md)
    }

    func testAccountSizingNamesTheSmallestSettingMeetingTheLimits() {
        func runs(count: String, blast: Double) -> [RunRecord] {
            [1, 2].map { seed in
                var run = makeRun(seed: UInt64(seed), parameters: ["accounts.count": count])
                run.metrics["blast_radius_mean"] = blast + Double(seed) * 0.001
                run.metricUnits["blast_radius_mean"] = "ratio"
                return run
            }
        }
        let all = runs(count: "1", blast: 1) + runs(count: "10", blast: 0.3) + runs(count: "100", blast: 0.05)
        let limit = StoredSLO(name: "blast_radius_mean", metric: "blast_radius_mean", statistic: "mean", limit: 0.1)
        let md = ReportRenderer.render(RunSet(scenario: "sizing", mode: "sim", slos: [limit], runs: all), format: .md)
        XCTAssertTrue(md.contains("## Account sizing"), md)
        XCTAssertTrue(md.contains("| accounts.count=10 | 0.3015 [0.2951, 0.3079] | missed |"), md)
        XCTAssertTrue(md.contains("| accounts.count=100 | 0.0515 [0.04515, 0.05785] | met |"), md)
        XCTAssertTrue(md.contains("Smallest setting that meets every limit: **accounts.count=100**."), md)

        let strict = StoredSLO(name: "blast_radius_mean", metric: "blast_radius_mean", statistic: "mean", limit: 0.01)
        let none = ReportRenderer.render(RunSet(scenario: "sizing", mode: "sim", slos: [strict], runs: all), format: .md)
        XCTAssertTrue(none.contains("**No setting meets every limit.**"), none)
        // Without account metrics there is no such section.
        XCTAssertFalse(ReportRenderer.render(RunSet(scenario: "s", mode: "sim", runs: runs(count: "1", blast: 1).map {
            var r = $0
            r.metrics["blast_radius_mean"] = nil
            return r
        }), format: .md).contains("Account sizing"))
    }

    func testCSVRows() {
        let runs = [makeRun(seed: 1, parameters: ["a": "1"]), makeRun(seed: 2, parameters: ["a": "2"], errorRate: 0.5)]
        let csv = ReportRenderer.render(RunSet(scenario: "s", mode: "sim", runs: runs), format: .csv)
        let lines = csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "seed,parameters,metric,value,unit")
        XCTAssertTrue(lines.contains(#"1,"{""a"":""1""}",error_rate,0.1,ratio"#), csv)
        XCTAssertTrue(lines.contains(#"2,"{""a"":""2""}",error_rate,0.5,ratio"#))
        XCTAssertTrue(lines.contains(#"1,"{""a"":""1""}",throughput_per_s,2000,/s"#))
        XCTAssertTrue(lines.contains(#"1,"{""a"":""1""}",request_latency.count,10,"#))
        XCTAssertTrue(lines.contains { $0.hasPrefix(#"merged,"{""a"":""2""}",request_latency.p99,"#) })
        XCTAssertTrue(lines.contains(#"merged,*,request_latency.count,20,"#))
    }

    func testNumberFormatting() {
        XCTAssertEqual(formatNumber(0), "0")
        XCTAssertEqual(formatNumber(12), "12")
        XCTAssertEqual(formatNumber(12.3456), "12.35")
        XCTAssertEqual(formatNumber(0.0123456), "0.01235")
        XCTAssertEqual(formatNumber(1234.56), "1235")
        XCTAssertEqual(formatNumber(1.5e10), "1.500e+10")
        XCTAssertEqual(formatNumber(-2.5), "-2.5")
    }
}
