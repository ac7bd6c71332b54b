import XCTest
import SimCore
@testable import Stats

/// A histogram read back from its serialised form answers from the decoded buckets (fast path):
/// it must answer exactly as the histogram it was written from, and stop using them once changed.
final class DecodedHistogramTests: XCTestCase {
    func sample(seed: UInt64) -> LatencyHistogram {
        var rng = SplitMix64(seed: seed)
        var h = LatencyHistogram()
        for _ in 0..<5000 {
            // Spread over five orders of magnitude, with some zeros.
            let exponent = Double.random(in: 0...5, using: &rng)
            h.record(Int64.random(in: 0..<10, using: &rng) == 0 ? 0 : Int64(pow(10, exponent) * 1000))
        }
        return h
    }

    func testDecodedAnswersLikeTheOriginal() throws {
        for seed in 1...5 as ClosedRange<UInt64> {
            let original = sample(seed: seed)
            let decoded = try LatencyHistogram(serialized: original.serialized())
            XCTAssertNotNil(decoded.decoded, "decoding keeps the buckets")
            for p in [0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100] as [Double] {
                XCTAssertEqual(decoded.percentile(p), original.percentile(p), "seed \(seed) p\(p)")
            }
            XCTAssertEqual(decoded.mean, original.mean, accuracy: original.mean * 1e-12)
            XCTAssertEqual(decoded, original)
            XCTAssertEqual(decoded.sparseCounts.map(\.value), original.sparseCounts.map(\.value))
        }
    }

    func testChangingADecodedHistogramDropsTheShortcut() throws {
        var decoded = try LatencyHistogram(serialized: sample(seed: 9).serialized())
        var reference = sample(seed: 9)
        decoded.record(50_000_000_000)
        reference.record(50_000_000_000)
        XCTAssertNil(decoded.decoded)
        XCTAssertEqual(decoded.percentile(100), reference.percentile(100))
        XCTAssertEqual(decoded.mean, reference.mean, accuracy: 1e-6)
        var merged = try LatencyHistogram(serialized: sample(seed: 3).serialized())
        merged.merge(sample(seed: 4))
        XCTAssertNil(merged.decoded)
        XCTAssertEqual(merged.percentile(99), LatencyHistogram.merged([sample(seed: 3), sample(seed: 4)]).percentile(99))
    }

    func testPooledPercentilesInOnePassEqualOneByOne() {
        let parts = (1...6 as ClosedRange<UInt64>).map { sample(seed: $0) }
        let pool = PooledBuckets(parts)
        let m: [UInt64] = [2, 0, 1, 3, 0, 1]
        let levels = [99.9, 50, 0, 99, 100, 10]
        XCTAssertEqual(pool.percentiles(levels, multiplicity: m), levels.map { pool.percentile($0, multiplicity: m) })
        var merged = LatencyHistogram()
        for (h, k) in zip(parts, m) { for _ in 0..<k { merged.merge(h) } }
        XCTAssertEqual(pool.percentile(99, multiplicity: m), merged.percentile(99))
        XCTAssertEqual(pool.mean(multiplicity: m), merged.mean, accuracy: merged.mean * 1e-9)
    }
}
