import Foundation
import Sampling
import Stats

/// What `faultline compare BASE CURRENT` found: per run group, each metric's base and current
/// value with 95% intervals, the relative change with its interval, the test behind the verdict;
/// and each check and SLO, held or not on either side. The JSON keys are part of the contract
/// (Results/README.md, "Comparisons").
public struct Comparison: Codable, Sendable, Equatable {
    public var scenario: String
    public var base: Side
    public var current: Side
    public var alpha: Double
    /// Relative changes within ± this are never verdicts (unless a limit says otherwise).
    public var noise: Double
    public var groups: [Group]
    public var metrics: [MetricRow]
    public var checks: [CheckRow]
    /// Things the reader should know (few runs, a scenario change allowed, modes differ…).
    public var warnings: [String]

    public struct Side: Codable, Sendable, Equatable {
        /// The folder, database or baseline file as given.
        public var source: String
        public var mode: String
        public var runs: Int
        public var scenario_hash: String?
        public var overrides: [String]?
        public var faultline_version: String?
    }

    public struct Group: Codable, Sendable, Equatable {
        public var parameters: [String: String]
        public var base_runs: Int
        public var current_runs: Int
        /// Runs matched by seed (simulated with the same seeds, or live interleaved rounds).
        public var paired: Bool
        /// Simulated and paired: seeds whose trace hash differs ("behaviour changed").
        public var behaviour_changed: Int?
        /// The first few of them.
        public var changed_seeds: [UInt64]?
    }

    public struct Estimate: Codable, Sendable, Equatable {
        public var value: Double
        public var ci95: [Double]?
        /// Runs behind it.
        public var n: Int
    }

    public struct MetricRow: Codable, Sendable, Equatable {
        public var parameters: [String: String]
        public var metric: String
        /// p50, p99, mean…; histograms' percentiles and means are of the histogram merged over runs.
        public var statistic: String
        public var unit: String
        /// "lower", "higher" or "none": which way is better.
        public var direction: String
        public var base: Estimate
        public var current: Estimate
        /// (current − base) / |base|; absent when the base is 0.
        public var change: Double?
        public var change_ci95: [Double]?
        /// current − base, in the metric's unit.
        public var difference: Double
        /// "identical" (paired, every run the same), "wilcoxon" (paired), "mann-whitney" (unpaired), "none".
        public var test: String
        public var p_value: Double?
        /// The limit that decided the verdict, as written ("+5%", "noise ±1%").
        public var limit: String
        public var verdict: Verdict
        public var note: String?
    }

    public struct CheckRow: Codable, Sendable, Equatable {
        public var parameters: [String: String]
        public var name: String
        /// "check" or "slo".
        public var kind: String
        public var base_held: Bool
        public var current_held: Bool
        public var base_violations: Int?
        public var current_violations: Int?
        /// SLOs: the observed values.
        public var base_observed: Double?
        public var current_observed: Double?
        public var verdict: Verdict
    }

    /// regressed: worse beyond the limit and significant (or a check that held fails now).
    public enum Verdict: String, Codable, Sendable {
        case improved, regressed, unchanged
        case insufficient = "insufficient data"
        /// A metric without a direction moved significantly.
        case changed
    }

    /// Any metric or check regressed: `compare` exits 1.
    public var regressed: Bool {
        metrics.contains { $0.verdict == .regressed } || checks.contains { $0.verdict == .regressed }
    }
}

/// Why two results cannot be compared (exit 2).
public enum ComparisonError: Error, Equatable, CustomStringConvertible {
    case noRuns(String)
    case differentScenarios(base: String, current: String)
    case scenarioChanged(base: String, current: String)
    case groupsDiffer(onlyBase: [String], onlyCurrent: [String])
    case metricsMissing([String])
    case unknownRule(key: String, available: [String])

