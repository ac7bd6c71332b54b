import Sampling
import Foundation
import Stats

/// The machine-readable summary (summary.json). Keys follow DESIGN.md's contract; additions are
/// documented in Results/README.md. Non-finite numbers are never written: such fields are omitted.
public struct SummaryDocument: Codable, Sendable, Equatable {
    public var scenario: String
    public var mode: String
    public var description: String
    /// Distinct seeds, ascending.
    public var seeds: [UInt64]
    /// Every run passed and every check and SLO held (`allPassed`).
    public var passed: Bool
    public var metrics: [String: MetricSummary]
    public var checks: [String: CheckSummary]
    public var slos: [String: SLOSummary]
    public var runs: [RunSummary]
    /// Present for sweeps only, in parameter order.
    public var groups: [GroupSummary]?
    /// Present when the same groups ran simulated and live (parameter `driver: sim|live`, as
    /// `faultline load` writes them for an OAuth scenario): each latency histogram's merged p50
    /// and p99 side by side, with the live value's difference relative to the simulated one.
    public var sim_vs_live: [SimLiveRow]?
    /// The same pairing for scalar metrics (failover time, duplicates, …): the mean over
    /// simulated seeds and over live runs, each with its 95% CI when there are ≥ 2 of them.
    public var sim_vs_live_means: [SimLiveMean]?

    public struct SimLiveMean: Codable, Sendable, Equatable {
        /// The group's parameters without `driver`.
        public var parameters: [String: String]
        public var metric: String
        public var unit: String
        public var sim_mean: Double
        public var sim_ci95: [Double]?
        public var sim_runs: Int
        public var live_mean: Double
        public var live_ci95: [Double]?
        public var live_runs: Int
        /// (live − sim) / sim; absent when the simulated mean is 0.
        public var difference: Double?
    }

    public struct SimLiveRow: Codable, Sendable, Equatable {
        /// The group's parameters without `driver`.
        public var parameters: [String: String]
        public var metric: String
        public var unit: String
        public var sim_p50: Double
        public var live_p50: Double
        /// (live − sim) / sim.
        public var p50_difference: Double?
        public var sim_p99: Double
        public var live_p99: Double
        public var p99_difference: Double?
        public var sim_samples: UInt64
        public var live_samples: UInt64
    }

    public struct MetricSummary: Codable, Sendable, Equatable {
        /// "histogram" or "scalar".
        public var kind: String
        public var unit: String
        /// Runs that reported this metric.
        public var n: Int
        /// Over runs: of per-run values (scalars) or per-run means in ms (histograms).
        public var mean: Double?
        public var stddev: Double?
        public var ci95: [Double]?
        /// Histograms: from the histogram merged over all runs, in ms. Scalars: percentiles of
        /// the per-run values (linear interpolation).
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var p999: Double?
        public var min: Double?
        public var max: Double?
        /// Histograms: samples in the merged histogram.
        public var count: UInt64?
        /// Histograms with ≥ 2 runs: cluster-bootstrap 95% interval of the merged p99 (seeds resampled).
        public var p99_ci95: [Double]?
        /// The same for the merged p50 and p99.9.
        public var p50_ci95: [Double]?
        public var p999_ci95: [Double]?
        /// Histograms: mean of the merged histogram in ms.
        public var merged_mean: Double?
    }

    public struct CheckSummary: Codable, Sendable, Equatable {
        /// Passed in every run that ran it.
        public var passed: Bool
        /// Sum over runs.
        public var violations: Int
        public var runs: Int
    }

    public struct SLOSummary: Codable, Sendable, Equatable {
        public var passed: Bool
        public var limit: Double
        /// Absent when the metric or statistic was not available (the SLO then fails).
        public var observed: Double?
        public var metric: String
        public var statistic: String
        public var unit: String
        public var note: String?
    }

