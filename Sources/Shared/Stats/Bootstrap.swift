/// Percentile bootstrap confidence interval for the `percentile` (0...100) of `samples`.
///
/// Each of `resamples` resamples draws `samples.count` values with replacement; the interval is
/// the `(1-c)/2` and `(1+c)/2` quantiles of the resampled percentiles. Deterministic given `rng`.
/// No samples → `(.nan, .nan)`; one sample → `(x, x)`.
public func bootstrapPercentileCI(
    samples: [Double], percentile: Double, resamples: Int = 1000, confidence: Double = 0.95,
    using rng: inout some RandomNumberGenerator
) -> (low: Double, high: Double) {
    guard !samples.isEmpty else { return (.nan, .nan) }
    let p = percentile / 100
    var estimates: [Double] = []
    estimates.reserveCapacity(Swift.max(resamples, 1))
    var resample = [Double](repeating: 0, count: samples.count)
    for _ in 0..<Swift.max(resamples, 1) {
        for i in resample.indices {
            resample[i] = samples[uniformIndex(below: samples.count, using: &rng)]
        }
        resample.sort()
        estimates.append(quantile(sortedSamples: resample, p: p))
    }
    return interval(of: estimates, confidence: confidence)
}

/// Cluster bootstrap across seeds: seeds are the independent units, requests within a seed are
/// not. Each resample draws `histograms.count` whole per-seed histograms with replacement,
/// merges them and takes the percentile (ns) of the merge. Deterministic given `rng`.
/// No histograms → `(.nan, .nan)`.
public func bootstrapPercentileCI(
    histograms: [LatencyHistogram], percentile: Double, resamples: Int = 500, confidence: Double = 0.95,
    using rng: inout some RandomNumberGenerator
) -> (low: Double, high: Double) {
    guard !histograms.isEmpty else { return (.nan, .nan) }
    return bootstrapPercentileCI(pooled: PooledBuckets(histograms), percentile: percentile, resamples: resamples,
                                 confidence: confidence, using: &rng)
}

/// The same over histograms pooled once: several percentiles' intervals of one metric share the
/// pooling (building it is most of the cost for a thousand seeds).
public func bootstrapPercentileCI(
    pooled: PooledBuckets, percentile: Double, resamples: Int = 500, confidence: Double = 0.95,
    using rng: inout some RandomNumberGenerator
) -> (low: Double, high: Double) {
    let k = pooled.count
    guard k > 0 else { return (.nan, .nan) }
    var estimates: [Double] = []
    estimates.reserveCapacity(Swift.max(resamples, 1))
    var multiplicity = [UInt64](repeating: 0, count: k)
    // With a few seeds the same resample comes up again and again (with one, every time),
    // and each percentile walks all the pooled buckets: a one-seed run spent 2.7% of its
    // process there. The draws are made as before, so the interval is the same.
    var known: [[UInt64]: Double] = [:]
    let remember = k <= rememberedResampleSeeds
    for _ in 0..<Swift.max(resamples, 1) {
        for i in multiplicity.indices { multiplicity[i] = 0 }
        for _ in 0..<k { multiplicity[uniformIndex(below: k, using: &rng)] += 1 }
        if remember, let estimate = known[multiplicity] {
            estimates.append(estimate)
            continue
        }
        let estimate = pooled.percentile(percentile, multiplicity: multiplicity)
        if remember { known[multiplicity] = estimate }
        estimates.append(estimate)
    }
    return interval(of: estimates, confidence: confidence)
}

/// Up to this many seeds the distinct resamples are few (126 for five seeds, against 500
/// resamples), so their percentiles are remembered; beyond, repeats are too rare to pay.
private let rememberedResampleSeeds = 5