    public var description: String {
        switch self {
        case .noRuns(let source):
            return "\(source) holds no runs"
        case let .differentScenarios(base, current):
            return "the results are of different scenarios: base '\(base)', current '\(current)'; compare results of one scenario"
        case let .scenarioChanged(base, current):
            return "the scenario file changed between base (hash \(base)) and current (hash \(current)): its numbers may "
                + "not be comparable; pass --allow-scenario-change to compare anyway"
        case let .groupsDiffer(onlyBase, onlyCurrent):
            var parts: [String] = []
            if !onlyBase.isEmpty { parts.append("only in base: \(onlyBase.joined(separator: "; "))") }
            if !onlyCurrent.isEmpty { parts.append("only in current: \(onlyCurrent.joined(separator: "; "))") }
            return "the run groups differ (\(parts.joined(separator: ", "))); run both with the same compare:/--vary settings"
        case .metricsMissing(let lines):
            return "metrics missing on one side:\n  " + lines.joined(separator: "\n  ")
        case let .unknownRule(key, available):
            return "regression limit '\(key)' names no metric, check or SLO of these results; available: \(available.joined(separator: ", "))"
        }
    }
}

public struct ComparisonOptions: Sendable {
    public var thresholds: Thresholds
    /// Compare even when the scenario files' hashes differ.
    public var allowScenarioChange: Bool
    /// Bootstrap resamples for the intervals (seeds resampled; paired runs with the same indices).
    public var resamples: Int

    public init(thresholds: Thresholds = Thresholds(), allowScenarioChange: Bool = false, resamples: Int = 400) {
        self.thresholds = thresholds
        self.allowScenarioChange = allowScenarioChange
        self.resamples = resamples
    }

    public static let defaultAlpha = 0.05
    /// A paired simulation has no noise, but a change below 1% is not worth a verdict.
    public static let simulatedNoise = 0.01
    /// Live runs on one machine in one job still differ by a few percent.
    public static let liveNoise = 0.05
}

public enum Comparer {
    /// Histogram statistics every comparison shows; a limit may add others.
    public static let histogramStatistics = ["p50", "p99", "mean"]

