import SimCore
import XCTest
@testable import Stats

final class BootstrapTests: XCTestCase {
    func testSampleBootstrapContainsTrueMedianAndIsDeterministic() {
        var data = SplitMix64(seed: 5)
        // Exponential(1): true median ln 2, true p90 ln 10.
        let samples = (0..<400).map { _ in -log(Double.random(in: Double.ulpOfOne..<1, using: &data)) }
        var r1 = SplitMix64(seed: 1), r2 = SplitMix64(seed: 1)
        let ci = bootstrapPercentileCI(samples: samples, percentile: 50, using: &r1)
        let again = bootstrapPercentileCI(samples: samples, percentile: 50, using: &r2)
        XCTAssertEqual(ci.low, again.low)
        XCTAssertEqual(ci.high, again.high)
        XCTAssertLessThan(ci.low, log(2.0))
        XCTAssertGreaterThan(ci.high, log(2.0))
        XCTAssertLessThan(ci.high - ci.low, 0.5)
        var r3 = SplitMix64(seed: 2)
        let p90 = bootstrapPercentileCI(samples: samples, percentile: 90, using: &r3)
        XCTAssertLessThan(p90.low, log(10.0))
        XCTAssertGreaterThan(p90.high, log(10.0))
    }

    func testBootstrapDegenerateInputs() {
        var rng = SplitMix64(seed: 1)
        let none = bootstrapPercentileCI(samples: [], percentile: 50, using: &rng)
        XCTAssertTrue(none.low.isNaN && none.high.isNaN)
        let one = bootstrapPercentileCI(samples: [4], percentile: 99, resamples: 10, using: &rng)
        XCTAssertEqual(one.low, 4)
        XCTAssertEqual(one.high, 4)
        let noHistograms = bootstrapPercentileCI(histograms: [], percentile: 99, using: &rng)
        XCTAssertTrue(noHistograms.low.isNaN)
    }

    func testClusterBootstrapOverSeeds() {
        // 10 seeds, exponential latencies with mean 1 ms: true p99 = ln(100) ms.
        var data = SplitMix64(seed: 8)
        let seeds: [LatencyHistogram] = (0..<10).map { _ in
            var h = LatencyHistogram()
            for _ in 0..<2000 {
                h.record(Int64(-log(Double.random(in: Double.ulpOfOne..<1, using: &data)) * 1e6))
            }
            return h
        }
        let truth = log(100.0) * 1e6
        var r1 = SplitMix64(seed: 0x5EED), r2 = SplitMix64(seed: 0x5EED)
        let ci = bootstrapPercentileCI(histograms: seeds, percentile: 99, resamples: 200, using: &r1)
        let again = bootstrapPercentileCI(histograms: seeds, percentile: 99, resamples: 200, using: &r2)
        XCTAssertEqual(ci.low, again.low)
        XCTAssertEqual(ci.high, again.high)
        XCTAssertLessThanOrEqual(ci.low, truth)
        XCTAssertGreaterThanOrEqual(ci.high, truth)
        let pooled = LatencyHistogram.merged(seeds).percentile(99)
        XCTAssertLessThanOrEqual(ci.low, pooled)
        XCTAssertGreaterThanOrEqual(ci.high, pooled)
        // Identical seeds: no between-seed spread, so the interval collapses.
        var r3 = SplitMix64(seed: 1)
        let same = bootstrapPercentileCI(histograms: [seeds[0], seeds[0], seeds[0]], percentile: 99, resamples: 50, using: &r3)
        XCTAssertEqual(same.low, same.high)
    }

    /// Few seeds: repeated resamples reuse their remembered percentile. The interval must be
    /// exactly the one computed resample by resample from the same draws, with one seed (every
    /// resample alike), three, five (the largest remembered) and six (none remembered).
    func testRememberedResamplesGiveTheIntervalOfAFreshComputation() {
        var data = SplitMix64(seed: 3)
        let all: [LatencyHistogram] = (0..<6).map { i in
            var h = LatencyHistogram()
            for _ in 0..<500 { h.record(Int64(Double.random(in: 1e5...(2e6 * Double(i + 1)), using: &data))) }
            return h
        }
        for k in [1, 3, 5, 6] {
            let parts = Array(all.prefix(k))
            let pooled = PooledBuckets(parts)
            for p in [50.0, 99] {
                var r1 = SplitMix64(seed: UInt64(k)), r2 = SplitMix64(seed: UInt64(k))
                let ci = bootstrapPercentileCI(pooled: pooled, percentile: p, resamples: 300, using: &r1)
                // The reference: every resample drawn the same way and walked afresh.
                var estimates: [Double] = []
                for _ in 0..<300 {
                    var multiplicity = [UInt64](repeating: 0, count: k)
                    for _ in 0..<k { multiplicity[Int.random(in: 0..<k, using: &r2)] += 1 }
                    estimates.append(pooled.percentile(p, multiplicity: multiplicity))
                }
                estimates.sort()
                XCTAssertEqual(ci.low, quantile(sortedSamples: estimates, p: 0.025), "k \(k) p\(p)")
                XCTAssertEqual(ci.high, quantile(sortedSamples: estimates, p: 0.975), "k \(k) p\(p)")
                XCTAssertEqual(r1.next(), r2.next(), "the same draws were made")
            }
        }
    }
}