/// The same draw as `Int.random(in: 0..<bound, using: &rng)`: the standard library's
/// "nearly divisionless" bounded draw (Lemire), so intervals stay what they were. Written out
/// here because these functions are generic over the generator and called from another module:
/// unspecialised, the standard library's version went through generic integer witnesses and
/// range metadata per draw, 30 % of summarising 1000 runs under callgrind. This costs one
/// `next()` and a multiply.
@inline(__always)
func uniformIndex(below bound: Int, using rng: inout some RandomNumberGenerator) -> Int {
    precondition(bound > 0, "uniformIndex(below:) needs a positive bound")
    let upper = UInt64(bound)
    var m = rng.next().multipliedFullWidth(by: upper)
    if m.low < upper {
        let threshold = (0 &- upper) % upper
        while m.low < threshold { m = rng.next().multipliedFullWidth(by: upper) }
    }
    return Int(m.high)
}

private func interval(of estimates: [Double], confidence: Double) -> (low: Double, high: Double) {
    let sorted = estimates.sorted()
    let alpha = (1 - Swift.min(Swift.max(confidence, 0), 1)) / 2
    return (quantile(sortedSamples: sorted, p: alpha), quantile(sortedSamples: sorted, p: 1 - alpha))
}


/// The non-empty buckets of several histograms, pooled and sorted once, so that the percentile
/// of "part i merged m_i times" costs one pass over recorded buckets instead of building a
/// histogram per resample. Gives exactly `LatencyHistogram.percentile` of the merge.
/// Public for comparisons that resample seeds of two results with the same multiplicities (paired).
public struct PooledBuckets: Sendable {
    let parts: [LatencyHistogram]
    /// Ascending by value: (highest value equivalent to the bucket, part index, count).
    let entries: [(value: UInt64, part: Int, count: UInt64)]
    /// How many buckets were pooled.
    let pooledCount: Int
    let sameLayout: Bool
    /// Per part: total count and sum of values (the histogram's mean × count).
    let totals: [(count: Double, sum: Double)]
    /// Per part: count, smallest and largest value (read once: `extent` runs per resample).
    let extents: [(count: UInt64, low: UInt64, high: UInt64)]
    /// With many parts (a 1000-seed swarm pools ~2·10⁵ buckets per metric, and a bootstrap walks
    /// them 500 times per percentile: 70 % of `report`'s time at first), a table of each part's
    /// cumulative count at a few thousand evenly spaced points of the pooled buckets
    /// (row-major, `rowEnds[r]` = end of row r in `entries`). A percentile is then a binary search
    /// over rows costing O(parts) per step plus a walk of one row's entries.
    let rowEnds: [Int]
    let cumulative: [UInt32]

    /// Above this many pooled buckets the cumulative table pays for itself.
    static let tableThreshold = 20_000
    /// The table's size (cells of 4 bytes): 8 MB, whatever the number of parts.
    static let tableCells = 2_000_000

    public init(_ parts: [LatencyHistogram]) {
        totals = parts.map { (Double($0.count), $0.mean * Double($0.count)) }
        extents = parts.map { $0.isEmpty ? (0, .max, 0) : ($0.count, $0.histogram.min, $0.histogram.maxRecorded) }
        self.parts = parts
        let digits = parts.first?.histogram.numberOfSignificantValueDigits
        sameLayout = parts.allSatisfy { $0.histogram.numberOfSignificantValueDigits == digits }
        entries = sameLayout ? Self.pooledByValue(parts) : []
        pooledCount = entries.count
        (rowEnds, cumulative) = Self.cumulativeTable(entries, parts: parts)
    }

