import Histogram
import SimCore
import XCTest
@testable import Stats

final class LatencyHistogramTests: XCTestCase {
    private func histogram(_ values: [Int64]) -> LatencyHistogram {
        var h = LatencyHistogram()
        for v in values { h.record(v) }
        return h
    }

    private func exactPercentile(_ sorted: [Int64], _ p: Double) -> Double {
        // Nearest-rank, HdrHistogram's definition.
        let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
        return Double(sorted[rank - 1])
    }

    func testPercentilesWithinPrecision() {
        var rng = SplitMix64(seed: 7)
        // Log-uniform latencies from 1 µs to 1 s.
        let values = (0..<20000).map { _ in Int64(exp(Double.random(in: log(1e3)...log(1e9), using: &rng))) }
        let h = histogram(values)
        let sorted = values.sorted()
        XCTAssertEqual(h.count, 20000)
        for p in [1.0, 10, 50, 90, 99, 99.9] {
            let exact = exactPercentile(sorted, p)
            XCTAssertEqual(h.percentile(p), exact, accuracy: exact * 0.001, "p\(p)")
        }
        XCTAssertEqual(h.max, Double(sorted.last!))
        XCTAssertEqual(h.min, Double(sorted.first!))
        XCTAssertEqual(h.percentile(100), Double(sorted.last!))
        let exactMean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        XCTAssertEqual(h.mean, exactMean, accuracy: exactMean * 0.001)
    }

    func testEmptyAndOddInputsDoNotTrap() {
        var h = LatencyHistogram()
        XCTAssertEqual(h.count, 0)
        XCTAssertEqual(h.percentile(99), 0)
        XCTAssertEqual(h.mean, 0)
        XCTAssertEqual(h.min, 0)
        XCTAssertEqual(h.max, 0)
        h.record(-5)
        h.record(Int64.max)
        h.record(12, count: 0)
        h.record(1_000, count: 3)
        XCTAssertEqual(h.count, 5)
        XCTAssertEqual(h.min, 0)
        XCTAssertEqual(h.max, Double(Int64.max))
        XCTAssertEqual(h.percentile(.nan), 0)
        XCTAssertEqual(h.percentile(-1), 0)
        XCTAssertEqual(h.percentile(50), 1000, accuracy: 1)
    }

    func testMergedP99IsTheP99OfAllValuesNotTheAverage() {
        // Seed A: fast, 1000 requests of 1 ms. Seed B: 1000 requests, 5% of them 100 ms.
        let a = [Int64](repeating: 1_000_000, count: 1000)
        let b = [Int64](repeating: 1_000_000, count: 950) + [Int64](repeating: 100_000_000, count: 50)
        let ha = histogram(a), hb = histogram(b)
        let merged = LatencyHistogram.merged([ha, hb])
        let all = histogram(a + b)
        XCTAssertEqual(merged, all)
        XCTAssertEqual(merged.percentile(99), all.percentile(99))
        // The pooled tail is 2.5% slow, so the pooled p99 is slow…
        XCTAssertEqual(merged.percentile(99), 100_000_000, accuracy: 100_000)
        // …while averaging per-seed p99s gives a number that no request experienced.
        let averaged = (ha.percentile(99) + hb.percentile(99)) / 2
        XCTAssertEqual(averaged, 50_500_000, accuracy: 100_000)
        XCTAssertNotEqual(merged.percentile(99), averaged)
    }

    func testMergeLaws() {
        var rng = SplitMix64(seed: 3)
        func random(_ n: Int, scale: Double) -> LatencyHistogram {
            histogram((0..<n).map { _ in Int64(Double.random(in: 1...scale, using: &rng)) })
        }
        let a = random(500, scale: 1e4), b = random(300, scale: 1e8), c = random(700, scale: 1e6)
        var ab = a; ab.merge(b)
        var ba = b; ba.merge(a)
        XCTAssertEqual(ab, ba, "commutative")
        var abC = ab; abC.merge(c)
        var bc = b; bc.merge(c)
        var aBC = a; aBC.merge(bc)
        XCTAssertEqual(abC, aBC, "associative")
        XCTAssertEqual(abC.count, 1500)
        var withEmpty = a; withEmpty.merge(LatencyHistogram())
        XCTAssertEqual(withEmpty, a)
        var emptyWith = LatencyHistogram(); emptyWith.merge(a)
        XCTAssertEqual(emptyWith, a)
        XCTAssertEqual(LatencyHistogram.merged([]), LatencyHistogram())
    }

    func testDifferentRangesAndLayoutsMergeWithoutTrapping() {
        // A small-range histogram absorbing one that auto-resized far beyond it.
        var small = histogram([1, 2, 3])
        let huge = histogram([Int64.max / 2, 5_000_000_000])
        small.merge(huge)
        XCTAssertEqual(small.count, 5)
        XCTAssertEqual(small.max, Double(Int64.max / 2))
        // Different precision: replayed, counts preserved.
        var coarse = LatencyHistogram(significantDigits: .two)
        coarse.record(123_456)
        coarse.record(7)
        var fine = histogram([1_000])
        fine.merge(coarse)
        XCTAssertEqual(fine.count, 3)
        XCTAssertEqual(fine.max, 123_456)
        XCTAssertEqual(fine.min, 7)
        coarse.merge(fine)
        XCTAssertEqual(coarse.count, 5)
    }