    public struct RunSummary: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var trace_hash: String
        public var events: UInt64
        /// Live runs only: a simulated run's summary is a function of its seed and scenario (so a
        /// sweep merged from shards equals a local one byte for byte); its wall time stays in results.sqlite.
        public var wall_seconds: Double?
        public var passed: Bool
        public var started_at: String?
        public var parameters: [String: String]?
    }

    public struct GroupSummary: Codable, Sendable, Equatable {
        public var parameters: [String: String]
        public var seeds: [UInt64]
        public var metrics: [String: MetricSummary]
        public var checks: [String: CheckSummary]
        public var slos: [String: SLOSummary]
        public var passed: Bool
    }
}

public extension SummaryDocument {
    /// Every run passed and every check and SLO held. A document without runs has not passed.
    var allPassed: Bool { passed }

    /// Pretty-printed JSON with sorted keys: the same input always gives the same bytes.
    func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Non-finite values were removed while building; this only guards against misuse.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text + "\n"
    }
}

public enum SummaryBuilder {
    /// Seed of the cluster bootstrap, fixed so that summaries are reproducible.
    public static let bootstrapSeed: UInt64 = 0x5EED
    public static let bootstrapResamples = 500

    public static func build(_ set: RunSet) -> SummaryDocument {
        let runs = orderedRuns(set.runs)
        let pooled = summarise(runs, slos: set.slos)
        var groups: [SummaryDocument.GroupSummary]?
        if runs.contains(where: { !$0.parameters.isEmpty }) {
            groups = parameterGroups(runs).map { group in
                let s = summarise(group, slos: set.slos)
                return .init(parameters: group[0].parameters, seeds: distinctSeeds(group), metrics: s.metrics,
                             checks: s.checks, slos: s.slos, passed: s.passed)
            }
        }
        var document = SummaryDocument(
            scenario: set.scenario, mode: set.mode, description: set.description, seeds: distinctSeeds(runs),
            passed: pooled.passed, metrics: pooled.metrics, checks: pooled.checks, slos: pooled.slos,
            runs: runs.map {
                let live = $0.mode != "sim"
                return .init(seed: $0.seed, trace_hash: $0.traceHash, events: $0.events,
                             wall_seconds: live ? finite($0.wallSeconds) : nil, passed: $0.passed,
                             started_at: live ? $0.startedAt : nil, parameters: $0.parameters.isEmpty ? nil : $0.parameters)
            },
            groups: groups)
        document.sim_vs_live = simVsLive(groups ?? [])
        document.sim_vs_live_means = simVsLiveMeans(groups ?? [])
        return document
    }

    /// Each `driver: live` group with the `driver: sim` group of otherwise equal parameters
    /// (and those parameters, without `driver`).
    static func simLivePairs(_ groups: [SummaryDocument.GroupSummary])
        -> [(parameters: [String: String], live: SummaryDocument.GroupSummary, sim: SummaryDocument.GroupSummary)] {
        func rest(_ p: [String: String]) -> [String: String] { p.filter { $0.key != "driver" } }
        return groups.filter { $0.parameters["driver"] == "live" }.compactMap { live in
            groups.first { $0.parameters["driver"] == "sim" && rest($0.parameters) == rest(live.parameters) }
                .map { (rest(live.parameters), live, $0) }
        }
    }

    /// Scalar metrics of each live group next to its simulated group's.
    static func simVsLiveMeans(_ groups: [SummaryDocument.GroupSummary]) -> [SummaryDocument.SimLiveMean]? {
        var rows: [SummaryDocument.SimLiveMean] = []
        for (parameters, live, sim) in simLivePairs(groups) {
            for name in live.metrics.keys.sorted() {
                guard let l = live.metrics[name], l.kind == "scalar", let s = sim.metrics[name], s.kind == "scalar",
                      let sm = s.mean, let lm = l.mean else { continue }
                rows.append(.init(parameters: parameters, metric: name, unit: l.unit, sim_mean: sm, sim_ci95: s.ci95,
                                  sim_runs: s.n, live_mean: lm, live_ci95: l.ci95, live_runs: l.n,
                                  difference: sm != 0 ? (lm - sm) / abs(sm) : nil))
            }
        }
        return rows.isEmpty ? nil : rows
    }