    public static func compare(base: RunSet, current: RunSet, baseSource: String, currentSource: String,
                               options: ComparisonOptions = ComparisonOptions()) throws(ComparisonError) -> Comparison {
        guard !base.runs.isEmpty else { throw .noRuns(baseSource) }
        guard !current.runs.isEmpty else { throw .noRuns(currentSource) }
        guard base.scenario == current.scenario else { throw .differentScenarios(base: base.scenario, current: current.scenario) }
        var warnings: [String] = []
        let baseHash = base.properties[ResultsProperty.scenarioHash], currentHash = current.properties[ResultsProperty.scenarioHash]
        if let baseHash, let currentHash, baseHash != currentHash {
            if !options.allowScenarioChange { throw .scenarioChanged(base: baseHash, current: currentHash) }
            warnings.append("the scenario file changed (hash \(baseHash) → \(currentHash)); compared as told")
        }
        if base.mode != current.mode {
            warnings.append("base ran \(base.mode), current \(current.mode): unpaired comparison; the difference includes the driver's")
        }
        // The current results' own limits, then what the command line adds.
        let stored = Thresholds(json: current.properties[ResultsProperty.regression]) ?? Thresholds()
        let thresholds = stored.overlaid(by: options.thresholds)
        let live = base.mode == "live" || current.mode == "live"
        let alpha = thresholds.alpha ?? ComparisonOptions.defaultAlpha
        let noise = thresholds.noise ?? (live ? ComparisonOptions.liveNoise : ComparisonOptions.simulatedNoise)

        let baseGroups = groupsByParameters(base.runs), currentGroups = groupsByParameters(current.runs)
        let baseKeys = baseGroups.map(\.key), currentKeys = currentGroups.map(\.key)
        if baseKeys != currentKeys {
            throw .groupsDiffer(onlyBase: baseKeys.filter { !currentKeys.contains($0) },
                                onlyCurrent: currentKeys.filter { !baseKeys.contains($0) })
        }
        var result = Comparison(
            scenario: current.scenario, base: side(base, baseSource), current: side(current, currentSource),
            alpha: alpha, noise: noise, groups: [], metrics: [], checks: [], warnings: warnings)
        var missing: [String] = []
        var everyName = Set<String>()
        let interleaved = base.properties[ResultsProperty.interleaved] != nil
            && base.properties[ResultsProperty.interleaved] == current.properties[ResultsProperty.interleaved]
        for (index, (key, baseRuns)) in baseGroups.enumerated() {
            let currentRuns = currentGroups[index].runs
            let parameters = baseRuns[0].parameters
            let label = key == "{}" ? "" : " in group \(key)"
            let pairs = pairedRuns(baseRuns, currentRuns, sameSimulation: base.mode == "sim" && current.mode == "sim",
                                   interleaved: interleaved)
            var group = Comparison.Group(parameters: parameters, base_runs: baseRuns.count, current_runs: currentRuns.count,
                                         paired: pairs != nil)
            if let pairs, base.mode == "sim" && current.mode == "sim" {
                let changed = pairs.filter { $0.base.traceHash != $0.current.traceHash }.map(\.base.seed)
                group.behaviour_changed = changed.count
                group.changed_seeds = changed.isEmpty ? nil : Array(changed.prefix(10))
            }
            result.groups.append(group)

            let baseHist = Set(SummaryBuilder.histogramNames(baseRuns)), currentHist = Set(SummaryBuilder.histogramNames(currentRuns))
            let baseScalar = Set(SummaryBuilder.scalarNames(baseRuns)), currentScalar = Set(SummaryBuilder.scalarNames(currentRuns))
            for name in baseHist.symmetricDifference(currentHist).union(baseScalar.symmetricDifference(currentScalar)).sorted() {
                missing.append("\(name)\(label): only in \(baseHist.contains(name) || baseScalar.contains(name) ? "base" : "current")")
            }
            everyName.formUnion(baseHist.union(baseScalar))
            let context = RowContext(parameters: parameters, alpha: alpha, noise: noise, thresholds: thresholds,
                                     resamples: options.resamples)
            for name in baseHist.intersection(currentHist).sorted() {
                var statistics = histogramStatistics
                for rule in thresholds.rules where rule.metric == name {
                    let s = rule.statistic ?? "mean"
                    if !statistics.contains(s) { statistics.append(s) }
                }
                result.metrics += histogramRows(name, baseRuns, currentRuns, pairs: pairs, statistics: statistics, context)
            }
            for name in baseScalar.intersection(currentScalar).sorted() {
                var statistics = ["mean"]
                for rule in thresholds.rules where rule.metric == name {
                    let s = rule.statistic ?? "mean"
                    if !statistics.contains(s) { statistics.append(s) }
                }
                result.metrics += scalarRows(name, baseRuns, currentRuns, pairs: pairs, statistics: statistics, context)
            }
            let checkRows = self.checkRows(base: baseRuns, current: currentRuns, baseSLOs: base.slos, currentSLOs: current.slos,
                                           parameters: parameters)
            everyName.formUnion(checkRows.map(\.name))
            result.checks += checkRows
        }
        if !missing.isEmpty { throw .metricsMissing(missing) }
        for rule in thresholds.rules where !everyName.contains(rule.metric) {
            throw .unknownRule(key: rule.key, available: everyName.sorted())
        }
        if result.metrics.contains(where: { $0.verdict == .insufficient }) {
            let fewest = result.groups.map { min($0.base_runs, $0.current_runs) }.min() ?? 0
            result.warnings.append("some metrics have too few runs for a verdict at α = \(formatNumber(alpha)) "
                                   + "(fewest runs in a group: \(fewest)); paired tests need ≥ 6 seeds, unpaired ≥ 4 runs per side, 9+ recommended")
        }
        return result
    }