    /// Every part's buckets as (value, part, count), ordered by value, equal values in part order
    /// (as a stable sort of the parts' buckets one after another would leave them).
    /// The parts share one bucket layout, so a value's slot in it orders the values: a counting
    /// sort by slot (thousands of slots against a million entries for 1000 seeds) replaces a
    /// comparison sort of the entries, which was 12 % of summarising 1000 runs. It reads the
    /// parts twice and writes each entry once, into its place: gathering the entries first, then
    /// their slots, then a sorted copy touched ~0.9 GB of fresh memory for the bench's 10,000
    /// runs (~1,650 buckets each, 24 bytes an entry), and those page faults cost more than the sort.
    static func pooledByValue(_ parts: [LatencyHistogram]) -> [(value: UInt64, part: Int, count: UInt64)] {
        guard let first = parts.first else { return [] }
        let layout = BucketLayout(first.histogram)
        guard parts.allSatisfy({ BucketLayout($0.histogram) == layout }) else {
            var all: [(value: UInt64, part: Int, count: UInt64)] = []
            for (i, h) in parts.enumerated() {
                for e in h.sparseCounts { all.append((e.value, i, e.count)) }
            }
            return all.sorted { $0.value < $1.value }
        }
        let sparse = parts.map(\.sparseCounts)  // decoded once for summarised parts: no copy
        var starts: [Int] = []
        var total = 0
        for buckets in sparse {
            total += buckets.count
            for e in buckets {
                let slot = layout.index(ofValue: e.value)
                if slot + 1 >= starts.count { starts.append(contentsOf: repeatElement(0, count: slot + 2 - starts.count)) }
                starts[slot + 1] += 1
            }
        }
        guard total > 0 else { return [] }
        for slot in 1..<starts.count { starts[slot] += starts[slot - 1] }
        return [(value: UInt64, part: Int, count: UInt64)](unsafeUninitializedCapacity: total) { buffer, initialized in
            for (part, buckets) in sparse.enumerated() {
                for e in buckets {
                    let slot = layout.index(ofValue: e.value)
                    (buffer.baseAddress! + starts[slot]).initialize(to: (e.value, part, e.count))
                    starts[slot] += 1
                }
            }
            initialized = total
        }
    }

    /// Rows of the cumulative table: about `tableCells / parts` bucket values spread evenly over
    /// the pooled buckets (in order); per row, each part's count up to the row's last entry.
    static func cumulativeTable(_ entries: [(value: UInt64, part: Int, count: UInt64)], parts: [LatencyHistogram])
        -> (rowEnds: [Int], cumulative: [UInt32]) {
        guard entries.count > tableThreshold, !parts.isEmpty, parts.allSatisfy({ $0.count < UInt64(UInt32.max) }) else { return ([], []) }
        let width = parts.count
        let rows = Swift.max(2, Swift.min(entries.count, tableCells / width))
        let step = Swift.max(1, entries.count / rows)
        var ends: [Int] = []
        var table: [UInt32] = []
        table.reserveCapacity((entries.count / step + 2) * width)
        var running = [UInt32](repeating: 0, count: width)
        var i = 0
        while i < entries.count {
            // A row ends after `step` entries, extended to the last entry of the same value (a
            // value is never split between rows: the walk inside a row finds it whole).
            var end = Swift.min(i + step, entries.count)
            while end < entries.count && entries[end].value == entries[end - 1].value { end += 1 }
            for e in entries[i..<end] { running[e.part] &+= UInt32(e.count) }
            ends.append(end)
            table.append(contentsOf: running)
            i = end
        }
        return (ends, table)
    }

    /// The smallest pooled value whose weighted cumulative count reaches `target` (nil: none):
    /// a binary search over the table's rows, then a walk inside the one row that crosses it.
    func valueReaching(_ target: UInt64, multiplicity: [UInt64]) -> UInt64? {
        let width = parts.count
        // Only the parts drawn count; a bootstrap draws ~63 % of them.
        let drawn = multiplicity.indices.filter { multiplicity[$0] > 0 }
        func countUpTo(row: Int) -> UInt64 {
            var sum: UInt64 = 0
            cumulative.withUnsafeBufferPointer { cells in
                let base = row * width
                for part in drawn { sum &+= UInt64(cells[base + part]) &* multiplicity[part] }
            }
            return sum
        }
        var low = 0, high = rowEnds.count - 1
        guard high >= 0, countUpTo(row: high) >= target else { return nil }
        while low < high {
            let mid = (low + high) / 2
            if countUpTo(row: mid) >= target { high = mid } else { low = mid + 1 }
        }
        var running = low > 0 ? countUpTo(row: low - 1) : 0
        for e in entries[(low > 0 ? rowEnds[low - 1] : 0)..<rowEnds[low]] {
            running &+= e.count &* multiplicity[e.part]
            if running >= target { return e.value }
        }
        return nil
    }

