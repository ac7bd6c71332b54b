import CGSL

/// GSL's default error handler calls `abort()`; Faultline must never crash on a bad argument,
/// so it is switched off once, before the first GSL call (a global `let` initialises lazily
/// and thread-safely).
let gslErrorHandlerOff: Void = {
    _ = gsl_set_error_handler_off()
}()

/// Quantile of Student's t distribution: the `t` with `P(T ≤ t) = p` for `degreesOfFreedom`.
///
/// Uses GSL's `gsl_cdf_tdist_Pinv`; an infinite number of degrees of freedom gives the normal
/// quantile. Returns `.nan` for `p` outside `(0, 1)` or non-positive degrees of freedom.
public func studentTQuantile(_ p: Double, degreesOfFreedom: Double) -> Double {
    _ = gslErrorHandlerOff
    guard p > 0, p < 1, degreesOfFreedom > 0, !degreesOfFreedom.isNaN else { return .nan }
    if degreesOfFreedom.isInfinite { return gsl_cdf_ugaussian_Pinv(p) }
    return gsl_cdf_tdist_Pinv(p, degreesOfFreedom)
}

/// Quantile of already sorted samples with GSL's linear interpolation between order statistics
/// (`gsl_stats_quantile_from_sorted_data`): `p` in `0...1` (clamped). `.nan` for no samples.
public func quantile(sortedSamples: [Double], p: Double) -> Double {
    _ = gslErrorHandlerOff
    guard !sortedSamples.isEmpty, !p.isNaN else { return .nan }
    let f = Swift.min(Swift.max(p, 0), 1)
    return sortedSamples.withUnsafeBufferPointer { buffer in
        gsl_stats_quantile_from_sorted_data(buffer.baseAddress, 1, buffer.count, f)
    }
}

/// Mean, sample standard deviation and a Student-t confidence interval of repeated measurements
/// (one value per seed or repetition).
///
/// - `n == 0`: every field is zero.
/// - `n == 1`: there is no spread estimate; `stddev` is 0 and the interval collapses to
///   `[mean, mean]`. Readers must look at `n` — a one-sample "interval" says nothing.
/// - otherwise: `mean ± t_{(1+c)/2, n-1} · s/√n`.
public struct Summary: Codable, Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Sample standard deviation (divisor `n - 1`).
    public var stddev: Double
    public var ciLow: Double
    public var ciHigh: Double
    public var min: Double
    public var max: Double
    /// The confidence level of `ciLow...ciHigh`.
    public var confidence: Double

    public init(_ samples: [Double], confidence: Double = 0.95) {
        self.confidence = confidence
        n = samples.count
        guard let first = samples.first else {
            mean = 0; stddev = 0; ciLow = 0; ciHigh = 0; min = 0; max = 0
            return
        }
        min = samples.reduce(first) { Swift.min($0, $1) }
        max = samples.reduce(first) { Swift.max($0, $1) }
        // Two passes over data shifted by the first sample: identical samples give exactly
        // that value and a zero deviation, not rounding noise.
        let shifted = samples.reduce(0) { $0 + ($1 - first) } / Double(n)
        let m = min == max ? first : first + shifted
        mean = m
        guard n > 1, min != max else {
            stddev = 0; ciLow = m; ciHigh = m
            return
        }
        let squares = samples.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        let s = (squares / Double(n - 1)).squareRoot()
        stddev = s
        let t = studentTQuantile((1 + confidence) / 2, degreesOfFreedom: Double(n - 1))
        let half = t.isFinite ? t * s / Double(n).squareRoot() : 0
        ciLow = m - half
        ciHigh = m + half
    }

    /// Half the width of the confidence interval.
    public var halfWidth: Double { (ciHigh - ciLow) / 2 }
}