    // MARK: Grouping and pairing

    static func groupsByParameters(_ runs: [RunRecord]) -> [(key: String, runs: [RunRecord])] {
        SummaryBuilder.parameterGroups(SummaryBuilder.orderedRuns(runs)).map { (canonicalParametersJSON($0[0].parameters), $0) }
    }

    /// Base and current runs matched by seed, when the design pairs them: simulations of the
    /// same seeds (deterministic: the same seed is the same world), or live rounds run back to back.
    static func pairedRuns(_ base: [RunRecord], _ current: [RunRecord], sameSimulation: Bool, interleaved: Bool)
        -> [(base: RunRecord, current: RunRecord)]? {
        guard sameSimulation || interleaved else { return nil }
        let baseSeeds = base.map(\.seed), currentSeeds = current.map(\.seed)
        guard Set(baseSeeds).count == baseSeeds.count, Set(baseSeeds) == Set(currentSeeds), currentSeeds.count == baseSeeds.count
        else { return nil }
        let bySeed = Dictionary(uniqueKeysWithValues: current.map { ($0.seed, $0) })
        return base.sorted { $0.seed < $1.seed }.map { ($0, bySeed[$0.seed]!) }
    }

    static func side(_ set: RunSet, _ source: String) -> Comparison.Side {
        let overrides = set.properties[ResultsProperty.overrides]
            .flatMap { $0.data(using: .utf8) }.flatMap { try? JSONDecoder().decode([String].self, from: $0) }
        return .init(source: source, mode: set.mode, runs: set.runs.count,
                     scenario_hash: set.properties[ResultsProperty.scenarioHash],
                     overrides: overrides, faultline_version: set.properties[ResultsProperty.faultlineVersion])
    }

    // MARK: Metric rows

    struct RowContext {
        var parameters: [String: String]
        var alpha: Double
        var noise: Double
        var thresholds: Thresholds
        var resamples: Int
    }

    /// One side's runs as what a resample needs: per statistic, the per-run values (for the
    /// test), and every statistic of "run i taken m_i times" at once (for the intervals).
    struct Sample {
        var perRun: [[Double]]
        var estimate: ([UInt64]) -> [Double]
        /// Work of one estimate, to bound the resamples of very large results.
        var cost: Int
    }

    static func histogramRows(_ name: String, _ baseRuns: [RunRecord], _ currentRuns: [RunRecord],
                              pairs: [(base: RunRecord, current: RunRecord)]?, statistics: [String], _ context: RowContext)
        -> [Comparison.MetricRow] {
        let ms = 1e-6
        let known = statistics.filter { ["mean", "min", "max"].contains($0) || SummaryBuilder.percentileLevel($0) != nil }
        let baseOrdered = pairs?.map(\.base) ?? baseRuns, currentOrdered = pairs?.map(\.current) ?? currentRuns
        let baseParts = baseOrdered.map { $0.histograms[name] ?? LatencyHistogram() }
        let currentParts = currentOrdered.map { $0.histograms[name] ?? LatencyHistogram() }
        let unit = SummaryBuilder.unit(of: name, in: baseRuns, default: "ms")
        func sample(_ parts: [LatencyHistogram]) -> Sample {
            let pool = PooledBuckets(parts)
            let levels = known.map { SummaryBuilder.percentileLevel($0) }
            let perRun = zip(known, levels).map { statistic, level in
                parts.map { h -> Double in
                    if let level { return h.percentile(level) * ms }
                    return (statistic == "mean" ? h.mean : statistic == "max" ? h.max : h.min) * ms
                }
            }
            let wanted = levels.compactMap { $0 }
            return Sample(perRun: perRun, estimate: { m in
                var quantiles = pool.percentiles(wanted, multiplicity: m).makeIterator()
                return zip(known, levels).map { statistic, level -> Double in
                    if level != nil { return (quantiles.next() ?? 0) * ms }
                    switch statistic {
                    case "mean": return pool.mean(multiplicity: m) * ms
                    case "max": return zip(parts, m).filter { $0.1 > 0 }.map { $0.0.max * ms }.max() ?? 0
                    default: return zip(parts, m).filter { $0.1 > 0 && !$0.0.isEmpty }.map { $0.0.min * ms }.min() ?? 0
                    }
                }
            }, cost: pool.bucketCount)
        }
        let identical = pairs != nil && baseParts == currentParts
        return rows(name: name, statistics: known, unit: unit, base: sample(baseParts), current: sample(currentParts),
                    paired: pairs != nil, identical: identical, context)
    }