    /// Latency histograms of each live group next to its simulated group's.
    static func simVsLive(_ groups: [SummaryDocument.GroupSummary]) -> [SummaryDocument.SimLiveRow]? {
        var rows: [SummaryDocument.SimLiveRow] = []
        for (parameters, live, sim) in simLivePairs(groups) {
            for name in live.metrics.keys.sorted() {
                guard let l = live.metrics[name], l.kind == "histogram", let s = sim.metrics[name], s.kind == "histogram",
                      let sp50 = s.p50, let lp50 = l.p50, let sp99 = s.p99, let lp99 = l.p99 else { continue }
                func difference(_ sim: Double, _ live: Double) -> Double? { sim > 0 ? (live - sim) / sim : nil }
                rows.append(.init(parameters: parameters, metric: name, unit: l.unit, sim_p50: sp50, live_p50: lp50,
                                  p50_difference: difference(sp50, lp50), sim_p99: sp99, live_p99: lp99,
                                  p99_difference: difference(sp99, lp99), sim_samples: s.count ?? 0, live_samples: l.count ?? 0))
            }
        }
        return rows.isEmpty ? nil : rows
    }

    // MARK: Ordering

    /// Runs in group order, then by seed, then by start time: independent of the order in
    /// which parallel jobs happened to append them.
    /// The parameter sets are few (one per group) and comparing two of them sorts their keys, so
    /// they are ranked once and the runs sorted by rank (comparing per pair of runs was 10 % of
    /// summarising 1000 runs). `compareParameters` is 0 only for equal sets, so the order is the same.
    static func orderedRuns(_ runs: [RunRecord]) -> [RunRecord] {
        var groupOf: [[String: String]: Int] = [:]
        var groups: [[String: String]] = []
        let group = runs.map { run in
            if let g = groupOf[run.parameters] { return g }
            groups.append(run.parameters)
            groupOf[run.parameters] = groups.count - 1
            return groups.count - 1
        }
        let byOrder = groups.indices.sorted { compareParameters(groups[$0], groups[$1]) < 0 }
        var rank = [Int](repeating: 0, count: groups.count)
        for (r, g) in byOrder.enumerated() { rank[g] = r }
        return runs.indices.sorted { a, b in
            let ra = rank[group[a]], rb = rank[group[b]]
            if ra != rb { return ra < rb }
            if runs[a].seed != runs[b].seed { return runs[a].seed < runs[b].seed }
            if runs[a].startedAt != runs[b].startedAt { return runs[a].startedAt < runs[b].startedAt }
            return a < b
        }.map { runs[$0] }
    }

    /// Runs grouped by parameters, groups in parameter order (runs must already be ordered).
    static func parameterGroups(_ runs: [RunRecord]) -> [[RunRecord]] {
        var groups: [[RunRecord]] = []
        for run in runs {
            if let last = groups.last?.first, last.parameters == run.parameters {
                groups[groups.count - 1].append(run)
            } else {
                groups.append([run])
            }
        }
        return groups
    }

