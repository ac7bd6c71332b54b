import Foundation
import Histogram

/// Latency distribution of one run, in nanoseconds, backed by an HdrHistogram
/// (3 significant digits, auto-resizing, so any `Int64` latency fits).
///
/// Percentiles across seeds come only from `merged(_:)` — averaging per-seed percentiles is
/// not a percentile of anything (DESIGN.md, "Statistics are honest").
public struct LatencyHistogram: Sendable, Equatable {
    /// The wrapped histogram; read-only outside Stats so that every instance keeps the auto-resizing layout.
    public internal(set) var histogram: Histogram<UInt64>

    /// What a histogram read back from results already had at hand: its non-empty buckets and
    /// mean. Walking the library's (generic, unspecialised) bucket iterator again for every
    /// percentile and mean made comparing two 1000-seed results take 20 s; dropped on any change.
    struct Decoded: Sendable {
        var entries: [(value: UInt64, count: UInt64)]
        var mean: Double

        /// The mean as the library computes it (bucket midpoints), worked out once. The
        /// midpoints come from the layout's arithmetic: the library's generic
        /// `medianEquivalentForValue` cost ~57 instructions a bucket.
        init(entries: [(value: UInt64, count: UInt64)], of histogram: Histogram<UInt64>) {
            self.entries = entries
            let layout = BucketLayout(histogram)
            var weighted = 0.0
            var total: UInt64 = 0
            for e in entries {
                weighted += Double(layout.medianValue(atIndex: layout.index(ofValue: e.value))) * Double(e.count)
                total &+= e.count
            }
            mean = total > 0 ? weighted / Double(total) : 0
        }
    }
    /// Set only by decoding; every mutating method clears it.
    var decoded: Decoded?

    public init() {
        self.init(significantDigits: .three)
    }

    /// A histogram with another precision (lowest discernible value stays 1 ns).
    public init(significantDigits: SignificantDigits) {
        histogram = Histogram<UInt64>(numberOfSignificantValueDigits: significantDigits)
        histogram.autoResize = true
    }