    static func scalarRows(_ name: String, _ baseRuns: [RunRecord], _ currentRuns: [RunRecord],
                           pairs: [(base: RunRecord, current: RunRecord)]?, statistics: [String], _ context: RowContext)
        -> [Comparison.MetricRow] {
        let unit = SummaryBuilder.unit(of: name, in: baseRuns, default: "")
        // Pairs need a value on both sides; unpaired, each side keeps the runs that have one.
        var baseValues: [Double], currentValues: [Double]
        if let pairs {
            let both = pairs.compactMap { p -> (Double, Double)? in
                guard let b = p.base.metrics[name], let c = p.current.metrics[name], b.isFinite, c.isFinite else { return nil }
                return (b, c)
            }
            baseValues = both.map(\.0)
            currentValues = both.map(\.1)
        } else {
            baseValues = baseRuns.compactMap { $0.metrics[name] }.filter(\.isFinite)
            currentValues = currentRuns.compactMap { $0.metrics[name] }.filter(\.isFinite)
        }
        let known = statistics.filter { ["mean", "min", "max"].contains($0) || SummaryBuilder.percentileLevel($0) != nil }
        func sample(_ values: [Double]) -> Sample {
            Sample(perRun: known.map { _ in values }, estimate: { m in
                var weighted: [Double] = []
                var sum = 0.0, count = 0.0
                for (v, k) in zip(values, m) where k > 0 {
                    sum += v * Double(k)
                    count += Double(k)
                    if known.count > 1 || known.first != "mean" { weighted += Array(repeating: v, count: Int(k)) }
                }
                weighted.sort()
                return known.map { statistic in
                    switch statistic {
                    case "mean": return count > 0 ? sum / count : .nan
                    case "max": return weighted.last ?? .nan
                    case "min": return weighted.first ?? .nan
                    default: return quantile(sortedSamples: weighted, p: (SummaryBuilder.percentileLevel(statistic) ?? 50) / 100)
                    }
                }
            }, cost: values.count)
        }
        return rows(name: name, statistics: known, unit: unit, base: sample(baseValues), current: sample(currentValues),
                    paired: pairs != nil, identical: pairs != nil && baseValues == currentValues, context)
    }

