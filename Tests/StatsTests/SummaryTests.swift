import SimCore
import XCTest
@testable import Stats

final class SummaryTests: XCTestCase {
    func testStudentTQuantilesMatchTables() {
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 19), 2.093024, accuracy: 1e-6)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 1), 12.7062, accuracy: 1e-4)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 1e9), 1.959964, accuracy: 1e-5)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: .infinity), 1.959964, accuracy: 1e-6)
        XCTAssertEqual(studentTQuantile(0.5, degreesOfFreedom: 7), 0, accuracy: 1e-12)
    }

    func testStudentTQuantileRejectsBadArgumentsWithoutAborting() {
        XCTAssertTrue(studentTQuantile(1.5, degreesOfFreedom: 3).isNaN)
        XCTAssertTrue(studentTQuantile(0, degreesOfFreedom: 3).isNaN)
        XCTAssertTrue(studentTQuantile(0.9, degreesOfFreedom: 0).isNaN)
        XCTAssertTrue(studentTQuantile(.nan, degreesOfFreedom: 3).isNaN)
    }

    func testSummaryOfKnownSample() {
        let s = Summary([2, 4, 4, 4, 5, 5, 7, 9])
        XCTAssertEqual(s.n, 8)
        XCTAssertEqual(s.mean, 5, accuracy: 1e-12)
        // Sum of squares 32, n-1 = 7.
        XCTAssertEqual(s.stddev, (32.0 / 7).squareRoot(), accuracy: 1e-12)
        let half = 2.364624 * (32.0 / 7).squareRoot() / 8.0.squareRoot()
        XCTAssertEqual(s.ciLow, 5 - half, accuracy: 1e-5)
        XCTAssertEqual(s.ciHigh, 5 + half, accuracy: 1e-5)
        XCTAssertEqual(s.min, 2)
        XCTAssertEqual(s.max, 9)
    }

    func testDegenerateSummaries() {
        let empty = Summary([])
        XCTAssertEqual(empty.n, 0)
        XCTAssertEqual([empty.mean, empty.stddev, empty.ciLow, empty.ciHigh, empty.min, empty.max], [0, 0, 0, 0, 0, 0])
        let one = Summary([3.5])
        XCTAssertEqual(one.n, 1)
        XCTAssertEqual(one.mean, 3.5)
        XCTAssertEqual(one.stddev, 0)
        XCTAssertEqual(one.ciLow, 3.5)
        XCTAssertEqual(one.ciHigh, 3.5)
        let constant = Summary([2, 2, 2])
        XCTAssertEqual(constant.ciLow, 2)
        XCTAssertEqual(constant.ciHigh, 2)
    }

    func testConfidenceIntervalCoverageOnNormalData() {
        var rng = SplitMix64(seed: 42)
        let trueMean = 10.0
        var covered = 0
        let repetitions = 1000
        for _ in 0..<repetitions {
            let samples = (0..<20).map { _ in trueMean + 3 * rng.nextNormal() }
            let s = Summary(samples)
            if s.ciLow <= trueMean && trueMean <= s.ciHigh { covered += 1 }
        }
        let coverage = Double(covered) / Double(repetitions)
        XCTAssertGreaterThanOrEqual(coverage, 0.93)
        XCTAssertLessThanOrEqual(coverage, 0.97)
    }

    func testQuantileOfSortedSamples() {
        let xs = [1.0, 2, 3, 4, 5]
        XCTAssertEqual(quantile(sortedSamples: xs, p: 0.5), 3)
        XCTAssertEqual(quantile(sortedSamples: xs, p: 0.25), 2)
        XCTAssertEqual(quantile(sortedSamples: xs, p: 0.1), 1.4, accuracy: 1e-12)
        XCTAssertEqual(quantile(sortedSamples: xs, p: 1), 5)
        XCTAssertTrue(quantile(sortedSamples: [], p: 0.5).isNaN)
    }
}
