import Histogram

/// The latencies of one time-series window, counted in the slots of an HdrHistogram of the
/// window's precision, with the two things a window reports: its 50th and 99th percentiles.
///
/// Why not a `LatencyHistogram` per window (as before): a window only ever records and is read
/// for two percentiles, and through the library that cost ~290 instructions per latency
/// (copy-on-write checks, range growth) plus ~230,000 per window to read (reflection to reach
/// the counts, then a walk building every bucket): 12% of a simulated M/M/1 customer's
/// instructions under callgrind, of which this saves 7 points. Here a latency is a slot index
/// and an increment, and a percentile one walk that stops at its rank. The slots, the extremes
/// and the percentile rule are the library's (`BucketLayout`, `LatencyHistogram.percentile`),
/// so every window reports what its `LatencyHistogram` would; a test checks that on random
/// windows of every precision.
struct WindowLatencies: Sendable {
    private(set) var counts: [UInt64] = []
    private(set) var total: UInt64 = 0
    /// The largest latency as recorded (not rounded to its slot).
    private(set) var maxRecorded: UInt64 = 0
    /// The smallest non-zero latency as recorded; `.max` when none.
    private(set) var minNonZero: UInt64 = .max

    var isEmpty: Bool { total == 0 }

    /// The smallest latency, as the library reports it: 0 when a zero was recorded.
    var min: UInt64 { total == 0 || counts[0] > 0 ? 0 : minNonZero }

    /// Records one latency (ns; negative ones, a clock that went backwards, as 0).
    @inline(__always)
    mutating func record(_ nanos: Int64, _ layout: BucketLayout) {
        let value = UInt64(Swift.max(nanos, 0))
        let index = layout.index(ofValue: value)
        if index >= counts.count { grow(toHold: index, layout) }
        counts.withUnsafeMutableBufferPointer { $0[index] &+= 1 }
        total &+= 1
        if value > maxRecorded { maxRecorded = value }
        if value < minNonZero, value != 0 { minNonZero = value }
    }

    /// Room for slot `index`: on the first latency up to 64× it (so a window whose latencies
    /// rise rarely grows again), later at least double.
    mutating func grow(toHold index: Int, _ layout: BucketLayout) {
        let wanted: Int
        if counts.isEmpty {
            let value = layout.lowestValue(atIndex: index)
            let (room, overflow) = value.multipliedReportingOverflow(by: 64)
            wanted = (overflow ? index : layout.index(ofValue: room)) + 1
        } else {
            wanted = Swift.max(index + 1, counts.count * 2)
        }
        counts.append(contentsOf: repeatElement(0, count: Swift.max(wanted, index + 1) - counts.count))
    }

    /// The latency at percentile `p` (0...100, clamped) in ns, exactly as
    /// `LatencyHistogram.percentile` answers for the same latencies at the same precision; 0 when empty.
    func percentile(_ p: Double, _ layout: BucketLayout) -> Double {
        guard total > 0, !p.isNaN else { return 0 }
        let target: UInt64
        switch PercentileRank(p, total: total) {
        case .lowest: return Double(min)
        case .highest: return Double(maxRecorded)
        case .reaching(let rank): target = rank
        }
        // The same walk as a run's histogram read in place (`BucketCounts`).
        guard let reached = BucketCounts(counts: counts, layout: layout).highestValue(reaching: target) else {
            return Double(maxRecorded)
        }
        return Double(Swift.max(Swift.min(reached, maxRecorded), min))
    }
}