    /// The bootstrap for every statistic of one metric at once, then a row per statistic.
    static func rows(name: String, statistics: [String], unit: String, base: Sample, current: Sample, paired: Bool,
                     identical: Bool, _ context: RowContext) -> [Comparison.MetricRow] {
        let nb = base.perRun.first?.count ?? 0, nc = current.perRun.first?.count ?? 0
        let baseValues = base.estimate([UInt64](repeating: 1, count: nb))
        let currentValues = current.estimate([UInt64](repeating: 1, count: nc))
        // Intervals: runs (seeds) are the independent units and are resampled whole; paired runs
        // share the indices, so the change's interval keeps the pairing. Thousands of seeds with
        // thousands of buckets each would take minutes at the full count: the resamples are
        // bounded by a budget of bucket visits (never below 100).
        var resamples = max(1, context.resamples)
        let cost = max(1, base.cost + current.cost)
        resamples = min(resamples, max(100, 60_000_000 / cost))
        var rng = SplitMix64(seed: SummaryBuilder.bootstrapSeed)
        var baseEstimates = [[Double]](repeating: [], count: statistics.count)
        var currentEstimates = baseEstimates, changes = baseEstimates
        if !identical, nb >= 2, nc >= 2 {
            var mb = [UInt64](repeating: 0, count: nb), mc = [UInt64](repeating: 0, count: nc)
            for _ in 0..<resamples {
                for i in mb.indices { mb[i] = 0 }
                for _ in 0..<nb { mb[Int.random(in: 0..<nb, using: &rng)] += 1 }
                if paired {
                    mc = mb
                } else {
                    for i in mc.indices { mc[i] = 0 }
                    for _ in 0..<nc { mc[Int.random(in: 0..<nc, using: &rng)] += 1 }
                }
                let b = base.estimate(mb), c = current.estimate(mc)
                for k in statistics.indices {
                    baseEstimates[k].append(b[k])
                    currentEstimates[k].append(c[k])
                    if b[k] != 0, b[k].isFinite, c[k].isFinite { changes[k].append((c[k] - b[k]) / abs(b[k])) }
                }
            }
        }
        return statistics.indices.map { k in
            row(name: name, statistic: statistics[k], unit: unit,
                base: (base.perRun[k], baseValues[k], baseEstimates[k]), current: (current.perRun[k], currentValues[k], currentEstimates[k]),
                changes: changes[k], paired: paired, identical: identical, context)
        }
    }

    static func row(name: String, statistic: String, unit: String,
                    base: (perRun: [Double], value: Double, resampled: [Double]),
                    current: (perRun: [Double], value: Double, resampled: [Double]),
                    changes: [Double], paired: Bool, identical: Bool, _ context: RowContext) -> Comparison.MetricRow {
        let nb = base.perRun.count, nc = current.perRun.count
        let baseValue = base.value, currentValue = current.value
        let difference = currentValue - baseValue
        let change: Double? = baseValue != 0 ? difference / abs(baseValue) : (difference == 0 ? 0 : nil)
        let baseEstimates = base.resampled, currentEstimates = current.resampled
        func interval(_ xs: [Double], _ point: Double) -> [Double]? {
            if identical { return pair(point, point) }
            let finiteValues = xs.filter(\.isFinite).sorted()
            guard finiteValues.count >= 10 else { return nil }
            return pair(quantile(sortedSamples: finiteValues, p: 0.025), quantile(sortedSamples: finiteValues, p: 0.975))
        }

        let rule = context.thresholds.rules.first { $0.metric == name && ($0.statistic ?? "mean") == statistic && $0.kind != "must-hold" }
        var direction: Direction
        if let rule {
            direction = rule.limit > 0 ? .lower : .higher
        } else if let stated = context.thresholds.directions[name].flatMap(Direction.init(rawValue:)) {
            direction = stated
        } else {
            direction = Direction.guess(metric: name, unit: unit)
        }

        // The test: per-run values, paired by seed (Wilcoxon signed-rank) or not (Mann–Whitney U).
        var test = "none"
        var pValue: Double?
        var note: String?
        var smallestP = 1.0
        if identical {
            test = "identical"
            pValue = 1
        } else if paired {
            let d = zip(base.perRun, current.perRun).map { $1 - $0 }
            let r = wilcoxonSignedRank(d)
            test = "wilcoxon"
            pValue = r.pValue
            // What the design can reach at best (every seed differing the same way); fewer
            // differing seeds give a larger p-value, which is then an honest "unchanged".
            smallestP = min(1, 2 / pow(2, Double(d.count)))
            if r.n == 0 {
                note = "the same on every seed"
            } else if r.n < d.count {
                note = "differs in \(r.n) of \(d.count) seeds"
            }
        } else {
            let r = mannWhitneyU(base.perRun, current.perRun)
            test = "mann-whitney"
            pValue = r.pValue
            smallestP = min(1, 2 / binomial(nb + nc, nb))
        }

        let limitText: String
        var verdict: Comparison.Verdict
        let significant = (pValue ?? 1) < context.alpha
        // How far the change went the bad way (positive = worse), relative or absolute as the limit is.
        let worse = { (relative: Bool) -> Double in
            let x = relative ? (change ?? (difference == 0 ? 0 : .infinity * (difference > 0 ? 1 : -1))) : difference
            return direction == .higher ? -x : x
        }
        if let rule {
            limitText = rule.written
        } else {
            limitText = "noise ±" + formatNumber(context.noise * 100) + "%"
        }
        let tolerated = rule.map { abs($0.limit) } ?? context.noise
        let relativeLimit = rule.map { $0.kind == "relative" } ?? true
        if identical {
            verdict = .unchanged
        } else if smallestP >= context.alpha {
            verdict = .insufficient
            note = "\(min(nb, nc)) run(s) \(paired ? "paired" : "per side"): no test can reach α = \(formatNumber(context.alpha))"
        } else if direction == .none {
            verdict = significant && abs(change ?? 0) > context.noise ? .changed : .unchanged
        } else if significant && worse(relativeLimit) > tolerated {
            verdict = .regressed
        } else if significant && -worse(true) > context.noise {
            verdict = .improved
        } else {
            verdict = .unchanged
            if significant && worse(relativeLimit) > 0 { note = [note, "worse, within \(limitText)"].compactMap { $0 }.joined(separator: "; ") }
        }
        return .init(parameters: context.parameters, metric: name, statistic: statistic, unit: unit,
                     direction: direction.rawValue,
                     base: .init(value: baseValue, ci95: nb >= 2 ? interval(baseEstimates, baseValue) : nil, n: nb),
                     current: .init(value: currentValue, ci95: nc >= 2 ? interval(currentEstimates, currentValue) : nil, n: nc),
                     change: change.flatMap(finite), change_ci95: identical ? [0, 0] : interval(changes, change ?? 0),
                     difference: difference, test: test, p_value: pValue, limit: limitText, verdict: verdict, note: note)
    }