    /// Orders parameter sets key by key (keys sorted); values compare numerically when both
    /// parse as numbers, else as strings; a missing key sorts first. Ties fall back to the
    /// canonical JSON, so the order is total.
    public static func compareParameters(_ a: [String: String], _ b: [String: String]) -> Int {
        for key in Set(a.keys).union(b.keys).sorted() {
            switch (a[key], b[key]) {
            case (nil, nil): continue
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?):
                if x == y { continue }
                if let dx = Double(x), let dy = Double(y), dx != dy { return dx < dy ? -1 : 1 }
                return x < y ? -1 : 1
            }
        }
        let ca = canonicalParametersJSON(a), cb = canonicalParametersJSON(b)
        return ca == cb ? 0 : (ca < cb ? -1 : 1)
    }

    static func distinctSeeds(_ runs: [RunRecord]) -> [UInt64] {
        Array(Set(runs.map(\.seed))).sorted()
    }

    // MARK: Summaries

    struct Pooled {
        var metrics: [String: SummaryDocument.MetricSummary] = [:]
        var checks: [String: SummaryDocument.CheckSummary] = [:]
        var slos: [String: SummaryDocument.SLOSummary] = [:]
        var passed = false
    }

    static func histogramNames(_ runs: [RunRecord]) -> [String] {
        Array(Set(runs.flatMap(\.histograms.keys))).sorted()
    }

    static func scalarNames(_ runs: [RunRecord]) -> [String] {
        // A name that is also a histogram is summarised as the histogram.
        let histograms = Set(histogramNames(runs))
        return Array(Set(runs.flatMap(\.metrics.keys))).filter { !histograms.contains($0) }.sorted()
    }

    static func unit(of name: String, in runs: [RunRecord], default fallback: String) -> String {
        runs.lazy.compactMap { $0.metricUnits[name] }.first ?? fallback
    }

    static func summarise(_ runs: [RunRecord], slos: [StoredSLO]) -> Pooled {
        var out = Pooled()
        for name in histogramNames(runs) {
            // Summarised once each: the per-run means, the merged percentiles and the bootstrap
            // below read the buckets again and again.
            let parts = runs.compactMap { $0.histograms[name]?.summarised() }
            out.metrics[name] = histogramSummary(parts: parts, merged: LatencyHistogram.merged(parts).summarised(),
                                                 unit: unit(of: name, in: runs, default: "ms"))
        }
        for name in scalarNames(runs) {
            out.metrics[name] = scalarSummary(runs.compactMap { $0.metrics[name] }, unit: unit(of: name, in: runs, default: ""))
        }
        let verdicts = checksAndSLOs(runs, slos: slos)
        out.checks = verdicts.checks
        out.slos = verdicts.slos
        out.passed = !runs.isEmpty && runs.allSatisfy(\.passed)
            && out.checks.values.allSatisfy(\.passed) && out.slos.values.allSatisfy(\.passed)
        return out
    }

    /// Checks and SLOs of some runs alone (no metric summaries, no bootstrap: cheap).
    static func checksAndSLOs(_ runs: [RunRecord], slos: [StoredSLO])
        -> (checks: [String: SummaryDocument.CheckSummary], slos: [String: SummaryDocument.SLOSummary]) {
        var out = Pooled()
        var merged: [String: LatencyHistogram] = [:]
        for name in histogramNames(runs) where slos.contains(where: { $0.metric == name }) {
            merged[name] = LatencyHistogram.merged(runs.compactMap { $0.histograms[name] }).summarised()
        }
        var perRun: [String: [Double]] = [:]
        for name in scalarNames(runs) where slos.contains(where: { $0.metric == name }) {
            perRun[name] = runs.compactMap { $0.metrics[name] }
        }
        for run in runs {
            for check in run.checks {
                var c = out.checks[check.name] ?? .init(passed: true, violations: 0, runs: 0)
                c.passed = c.passed && check.passed
                c.violations += check.violations
                c.runs += 1
                out.checks[check.name] = c
            }
        }
        for slo in slos {
            out.slos[slo.name] = evaluate(slo, merged: merged, perRun: perRun, runs: runs)
        }
        return (out.checks, out.slos)
    }

    static func histogramSummary(parts: [LatencyHistogram], merged: LatencyHistogram, unit: String) -> SummaryDocument.MetricSummary {
        let ms = 1e-6
        let means = parts.filter { !$0.isEmpty }.map { $0.mean * ms }
        let s = Summary(means)
        var m = SummaryDocument.MetricSummary(kind: "histogram", unit: unit, n: s.n)
        if s.n > 0 {
            m.mean = finite(s.mean)
            m.stddev = finite(s.stddev)
            m.ci95 = pair(s.ciLow, s.ciHigh)
        }
        m.count = merged.count
        if !merged.isEmpty {
            m.p50 = finite(merged.percentile(50) * ms)
            m.p90 = finite(merged.percentile(90) * ms)
            m.p99 = finite(merged.percentile(99) * ms)
            m.p999 = finite(merged.percentile(99.9) * ms)
            m.min = finite(merged.min * ms)
            m.max = finite(merged.max * ms)
            m.merged_mean = finite(merged.mean * ms)
        }
        let nonEmpty = parts.filter { !$0.isEmpty }
        if nonEmpty.count >= 2 {
            var rng = SplitMix64(seed: bootstrapSeed)
            let pooled = PooledBuckets(nonEmpty)
            let ci = bootstrapPercentileCI(pooled: pooled, percentile: 99, resamples: bootstrapResamples, using: &rng)
            m.p99_ci95 = pair(ci.low * ms, ci.high * ms)
            let ci50 = bootstrapPercentileCI(pooled: pooled, percentile: 50, resamples: bootstrapResamples, using: &rng)
            m.p50_ci95 = pair(ci50.low * ms, ci50.high * ms)
            let ci999 = bootstrapPercentileCI(pooled: pooled, percentile: 99.9, resamples: bootstrapResamples, using: &rng)
            m.p999_ci95 = pair(ci999.low * ms, ci999.high * ms)
        }
        return m
    }

    static func scalarSummary(_ values: [Double], unit: String) -> SummaryDocument.MetricSummary {
        let s = Summary(values)
        var m = SummaryDocument.MetricSummary(kind: "scalar", unit: unit, n: s.n)
        guard s.n > 0 else { return m }
        m.mean = finite(s.mean)
        m.stddev = finite(s.stddev)
        m.ci95 = pair(s.ciLow, s.ciHigh)
        m.min = finite(s.min)
        m.max = finite(s.max)
        let sorted = values.sorted()
        m.p50 = finite(quantile(sortedSamples: sorted, p: 0.5))
        m.p99 = finite(quantile(sortedSamples: sorted, p: 0.99))
        return m
    }

    /// "p50" → 50, "p90" → 90, "p999" → 99.9, "p9999" → 99.99, "p5" → 5.
    static func percentileLevel(_ statistic: String) -> Double? {
        guard statistic.hasPrefix("p"), statistic.count >= 2 else { return nil }
        let digits = statistic.dropFirst()
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        let text = digits.count > 2 ? digits.prefix(2) + "." + digits.dropFirst(2) : digits
        guard let p = Double(String(text)), p > 0, p <= 100 else { return nil }
        return p
    }

    static func evaluate(_ slo: StoredSLO, merged: [String: LatencyHistogram], perRun: [String: [Double]],
                         runs: [RunRecord]) -> SummaryDocument.SLOSummary {
        var observed: Double?
        var note: String?
        var unit = ""
        let stat = slo.statistic.lowercased()
        if let h = merged[slo.metric] {
            unit = "ms"
            if h.isEmpty {
                note = "histogram \(slo.metric) has no samples"
            } else if let p = percentileLevel(stat) {
                observed = h.percentile(p) * 1e-6
            } else if stat == "mean" {
                observed = h.mean * 1e-6
            } else if stat == "max" {
                observed = h.max * 1e-6
            } else if stat == "min" {
                observed = h.min * 1e-6
            } else {
                note = "unknown statistic \(slo.statistic)"
            }
        } else if let values = perRun[slo.metric], !values.isEmpty {
            unit = self.unit(of: slo.metric, in: runs, default: "")
            if stat == "mean" {
                observed = Summary(values).mean
            } else if stat == "max" {
                observed = values.max()
            } else if stat == "min" {
                observed = values.min()
            } else if let p = percentileLevel(stat) {
                observed = quantile(sortedSamples: values.sorted(), p: p / 100)
            } else {
                note = "unknown statistic \(slo.statistic)"
            }
        } else {
            note = "metric \(slo.metric) was not recorded"
        }
        let value = observed.flatMap(finite)
        if observed != nil && value == nil { note = "observed value is not finite" }
        // `min` is a lower bound (e.g. availability_min, throughput_per_s_min); the rest are upper bounds.
        let passed = value.map { stat == "min" ? $0 >= slo.limit : $0 <= slo.limit } ?? false
        return .init(passed: passed, limit: slo.limit, observed: value, metric: slo.metric,
                     statistic: slo.statistic, unit: unit, note: note)
    }
}

func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

func pair(_ a: Double, _ b: Double) -> [Double]? {
    a.isFinite && b.isFinite ? [a, b] : nil
}