    public var count: Int { parts.count }

    /// Samples, smallest and largest value of the weighted merge.
    private func extent(_ multiplicity: [UInt64]) -> (total: UInt64, low: UInt64, high: UInt64) {
        var total: UInt64 = 0
        var low = UInt64.max, high: UInt64 = 0
        for (e, m) in zip(extents, multiplicity) where m > 0 && e.count > 0 {
            total &+= e.count &* m
            low = Swift.min(low, e.low)
            high = Swift.max(high, e.high)
        }
        return (total, low, high)
    }
    /// Non-empty buckets over all parts: the cost of one percentile walk.
    public var bucketCount: Int { sameLayout ? pooledCount : parts.reduce(0) { $0 + $1.sparseCounts.count } }

    /// Mean (ns) of the merge with part i taken `multiplicity[i]` times; 0 when empty.
    public func mean(multiplicity: [UInt64]) -> Double {
        var count = 0.0, sum = 0.0
        for (t, m) in zip(totals, multiplicity) where m > 0 {
            count += t.count * Double(m)
            sum += t.sum * Double(m)
        }
        return count > 0 ? sum / count : 0
    }

    /// Several percentiles (0...100, ns) of the same weighted merge in one pass over the pooled
    /// buckets (a comparison resamples thousands of seeds several hundred times: one walk per
    /// resample instead of one per percentile). Each equals `percentile(_:multiplicity:)`.
    public func percentiles(_ ps: [Double], multiplicity: [UInt64]) -> [Double] {
        guard sameLayout, ps.count > 1 else { return ps.map { percentile($0, multiplicity: multiplicity) } }
        let (total, low, high) = extent(multiplicity)
        var result = [Double](repeating: 0, count: ps.count)
        guard total > 0 else { return result }
        // (target count, index) for the levels strictly inside (0, 100); the rest are the extremes.
        var targets: [(target: UInt64, index: Int)] = []
        for (i, p) in ps.enumerated() {
            guard !p.isNaN else { continue }
            switch PercentileRank(p, total: total) {
            case .lowest: result[i] = Double(low)
            case .highest: result[i] = Double(high)
            case .reaching(let rank): targets.append((rank, i))
            }
        }
        targets.sort { $0.target < $1.target }
        if !rowEnds.isEmpty {
            for t in targets {
                result[t.index] = Double(valueReaching(t.target, multiplicity: multiplicity).map { Swift.max(Swift.min($0, high), low) } ?? high)
            }
            return result
        }
        var next = 0
        var running: UInt64 = 0
        for e in entries where next < targets.count {
            running &+= e.count &* multiplicity[e.part]
            while next < targets.count && running >= targets[next].target {
                result[targets[next].index] = Double(Swift.max(Swift.min(e.value, high), low))
                next += 1
            }
        }
        while next < targets.count {
            result[targets[next].index] = Double(high)
            next += 1
        }
        return result
    }

    /// Percentile (0...100, ns) of the merge with part i taken `multiplicity[i]` times.
    public func percentile(_ p: Double, multiplicity: [UInt64]) -> Double {
        guard sameLayout else {
            var merged = LatencyHistogram()
            for (h, m) in zip(parts, multiplicity) where m > 0 {
                for _ in 0..<m { merged.merge(h) }
            }
            return merged.percentile(p)
        }
        let (total, low, high) = extent(multiplicity)
        guard total > 0, !p.isNaN else { return 0 }
        // Mirrors Histogram.valueAtPercentile.
        let target: UInt64
        switch PercentileRank(p, total: total) {
        case .lowest: return Double(low)
        case .highest: return Double(high)
        case .reaching(let rank): target = rank
        }
        if !rowEnds.isEmpty {
            return Double(valueReaching(target, multiplicity: multiplicity).map { Swift.max(Swift.min($0, high), low) } ?? high)
        }
        var running: UInt64 = 0
        for e in entries {
            running &+= e.count &* multiplicity[e.part]
            if running >= target {
                return Double(Swift.max(Swift.min(e.value, high), low))
            }
        }
        return Double(high)
    }
}
