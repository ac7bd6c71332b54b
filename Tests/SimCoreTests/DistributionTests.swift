import Foundation
import SimCore
import XCTest

final class DistributionTests: XCTestCase {
    func sampleMean(_ d: Distribution, n: Int = 200_000, seed: UInt64 = 5) -> (mean: Double, sorted: [Double]) {
        var rng = SeededGenerator(seed: seed)
        let samples = (0..<n).map { _ in d.sample(&rng) }
        return (samples.reduce(0, +) / Double(n), samples.sorted())
    }

    func testMeansMatchClosedForms() {
        let cases: [Distribution] = [
            .constant(3), .uniform(low: 1, high: 4), .exponential(mean: 2),
            .normal(mean: 10, stddev: 2), .lognormal(mu: 0, sigma: 0.5), .pareto(scale: 1, shape: 3),
            .empirical([1, 2, 2, 9]),
        ]
        for d in cases {
            let (mean, _) = sampleMean(d)
            XCTAssertEqual(mean, d.mean!, accuracy: d.mean! * 0.01 + 1e-9, "\(d)")
        }
    }

    func testLognormalByMedianAndP99() {
        let d = Distribution.lognormal(median: 0.4e6, p99: 2e6)
        let (_, sorted) = sampleMean(d)
        XCTAssertEqual(sorted[sorted.count / 2], 0.4e6, accuracy: 0.4e6 * 0.02)
        XCTAssertEqual(sorted[Int(Double(sorted.count) * 0.99)], 2e6, accuracy: 2e6 * 0.03)
    }

    func testExponentialTailAndParetoTail() {
        let (_, exp) = sampleMean(.exponential(mean: 1))
        // P(X > 3) = e^-3 ≈ 0.0498
        let tail = Double(exp.filter { $0 > 3 }.count) / Double(exp.count)
        XCTAssertEqual(tail, exp3(), accuracy: 0.003)
        let (_, pareto) = sampleMean(.pareto(scale: 1, shape: 2))
        XCTAssertEqual(pareto.first!, 1, accuracy: 1e-3)
        // P(X > 10) = (1/10)^2 = 0.01
        XCTAssertEqual(Double(pareto.filter { $0 > 10 }.count) / Double(pareto.count), 0.01, accuracy: 0.001)
    }

    func exp3() -> Double { Foundation.exp(-3) }

    func testEmpiricalStaysWithinObservedRange() {
        var rng = SeededGenerator(seed: 1)
        let d = Distribution.empirical([5, 1, 3])
        for _ in 0..<10_000 {
            let x = d.sample(&rng)
            XCTAssert(x >= 1 && x <= 5)
        }
    }

    func testSampleNanosIsNeverNegative() {
        var rng = SeededGenerator(seed: 2)
        let d = Distribution.normal(mean: 0, stddev: 1_000)
        for _ in 0..<10_000 { XCTAssertGreaterThanOrEqual(d.sampleNanos(&rng), 0) }
    }

    /// Nanoseconds are the draw rounded half away from zero, exactly as `Double.rounded()`:
    /// at halves, just below them, around 2^52 (where doubles stop having fractions) and on
    /// random values of every magnitude.
    func testSampleNanosRoundsHalfAwayFromZeroExactly() {
        var values: [Double] = [0.5, 1.5, 2.5, 0.49999999999999994, 1.4999999999999998, 2.5000000000000004,
                                4_503_599_627_370_495.5, 4_503_599_627_370_496, 9_007_199_254_740_993,
                                1e-300, 0.9999999999999999, 123_456.5, 9.1e18]
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<100_000 {
            values.append(Foundation.exp(rng.nextUnit() * 43))  // 1 … 4.7e18
            values.append(Double(rng.next() >> 40) + 0.5)        // exact halves
            values.append((Double(rng.next() >> 40) + 0.5).nextDown)
        }
        var unused = SeededGenerator(seed: 0)
        for value in values {
            XCTAssertEqual(Distribution.constant(value).sampleNanos(&unused), Int64(value.rounded()), "\(value)")
        }
    }

    func testScaledMultipliesTheMean() {
        let d = Distribution.lognormal(median: 1, p99: 5)
        XCTAssertEqual(d.scaled(by: 10).mean!, d.mean! * 10, accuracy: 1e-9)
        XCTAssertEqual(Distribution.exponential(mean: 2).scaled(by: 3).mean, 6)
    }

    /// `skip` leaves the generator exactly where `sample` would: the streams that throw a draw
    /// away (a message's unused second latency) stay aligned with those that use it.
    func testSkipAdvancesTheGeneratorExactlyAsASampleWould() {
        let cases: [Distribution] = [
            .constant(3), .uniform(low: 1, high: 4), .exponential(mean: 2), .normal(mean: 10, stddev: 2),
            .lognormal(mu: 0, sigma: 0.5), .pareto(scale: 1, shape: 3), .empirical([5]), .empirical([1, 2, 2, 9]),
            .mixture(weights: [0.3, 0.7], components: [.lognormal(mu: 1, sigma: 1), .constant(2)]),
            .mixture(weights: [1, 1, 1], components: [.empirical([1, 3]), .mixture(weights: [1], components: [.normal(mean: 0, stddev: 1)]), .uniform(low: 0, high: 1)]),
        ]
        for d in cases {
            for seed: UInt64 in 1...50 {
                var sampled = SeededGenerator(seed: seed), skipped = SeededGenerator(seed: seed)
                _ = d.sample(&sampled)
                d.skip(&skipped)
                XCTAssertEqual(sampled.next(), skipped.next(), "\(d), seed \(seed)")
                XCTAssertEqual(sampled.next(), skipped.next(), "\(d), seed \(seed)")
            }
        }
    }
}