final class PooledBucketsTests: XCTestCase {
    func testWeightedPercentileEqualsPercentileOfRepeatedMerge() {
        var rng = SplitMix64(seed: 21)
        let parts: [LatencyHistogram] = (0..<5).map { i in
            var h = LatencyHistogram()
            if i == 2 { return h }  // an empty seed
            if i == 4 { h.record(0, count: 3) }
            for _ in 0..<300 { h.record(Int64(Double.random(in: 1...1e7 * Double(i + 1), using: &rng))) }
            return h
        }
        let pooled = PooledBuckets(parts)
        for _ in 0..<50 {
            let multiplicity = (0..<5).map { _ in UInt64.random(in: 0...3, using: &rng) }
            var merged = LatencyHistogram()
            for (h, m) in zip(parts, multiplicity) { for _ in 0..<m { merged.merge(h) } }
            for p in [0.0, 1, 50, 90, 99, 99.9, 100] {
                XCTAssertEqual(pooled.percentile(p, multiplicity: multiplicity), merged.percentile(p), "p\(p) \(multiplicity)")
            }
        }
    }

    /// The pool is every part's buckets ordered by value, equal values in part order: what a
    /// stable sort of the parts' buckets, one part after another, gives.
    func testPooledEntriesAreTheStablySortedBucketsOfAllParts() {
        var rng = SplitMix64(seed: 3)
        let parts: [LatencyHistogram] = (0..<40).map { i in
            var h = LatencyHistogram()
            if i % 9 == 0 { return h }  // empty seeds
            if i % 5 == 0 { h.record(0, count: 2) }
            for _ in 0..<200 { h.record(Int64(Double.random(in: 1...(1e6 * Double(1 + i % 7)), using: &rng))) }
            return i % 2 == 0 ? h.summarised() : h
        }
        var expected: [(value: UInt64, part: Int, count: UInt64)] = []
        for (part, h) in parts.enumerated() { for e in h.iteratedSparseCounts { expected.append((e.value, part, e.count)) } }
        // A stable sort by value: the index breaks ties.
        expected = expected.enumerated().sorted { ($0.element.value, $0.offset) < ($1.element.value, $1.offset) }.map(\.element)
        let pooled = PooledBuckets(parts)
        XCTAssertEqual(pooled.entries.count, expected.count)
        XCTAssertEqual(pooled.bucketCount, expected.count)
        XCTAssertEqual(pooled.entries.map(\.value), expected.map(\.value))
        XCTAssertEqual(pooled.entries.map(\.part), expected.map(\.part))
        XCTAssertEqual(pooled.entries.map(\.count), expected.map(\.count))
        XCTAssertTrue(PooledBuckets([LatencyHistogram(), LatencyHistogram()]).entries.isEmpty)
    }

    /// Many parts (a 1000-seed swarm): the percentile comes from the cumulative table's binary
    /// search, and must still equal the percentile of the repeated merge, one at a time and in a batch.
    func testManyPartsUseTheCumulativeTableAndAgreeWithTheMerge() {
        var rng = SplitMix64(seed: 7)
        let parts: [LatencyHistogram] = (0..<120).map { i in
            var h = LatencyHistogram()
            if i % 17 == 0 { return h }  // empty seeds
            for _ in 0..<400 { h.record(Int64(Double.random(in: 1e5...(1e6 * Double(1 + i % 9)), using: &rng))) }
            return h
        }
        let pooled = PooledBuckets(parts)
        XCTAssertGreaterThan(pooled.bucketCount, PooledBuckets.tableThreshold, "the test must exercise the table")
        XCTAssertFalse(pooled.rowEnds.isEmpty)
        let ps = [0.0, 1, 50, 90, 99, 99.9, 100]
        for _ in 0..<20 {
            let multiplicity = (0..<parts.count).map { _ in UInt64.random(in: 0...2, using: &rng) }
            var merged = LatencyHistogram()
            for (h, m) in zip(parts, multiplicity) { for _ in 0..<m { merged.merge(h) } }
            let batch = pooled.percentiles(ps, multiplicity: multiplicity)
            for (i, p) in ps.enumerated() {
                XCTAssertEqual(pooled.percentile(p, multiplicity: multiplicity), merged.percentile(p), "p\(p)")
                XCTAssertEqual(batch[i], merged.percentile(p), "batch p\(p)")
            }
        }
    }
}
