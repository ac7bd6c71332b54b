import CGSL

/// The outcome of a two-sided rank test.
public struct RankTestResult: Sendable, Equatable {
    /// Wilcoxon: W+ (sum of ranks of positive differences). Mann-Whitney: U of the first sample
    /// (number of pairs (x, y) with x > y, ties counting 1/2).
    public var statistic: Double
    /// Two-sided p-value in [0, 1]. 1 when there is nothing to test (no non-zero differences, an empty sample).
    public var pValue: Double
    /// Wilcoxon: the non-zero differences used. Mann-Whitney: n1 + n2.
    public var n: Int
    /// Whether the p-value comes from the exact null distribution (else the normal approximation).
    public var exact: Bool
}

/// Average ranks (1-based) of `values`, and Σ(t³ − t) over groups of t tied values (the ties'
/// correction of the rank-sum variance).
func averageRanks(_ values: [Double]) -> (ranks: [Double], ties: Double) {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var ties = 0.0
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
        let rank = Double(i + j) / 2 + 1
        for k in i...j { ranks[order[k]] = rank }
        let t = Double(j - i + 1)
        ties += t * t * t - t
        i = j + 1
    }
    return (ranks, ties)
}

/// Two-sided p-value of an integer statistic from its exact null distribution (counts per value).
private func twoSided(_ observed: Int, counts: [Double]) -> Double {
    let total = counts.reduce(0, +)
    guard total > 0 else { return 1 }
    let lower = counts[0...Swift.min(Swift.max(observed, 0), counts.count - 1)].reduce(0, +)
    let upper = counts[Swift.min(Swift.max(observed, 0), counts.count - 1)...].reduce(0, +)
    return Swift.min(1, 2 * Swift.min(lower, upper) / total)
}

/// Two-sided p-value from the normal approximation with a continuity correction of 0.5.
private func normalTwoSided(_ statistic: Double, mean: Double, variance: Double) -> Double {
    _ = gslErrorHandlerOff
    guard variance > 0 else { return 1 }
    let z = Swift.max(0, abs(statistic - mean) - 0.5) / variance.squareRoot()
    return Swift.min(1, 2 * gsl_cdf_ugaussian_Q(z))
}

/// Wilcoxon signed-rank test of paired differences (H0: symmetric around 0), two-sided.
/// Zero differences are dropped (Wilcoxon's convention), tied |d| get average ranks.
/// Exact p-value (by dynamic programming over rank sums) when n ≤ 50 and there are no ties among |d|;
/// otherwise the normal approximation with tie correction of the variance and a continuity correction of 0.5.
public func wilcoxonSignedRank(_ differences: [Double]) -> RankTestResult {
    let d = differences.filter { !$0.isNaN && $0 != 0 }
    guard !d.isEmpty else { return RankTestResult(statistic: 0, pValue: 1, n: 0, exact: true) }
    let (ranks, ties) = averageRanks(d.map(abs))
    let wPlus = zip(d, ranks).reduce(0.0) { $0 + ($1.0 > 0 ? $1.1 : 0) }
    let n = d.count
    if n <= 50 && ties == 0 {
        // counts[w]: subsets of {1…n} whose sum is w (each equally likely under H0).
        let maxSum = n * (n + 1) / 2
        var counts = [Double](repeating: 0, count: maxSum + 1)
        counts[0] = 1
        for k in 1...n {
            for w in stride(from: maxSum, through: k, by: -1) { counts[w] += counts[w - k] }
        }
        return RankTestResult(statistic: wPlus, pValue: twoSided(Int(wPlus.rounded()), counts: counts), n: n, exact: true)
    }
    let nn = Double(n)
    let variance = nn * (nn + 1) * (2 * nn + 1) / 24 - ties / 48
    return RankTestResult(statistic: wPlus, pValue: normalTwoSided(wPlus, mean: nn * (nn + 1) / 4, variance: variance),
                          n: n, exact: false)
}

/// Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples, two-sided.
/// Exact p-value when n1, n2 ≤ 25 (each) and there are no ties in the pooled sample; otherwise normal
/// approximation with tie-corrected variance and continuity correction 0.5.
public func mannWhitneyU(_ x: [Double], _ y: [Double]) -> RankTestResult {
    let a = x.filter { !$0.isNaN }, b = y.filter { !$0.isNaN }
    guard !a.isEmpty, !b.isEmpty else { return RankTestResult(statistic: 0, pValue: 1, n: a.count + b.count, exact: true) }
    let (ranks, ties) = averageRanks(a + b)
    let n1 = a.count, n2 = b.count
    let u = ranks.prefix(n1).reduce(0, +) - Double(n1 * (n1 + 1)) / 2
    if n1 <= 25 && n2 <= 25 && ties == 0 {
        // f[i][j][u]: orderings of i x's and j y's with U = u (Mann & Whitney's recursion:
        // the largest value is an x, adding j to U, or a y).
        let maxU = n1 * n2
        var previous = [[Double]](repeating: [], count: n2 + 1)   // row i − 1
        for i in 0...n1 {
            var row = [[Double]](repeating: [], count: n2 + 1)
            for j in 0...n2 {
                var f = [Double](repeating: 0, count: i * j + 1)
                if i == 0 || j == 0 {
                    f[0] = 1
                } else {
                    for (k, c) in previous[j].enumerated() where c > 0 { f[k + j] += c }
                    for (k, c) in row[j - 1].enumerated() where c > 0 { f[k] += c }
                }
                row[j] = f
            }
            previous = row
        }
        var counts = previous[n2]
        if counts.count < maxU + 1 { counts += [Double](repeating: 0, count: maxU + 1 - counts.count) }
        return RankTestResult(statistic: u, pValue: twoSided(Int(u.rounded()), counts: counts), n: n1 + n2, exact: true)
    }
    let m1 = Double(n1), m2 = Double(n2), n = m1 + m2
    let variance = m1 * m2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    return RankTestResult(statistic: u, pValue: normalTwoSided(u, mean: m1 * m2 / 2, variance: variance), n: n1 + n2, exact: false)
}