    func testSerializationRoundTrip() throws {
        var rng = SplitMix64(seed: 11)
        var cases: [LatencyHistogram] = [LatencyHistogram(), histogram([0]), histogram([0, 0, 5]),
                                          histogram([123_456_789]), histogram([123_456_789, 123_456_700]),
                                          histogram([Int64.max, 1, 0])]
        cases.append(histogram((0..<5000).map { _ in Int64(Double.random(in: 0...1e9, using: &rng)) }))
        var coarse = LatencyHistogram(significantDigits: .one)
        coarse.record(98_765, count: 4)
        cases.append(coarse)
        for h in cases {
            let bytes = h.serialized()
            let back = try LatencyHistogram(serialized: bytes)
            XCTAssertEqual(back, h)
            XCTAssertEqual(back.min, h.min)
            XCTAssertEqual(back.max, h.max)
            XCTAssertEqual(back.count, h.count)
            for p in [0.0, 50, 99, 99.9, 100] { XCTAssertEqual(back.percentile(p), h.percentile(p)) }
            XCTAssertEqual(back.serialized(), bytes)
        }
        // Compact: a few bytes per non-empty bucket.
        XCTAssertLessThan(cases[6].serialized().count, 5000 * 5)
    }

    func testCodableRoundTrip() throws {
        let h = histogram([5, 50, 500_000])
        let data = try JSONEncoder().encode(["h": h])
        let back = try JSONDecoder().decode([String: LatencyHistogram].self, from: data)
        XCTAssertEqual(back["h"], h)
    }

    /// Decoding accepts a bucket value exactly when the library calls it one (the highest value
    /// of its bucket), and extremes exactly when they fall into the first and last bucket, for
    /// every precision: the checks use the layout's arithmetic, the library is the reference.
    func testDecodingChecksBucketValuesAsTheLibraryDoes() {
        func bytes(_ digits: UInt8, min: UInt64, max: UInt64, value: UInt64) -> [UInt8] {
            var out = Array("FLHG".utf8) + [1, digits]
            for v in [2, min, max, 1, value, 2] { Varint.append(v, to: &out) }  // one bucket, count 2
            return out
        }
        var rng = SplitMix64(seed: 12)
        for digits: UInt8 in 0...5 {
            let library = Histogram<UInt64>(numberOfSignificantValueDigits: SignificantDigits(rawValue: Int8(digits))!)
            var candidates: [UInt64] = [1, 2, 3, 1023, 1024, 2047, 2048, 2049, 1 << 40, (1 << 62) + 12_345]
            for _ in 0..<100 { candidates.append(UInt64(exp(Double.random(in: 0...log(4e18), using: &rng)))) }
            for v in candidates {
                let boundary = library.highestEquivalentForValue(v)
                let low = library.lowestEquivalentForValue(v)
                XCTAssertNoThrow(try LatencyHistogram(serialized: bytes(digits, min: low, max: boundary, value: boundary)),
                                 "\(boundary) with \(digits) digits")
                if boundary != v {
                    XCTAssertThrowsError(try LatencyHistogram(serialized: bytes(digits, min: low, max: boundary, value: v)),
                                         "\(v) is not a bucket value with \(digits) digits")
                }
                if low > 1 {
                    // A minimum in the bucket below is outside the entry's bucket.
                    XCTAssertThrowsError(try LatencyHistogram(serialized: bytes(digits, min: low - 1, max: boundary, value: boundary)))
                }
                if boundary < UInt64(Int64.max) {
                    XCTAssertThrowsError(try LatencyHistogram(serialized: bytes(digits, min: low, max: boundary + 1, value: boundary)))
                }
            }
        }
    }

    func testGarbageIsRejectedNeverTrapping() {
        let good = histogram([1, 1_000, 1_000_000, 0]).serialized()
        XCTAssertThrowsError(try LatencyHistogram(serialized: [])) { XCTAssertEqual($0 as? HistogramDecodingError, .truncated) }
        XCTAssertThrowsError(try LatencyHistogram(serialized: Array("nope".utf8) + [1, 3])) {
            XCTAssertEqual($0 as? HistogramDecodingError, .badMagic)
        }
        var wrongVersion = good; wrongVersion[4] = 9
        XCTAssertThrowsError(try LatencyHistogram(serialized: wrongVersion)) {
            XCTAssertEqual($0 as? HistogramDecodingError, .unsupportedVersion(9))
        }
        XCTAssertThrowsError(try LatencyHistogram(serialized: good + [0]))
        XCTAssertThrowsError(try LatencyHistogram(serialized: Array(good.dropLast())))
        // Every truncation and every single-byte corruption either throws or decodes to something
        // that re-encodes canonically.
        for n in 0..<good.count {
            XCTAssertThrowsError(try LatencyHistogram(serialized: Array(good.prefix(n))))
        }
        for i in good.indices {
            for v: UInt8 in [0, 1, 0x7F, 0x80, 0xFF] {
                var bad = good; bad[i] = v
                if let h = try? LatencyHistogram(serialized: bad) {
                    XCTAssertEqual(h.serialized(), bad)
                }
            }
        }
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<40, using: &rng)
            let junk = Array("FLHG".utf8) + [1] + (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let h = try? LatencyHistogram(serialized: junk) { XCTAssertEqual(h.serialized(), junk) }
        }
        // A huge entry count must not allocate or loop.
        var hugeCount = Array("FLHG".utf8) + [1, 3, 0, 0, 0]
        hugeCount += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        XCTAssertThrowsError(try LatencyHistogram(serialized: hugeCount))
    }
}