    /// C(n, k) as a Double (fine for the sizes of run counts; only its size matters).
    static func binomial(_ n: Int, _ k: Int) -> Double {
        var result = 1.0
        for i in 0..<min(k, n - k) { result = result * Double(n - i) / Double(i + 1) }
        return result
    }

    // MARK: Checks and SLOs

    static func checkRows(base: [RunRecord], current: [RunRecord], baseSLOs: [StoredSLO], currentSLOs: [StoredSLO],
                          parameters: [String: String]) -> [Comparison.CheckRow] {
        let b = SummaryBuilder.checksAndSLOs(base, slos: baseSLOs), c = SummaryBuilder.checksAndSLOs(current, slos: currentSLOs)
        var rows: [Comparison.CheckRow] = []
        func verdict(_ baseHeld: Bool, _ currentHeld: Bool) -> Comparison.Verdict {
            baseHeld == currentHeld ? .unchanged : (baseHeld ? .regressed : .improved)
        }
        for name in Set(b.checks.keys).union(c.checks.keys).sorted() {
            // A check one side did not run is neither held nor broken there: only its own side says something.
            let bh = b.checks[name]?.passed ?? true, ch = c.checks[name]?.passed ?? true
            rows.append(.init(parameters: parameters, name: name, kind: "check", base_held: bh, current_held: ch,
                              base_violations: b.checks[name]?.violations, current_violations: c.checks[name]?.violations,
                              verdict: verdict(bh, ch)))
        }
        for name in Set(b.slos.keys).union(c.slos.keys).sorted() {
            let bh = b.slos[name]?.passed ?? true, ch = c.slos[name]?.passed ?? true
            rows.append(.init(parameters: parameters, name: name, kind: "slo", base_held: bh, current_held: ch,
                              base_observed: b.slos[name]?.observed, current_observed: c.slos[name]?.observed,
                              verdict: verdict(bh, ch)))
        }
        return rows
    }
}
