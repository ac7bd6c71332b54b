import Histogram
import SimCore
import XCTest
@testable import Stats

/// The fast paths of `LatencyHistogram` (growth without the library's resize, merges sized up
/// front, `summarised()`) must give exactly what the library's own paths give.
final class HistogramSpeedPathTests: XCTestCase {
    /// The library's auto-resizing histogram fed the same values: the reference.
    private func reference(_ values: [Int64]) -> Histogram<UInt64> {
        var h = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        h.autoResize = true
        for v in values { h.record(UInt64(max(v, 0))) }
        return h
    }

    private func values(seed: UInt64, count: Int, upTo magnitude: Double) -> [Int64] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int64(exp(Double.random(in: 0...log(magnitude), using: &rng))) }
    }

    /// A histogram sized up front (`covering:`, as a time-series window's is) answers exactly
    /// what one grown from the default range answers, whether or not values pass the range.
    func testHistogramSizedUpFrontMatchesOneGrownToTheValues() {
        for covering in [UInt64(2), 1_000, 64_000_000, UInt64.max / 2] {
            let recorded = [1_500_000, 0, 7, 250_000_000_000] + values(seed: covering, count: 3000, upTo: 1e8)
            var sized = LatencyHistogram(significantDigits: .two, covering: covering)
            var grown = LatencyHistogram(significantDigits: .two)
            for v in recorded {
                sized.record(v)
                grown.record(v)
            }
            XCTAssertEqual(sized.count, grown.count)
            for p in [0.0, 1, 50, 90, 99, 99.9, 100] {
                XCTAssertEqual(sized.percentile(p), grown.percentile(p), "p\(p), covering \(covering)")
                XCTAssertEqual(sized.summarised().percentile(p), grown.summarised().percentile(p), "p\(p), covering \(covering)")
            }
            XCTAssertEqual(sized.mean, grown.mean)
        }
    }

    func testGrowingRecordsMatchTheLibrarysAutoResize() {
        // Rising values force several growths: small first, then up to an hour.
        let rising = [3, 900, 2_000_000, 5, 40_000_000_000, 3_600_000_000_000, 1] + values(seed: 1, count: 5000, upTo: 1e10)
        var h = LatencyHistogram()
        for v in rising { h.record(v) }
        let library = reference(rising)
        XCTAssertEqual(h.count, library.totalCount)
        XCTAssertEqual(h.histogram, library)
        XCTAssertEqual(h.max, Double(library.maxRecorded))
        XCTAssertEqual(h.min, Double(library.min))
        for p in [0.0, 1, 50, 90, 99, 99.9, 100] {
            XCTAssertEqual(h.percentile(p), Double(library.valueAtPercentile(p)), "p\(p)")
        }
        XCTAssertEqual(h.mean, library.mean)
    }

    func testMergedEqualsMergingOneByOneWhateverTheRanges() {
        let partValues = [values(seed: 2, count: 300, upTo: 1e4), values(seed: 3, count: 300, upTo: 1e11), [],
                          values(seed: 4, count: 50, upTo: 1e6)]
        let parts = partValues.map { vs -> LatencyHistogram in
            var h = LatencyHistogram()
            for v in vs { h.record(v) }
            return h
        }
        var oneByOne = LatencyHistogram()
        for part in parts { oneByOne.merge(part) }
        let merged = LatencyHistogram.merged(parts)
        XCTAssertEqual(merged, oneByOne)
        XCTAssertEqual(merged.histogram, reference(partValues.flatMap { $0 }))
        XCTAssertEqual(merged.count, 650)
        XCTAssertEqual(merged.percentile(99), Double(reference(partValues.flatMap { $0 }).valueAtPercentile(99)))
    }

    func testSummarisedGivesTheSamePercentilesMeanAndExtremes() {
        for digits in [SignificantDigits.two, .three] {
            var h = LatencyHistogram(significantDigits: digits)
            for v in values(seed: 5, count: 4000, upTo: 1e9) { h.record(v) }
            h.record(0, count: 3)
            let s = h.summarised()
            XCTAssertNotNil(s.decoded, "summarised keeps its buckets")
            for p in [0.0, 0.5, 25, 50, 75, 90, 99, 99.9, 99.99, 100] {
                XCTAssertEqual(s.percentile(p), h.percentile(p), "p\(p) with \(digits) digits")
                // Both walk the counts themselves (decoded buckets, counts read in place): the
                // library's own answer is the reference.
                XCTAssertEqual(h.percentile(p), Double(h.histogram.valueAtPercentile(p)), "p\(p) with \(digits) digits")
            }
            XCTAssertEqual(s.mean, h.mean)
            XCTAssertEqual(s.min, h.min)
            XCTAssertEqual(s.max, h.max)
            XCTAssertEqual(s, h)
            XCTAssertEqual(try LatencyHistogram(serialized: s.serialized()), h)
        }
        XCTAssertTrue(LatencyHistogram().summarised().isEmpty)
    }
}