    /// An empty histogram whose range already covers `nanos`, so that recording values up to it
    /// needs no growth (each growth copies every bucket). Percentiles do not depend on the
    /// range: a value's bucket depends only on the precision and the lowest discernible value.
    public init(significantDigits: SignificantDigits, covering nanos: UInt64) {
        histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Swift.max(nanos, 2),
                                      numberOfSignificantValueDigits: significantDigits)
        histogram.autoResize = true
    }

    /// Records one latency. Negative latencies (a clock that went backwards) are recorded as 0.
    public mutating func record(_ nanos: Int64) {
        record(nanos, count: 1)
    }

    public mutating func record(_ nanos: Int64, count: UInt64) {
        guard count > 0 else { return }
        decoded = nil
        let value = UInt64(Swift.max(nanos, 0))
        // A first value sizes the histogram for 64× it: a run's histogram starts at the smallest
        // range, and doubling from there cost a simulated M/M/1 run 19 growths (~190,000
        // instructions each) for a few KiB it now holds from the start.
        if value > histogram.highestTrackableValue { grow(toCover: value, headroom: isEmpty ? 64 : 2) }
        histogram.record(value, count: count)
    }

    /// Makes room for `value` before recording it. The library's own auto-resize appends the
    /// new buckets through a generic, unspecialised path (~250 instructions per bucket, 3.7 M
    /// per growth; 12% of a 10-second replication run under callgrind); a histogram allocated
    /// at the new size and merged into (`add`, specialised here) costs a fraction of that.
    /// Doubling the range (`headroom` 2) leaves room so a slowly rising latency does not regrow
    /// every time.
    mutating func grow(toCover value: UInt64, headroom: UInt64 = 2) {
        let (room, overflow) = Swift.max(value, histogram.highestTrackableValue).multipliedReportingOverflow(by: headroom)
        let target = Swift.max(value, overflow ? UInt64(Int64.max) : room, 2)
        var bigger = Histogram<UInt64>(lowestDiscernibleValue: histogram.lowestDiscernibleValue, highestTrackableValue: target,
                                       numberOfSignificantValueDigits: histogram.numberOfSignificantValueDigits)
        bigger.autoResize = true
        if histogram.totalCount > 0 { bigger.add(histogram) }
        histogram = bigger
    }

    public var count: UInt64 { histogram.totalCount }
    public var isEmpty: Bool { histogram.totalCount == 0 }

    /// The value at percentile `p` (0...100, clamped) in ns; 0 when empty.
    /// `percentile(100)` is the largest recorded value.
    ///
    /// The library's rule (`Histogram.valueAtPercentile`), walked here over the decoded buckets or
    /// the counts read in place: the library's own loop runs unspecialised from this module, a
    /// witness call per slot — ~3 M instructions for one percentile of a run's histogram (6% of
    /// a simulated accounts run, which reads twenty).
    public func percentile(_ p: Double) -> Double {
        guard !isEmpty, !p.isNaN else { return 0 }
        let target: UInt64
        switch PercentileRank(p, total: histogram.totalCount) {
        case .lowest: return Double(histogram.min)
        case .highest: return Double(histogram.maxRecorded)
        case .reaching(let rank): target = rank
        }
        let reached: UInt64?
        if let decoded {
            var running: UInt64 = 0
            reached = decoded.entries.first { e in
                running &+= e.count
                return running >= target
            }?.value
        } else if let slots = BucketCounts.read(histogram) {
            reached = slots.highestValue(reaching: target)
        } else {
            return Double(histogram.valueAtPercentile(Swift.min(Swift.max(p, 0), 100)))
        }
        guard let reached else { return Double(histogram.maxRecorded) }
        return Double(Swift.max(Swift.min(reached, histogram.maxRecorded), histogram.min))
    }

    /// Mean in ns (of bucket midpoints, so within the histogram's precision); 0 when empty.
    public var mean: Double { decoded?.mean ?? histogram.mean }

    /// The fraction of samples above `nanos` (to the histogram's resolution): e.g. the share of
    /// requests slower than a deadline.
    public func fraction(above nanos: Int64) -> Double {
        guard !isEmpty else { return 0 }
        let floor = UInt64(Swift.max(0, nanos))
        let atOrBelow = histogram.count(within: 0...floor)
        return Double(histogram.totalCount - Swift.min(atOrBelow, histogram.totalCount)) / Double(histogram.totalCount)
    }
    /// Smallest recorded value in ns; 0 when empty.
    public var min: Double { isEmpty ? 0 : Double(histogram.min) }
    /// Largest recorded value in ns (exact, not rounded to its bucket); 0 when empty.
    public var max: Double { isEmpty ? 0 : Double(histogram.maxRecorded) }

    /// Adds `other`'s counts to this histogram. Never traps: the library's `add` is used only
    /// when the bucket layouts match (it then grows `self` itself, since `self` auto-resizes);
    /// otherwise the recorded values are replayed.
    public mutating func merge(_ other: LatencyHistogram) {
        guard !other.isEmpty else { return }
        decoded = nil
        let h = other.histogram
        if h.numberOfSignificantValueDigits == histogram.numberOfSignificantValueDigits,
           h.lowestDiscernibleValue == histogram.lowestDiscernibleValue,
           histogram.autoResize {
            if h.maxRecorded > histogram.highestTrackableValue { grow(toCover: h.maxRecorded) }
            histogram.add(h)
        } else {
            Self.replay(other.sparseCounts, minNonZero: other.rawMinNonZero,
                        max: h.maxRecorded, into: &histogram)
        }
    }

    public static func merged(_ hs: [LatencyHistogram]) -> LatencyHistogram {
        var result = LatencyHistogram()
        // Sized for the widest part up front, so that no merge has to grow the result.
        if let widest = hs.map(\.histogram.maxRecorded).max(), widest > result.histogram.highestTrackableValue {
            result.grow(toCover: widest)
        }
        for h in hs { result.merge(h) }
        return result
    }

    /// The same histogram with its non-empty buckets and mean worked out once, so that the
    /// percentiles and mean read from it next do not each walk the library's (generic,
    /// unspecialised) bucket iterator again: one walk instead of five per merged metric.
    public func summarised() -> LatencyHistogram {
        guard decoded == nil, !isEmpty else { return self }
        var copy = self
        copy.decoded = Decoded(entries: sparseCounts, of: histogram)
        return copy
    }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        // The library's == compares min/max rounded to their buckets; exact round trips
        // also keep the raw extremes, which `min`, `max` and percentile clamping expose.
        lhs.histogram == rhs.histogram
            && lhs.histogram.maxRecorded == rhs.histogram.maxRecorded
            && lhs.rawMinNonZero == rhs.rawMinNonZero
    }

    // MARK: Internals shared with serialisation

    /// Non-empty buckets as (highest value equivalent to the bucket, count), ascending.
    var sparseCounts: [(value: UInt64, count: UInt64)] {
        if let decoded { return decoded.entries }
        if let slots = BucketCounts.read(histogram) { return slots.sparse(of: histogram) }
        return iteratedSparseCounts
    }

    /// The same through the library's iterator (slow; the reference `BucketCounts` is tested against).
    var iteratedSparseCounts: [(value: UInt64, count: UInt64)] {
        histogram.recordedValues().map { ($0.value, $0.count) }
    }

    /// The smallest non-zero value as recorded, or 0 if only zeros (or nothing) were recorded.
    /// When zeros were recorded the library only exposes it rounded down to its bucket, which
    /// is then all anyone can observe.
    var rawMinNonZero: UInt64 {
        if histogram.totalCount == 0 { return 0 }
        if histogram.min != 0 { return histogram.min }
        let m = histogram.minNonZero
        return m == .max ? 0 : m
    }

    /// Records sparse counts so that the raw minimum and maximum survive: the lowest non-zero
    /// bucket is recorded at `minNonZero` and the highest at `max` (same buckets, exact extremes).
    static func replay(_ entries: [(value: UInt64, count: UInt64)], minNonZero: UInt64, max: UInt64,
                       into h: inout Histogram<UInt64>) {
        let firstNonZero = entries.firstIndex { $0.value != 0 }
        let last = entries.count - 1
        for (i, e) in entries.enumerated() {
            if e.value == 0 || minNonZero == 0 {
                h.record(e.value, count: e.count)
            } else if i == firstNonZero && i == last {
                // One bucket holds every non-zero value: split it so both extremes are kept.
                if e.count > 1 { h.record(minNonZero, count: e.count - 1) }
                h.record(e.count > 1 ? max : minNonZero, count: 1)
            } else if i == firstNonZero {
                h.record(minNonZero, count: e.count)
            } else if i == last {
                h.record(max, count: e.count)
            } else {
                h.record(e.value, count: e.count)
            }
        }
    }
}

/// The library's percentile rule (`Histogram.valueAtPercentile`) for the paths that walk bucket
/// counts themselves: percentile 0 is the minimum, 100 the maximum, anything between the first
/// bucket whose running count reaches the rank.
enum PercentileRank: Equatable {
    case lowest
    case highest
    case reaching(UInt64)

    /// `p` in 0...100 (clamped; not NaN) over `total` values.
    init(_ p: Double, total: UInt64) {
        let level = Swift.min(Swift.max(p, 0), 100)
        if level == 0 {
            self = .lowest
        } else if level >= 100 {
            self = .highest
        } else {
            // One ulp off, as the library does, so that rounding up does not overrun into the next bucket.
            let requested = Swift.min(Swift.max(level.nextDown, 0), 100)
            self = .reaching(Swift.max(1, UInt64((requested * Double(total) / 100).rounded(.up))))
        }
    }
}

/// Encoded as the base64 of `serialized()`, so run records stay compact in JSON.
extension LatencyHistogram: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "histogram is not base64")
        }
        do {
            try self.init(serialized: [UInt8](data))
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "bad histogram: \(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Data(serialized()).base64EncodedString())
    }
}
