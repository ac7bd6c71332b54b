import XCTest
@testable import Stats

/// Reference p-values from SciPy 1.17.1: `scipy.stats.wilcoxon(d, zero_method='wilcox', correction=True,
/// method='exact' | 'approx')` and `scipy.stats.mannwhitneyu(x, y, use_continuity=True,
/// alternative='two-sided', method='exact' | 'asymptotic')`.
final class RankTestsTests: XCTestCase {
    func testWilcoxonExactSmallSample() {
        let r = wilcoxonSignedRank([1.5, -0.3, 2.2, 0.7, 1.1, -0.9, 3.0, 0.4])
        XCTAssertTrue(r.exact)
        XCTAssertEqual(r.n, 8)
        XCTAssertEqual(r.statistic, 31)   // ranks of |d|: 0.3→1, 0.4→2, 0.7→3, 0.9→4, …, 3.0→8; W+ = 36 − 1 − 4
        XCTAssertEqual(r.pValue, 0.078125, accuracy: 1e-9)
    }

    func testWilcoxonAllOneWayReachesTheSmallestPValue() {
        let r = wilcoxonSignedRank((1...12).map { 0.1 * Double($0) })
        XCTAssertEqual(r.pValue, 0.00048828125, accuracy: 1e-12)   // 2 / 2^12
    }

    func testWilcoxonTiesUseTheCorrectedNormalApproximation() {
        let r = wilcoxonSignedRank([1, 1, 2, -1, 3, 3, 4, -2, 5, 1, 2])
        XCTAssertFalse(r.exact)
        XCTAssertEqual(r.pValue, 0.03156688711439703, accuracy: 1e-4)
    }

    func testWilcoxonNothingToTest() {
        XCTAssertEqual(wilcoxonSignedRank([0, 0, 0]).pValue, 1)
        XCTAssertEqual(wilcoxonSignedRank([]).pValue, 1)
        XCTAssertEqual(wilcoxonSignedRank([.nan, 0, 2, .nan]).n, 1, "NaNs and zeros are dropped")
    }

    func testMannWhitneyExact() {
        let r = mannWhitneyU([1.1, 2.3, 0.7, 3.1, 1.9, 2.8], [3.4, 4.1, 2.9, 5.0, 3.8, 4.4, 3.3])
        XCTAssertTrue(r.exact)
        XCTAssertEqual(r.statistic, 1)
        XCTAssertEqual(r.pValue, 0.002331002331002331, accuracy: 1e-9)
    }

    func testMannWhitneyTiesAndLargeSamplesUseTheNormalApproximation() {
        let ties = mannWhitneyU([1, 2, 2, 3, 4, 4, 5, 6], [3, 4, 5, 5, 6, 7, 7, 8, 9])
        XCTAssertFalse(ties.exact)
        XCTAssertEqual(ties.statistic, 11)
        XCTAssertEqual(ties.pValue, 0.01754696188101204, accuracy: 1e-4)
        let large = mannWhitneyU((0..<30).map { 0.5 + 0.01 * Double($0) }, (0..<30).map { 0.52 + 0.013 * Double($0) })
        XCTAssertFalse(large.exact)
        XCTAssertEqual(large.statistic, 304.5)
        XCTAssertEqual(large.pValue, 0.0320464273662845, accuracy: 1e-4)
    }

    func testMannWhitneySameSamplesAreNoEvidence() {
        let x = (1...20).map { Double($0) * 1.7 }
        XCTAssertEqual(mannWhitneyU(x, x).pValue, 1, accuracy: 1e-9)
        XCTAssertEqual(mannWhitneyU([], [1, 2]).pValue, 1)
        XCTAssertLessThan(mannWhitneyU((1...20).map(Double.init), (101...120).map(Double.init)).pValue, 0.001)
    }

    func testLargeInputsStayFastAndFinite() {
        let x: [Double] = (0..<1000).map { sin(Double($0)) }
        let y: [Double] = x.map { $0 + 0.05 }
        var d: [Double] = []
        for i in 0..<1000 { d.append(y[i] - x[i] + 0.001 * cos(Double(i))) }
        let w = wilcoxonSignedRank(d)
        XCTAssertTrue(w.pValue >= 0 && w.pValue <= 1)
        let m = mannWhitneyU(x, y)
        XCTAssertTrue(m.pValue > 0 && m.pValue < 1)
    }
}