/// `BucketCounts` reads the library's counts in place; it must list exactly the buckets and
/// counts the library's own iterator lists, for every precision and range.
final class BucketCountsTests: XCTestCase {
    func testReadBucketsEqualTheLibrarysIteratorForEveryPrecision() throws {
        let precisions: [SignificantDigits] = [.zero, .one, .two, .three, .four, .five]
        for (i, digits) in precisions.enumerated() {
            var rng = SplitMix64(seed: UInt64(40 + i))
            var h = LatencyHistogram(significantDigits: digits)
            // Zeros, unit values, and values up to 2^50: every bucket region, several growths.
            for v: Int64 in [0, 0, 1, 2, 3, 2047, 2048, 2049] { h.record(v) }
            for _ in 0..<3000 { h.record(Int64(exp(Double.random(in: 0...log(1e15), using: &rng)))) }
            let slots = try XCTUnwrap(BucketCounts.read(h.histogram), "counts not readable for \(digits)")
            let fast = slots.sparse(of: h.histogram)
            let library = h.iteratedSparseCounts
            XCTAssertEqual(fast.map(\.value), library.map(\.value), "\(digits)")
            XCTAssertEqual(fast.map(\.count), library.map(\.count), "\(digits)")
            XCTAssertEqual(fast.reduce(0) { $0 + $1.count }, h.count)
        }
    }

    func testMergedAndEmptyHistogramsReadLikeTheIterator() throws {
        var a = LatencyHistogram(), b = LatencyHistogram()
        for v: Int64 in [5, 50, 500, 5_000_000] { a.record(v, count: 3) }
        for v: Int64 in [7, 70_000_000_000] { b.record(v) }
        let merged = LatencyHistogram.merged([a, b, LatencyHistogram()])
        XCTAssertEqual(merged.sparseCounts.map(\.value), merged.iteratedSparseCounts.map(\.value))
        XCTAssertEqual(merged.sparseCounts.map(\.count), merged.iteratedSparseCounts.map(\.count))
        XCTAssertEqual(merged.sparseCounts.count, 6)
        XCTAssertTrue(LatencyHistogram().sparseCounts.isEmpty)
    }
}

/// The bootstrap's own bounded draw must be the standard library's, draw for draw: intervals
/// recorded before it was written out must not move.
final class UniformIndexTests: XCTestCase {
    func testDrawsEqualTheStandardLibrarysForAnyBound() {
        for bound in [1, 2, 3, 7, 1000, 4097, 1 << 40, Int.max] {
            var ours = SplitMix64(seed: UInt64(bound % 1000 + 1)), theirs = ours
            for _ in 0..<2000 {
                XCTAssertEqual(uniformIndex(below: bound, using: &ours), Int.random(in: 0..<bound, using: &theirs), "bound \(bound)")
            }
        }
    }
}

