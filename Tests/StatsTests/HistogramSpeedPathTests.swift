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