/// A time-series window counts its latencies itself (`WindowLatencies`); its percentiles must be
/// exactly what a `LatencyHistogram` of the same precision gives for the same latencies.
final class WindowLatenciesTests: XCTestCase {
    func testWindowPercentilesEqualTheHistogramsForEveryPrecision() {
        var rng = SplitMix64(seed: 31)
        for digits in [SignificantDigits.zero, .one, .two, .three, .four, .five] {
            let layout = BucketLayout(significantDigits: digits)
            for trial in 0..<12 {
                // Small, huge, zero and negative latencies, in windows of 1 to 2,000 values, the
                // first value small or large (the window sizes itself from it).
                let count = [1, 2, 3, 50, 2000][trial % 5]
                // (Fine precisions over huge ranges take tens of MiB of slots: kept to 1e9 there.)
                let fine = digits.rawValue >= 4
                let magnitude = [10.0, 1e6, fine ? 1e9 : 1e12, fine ? 1e9 : 1e18][trial % 4]
                var values = (0..<count).map { _ in Int64(exp(Double.random(in: 0...log(magnitude), using: &rng))) }
                if trial % 3 == 1 { values[0] = 0 }
                if trial % 6 == 2 { values.append(-5); values.append(fine ? 3_000_000_000 : Int64.max / 3) }
                var window = WindowLatencies()
                var histogram = LatencyHistogram(significantDigits: digits)
                for v in values {
                    window.record(v, layout)
                    histogram.record(v)
                }
                XCTAssertEqual(window.total, histogram.count)
                for p in [0.0, 0.1, 25, 50, 90, 99, 99.9, 100, 150, -3] {
                    XCTAssertEqual(window.percentile(p, layout), histogram.percentile(p),
                                   "\(digits) trial \(trial) p\(p)")
                }
            }
        }
        XCTAssertEqual(WindowLatencies().percentile(50, BucketLayout(significantDigits: .two)), 0)
    }

    func testHighestValueOfASlotIsTheLibrarysHighestEquivalentValue() throws {
        for digits in [SignificantDigits.zero, .two, .three, .five] {
            var h = LatencyHistogram(significantDigits: digits)
            h.record(1 << 50)
            let slots = try XCTUnwrap(BucketCounts.read(h.histogram))
            for index in stride(from: 0, to: slots.counts.count, by: 5) {
                let low = slots.layout.lowestValue(atIndex: index)
                XCTAssertEqual(slots.layout.highestValue(atIndex: index), h.histogram.highestEquivalentForValue(low),
                               "\(digits) slot \(index)")
            }
        }
    }
}

/// `BucketLayout` maps slots to values and back as the library does, and pooling histograms
/// orders their buckets as a stable sort by value would.
final class BucketLayoutTests: XCTestCase {
    func testSlotsAndValuesRoundTripForEveryPrecision() throws {
        for digits in [SignificantDigits.zero, .one, .two, .three, .four, .five] {
            var h = LatencyHistogram(significantDigits: digits)
            h.record(1 << 50)
            let slots = try XCTUnwrap(BucketCounts.read(h.histogram))
            let layout = slots.layout
            for index in stride(from: 0, to: slots.counts.count, by: 7) {
                let low = layout.lowestValue(atIndex: index)
                XCTAssertEqual(layout.index(ofValue: low), index, "\(digits) slot \(index)")
                XCTAssertEqual(layout.index(ofValue: h.histogram.highestEquivalentForValue(low)), index, "\(digits) slot \(index)")
            }
        }
    }

    func testPooledBucketsAreInStableValueOrder() {
        var rng = SplitMix64(seed: 9)
        let parts: [LatencyHistogram] = (0..<40).map { i in
            var h = LatencyHistogram()
            for _ in 0..<(i % 5 == 0 ? 0 : 300) { h.record(Int64(exp(Double.random(in: 0...log(1e9), using: &rng)))) }
            return h.summarised()
        }
        let pooled = PooledBuckets(parts)
        var reference: [(value: UInt64, part: Int, count: UInt64)] = []
        for (i, h) in parts.enumerated() { for e in h.sparseCounts { reference.append((e.value, i, e.count)) } }
        reference.sort { $0.value < $1.value }  // stable
        XCTAssertEqual(pooled.entries.count, reference.count)
        XCTAssertEqual(pooled.entries.map(\.value), reference.map(\.value))
        XCTAssertEqual(pooled.entries.map(\.part), reference.map(\.part))
        XCTAssertEqual(pooled.entries.map(\.count), reference.map(\.count))
    }
}
