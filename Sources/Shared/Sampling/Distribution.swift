import Foundation

/// A probability distribution over non-unit-bearing `Double`s. The scenario parser converts
/// units before building one (durations become nanoseconds, sizes bytes), so a distribution
/// never needs to know what it measures.
/// Codable (synthesised, tagged by case) so a live run can hand one to a node, e.g. a slow-fsync
/// failpoint's delay.
public enum Distribution: Sendable, Equatable, Hashable, Codable {
    case constant(Double)
    case uniform(low: Double, high: Double)
    case exponential(mean: Double)
    case normal(mean: Double, stddev: Double)
    /// `ln X ~ Normal(mu, sigma)`.
    case lognormal(mu: Double, sigma: Double)
    /// Type I Pareto: `P(X > x) = (scale / x)^shape` for `x ≥ scale`.
    case pareto(scale: Double, shape: Double)
    /// Resampling from observed values (sorted ascending), interpolating linearly between
    /// neighbours so the result is a continuous version of the empirical CDF.
    case empirical(sortedSamples: [Double])
    /// Component i with probability weights[i] / Σ weights — e.g. "10 ms, but 1 s one time in
    /// a hundred", the slow-replica model of "The Tail at Scale".
    indirect case mixture(weights: [Double], components: [Distribution])

    /// z such that Φ(z) = 0.99.
    static let z99 = 2.326_347_874_040_840_8

    /// A lognormal given by the two numbers engineers actually know: its median and p99.
    public static func lognormal(median: Double, p99: Double) -> Distribution {
        precondition(median > 0 && p99 >= median)
        let mu = Foundation.log(median)
        return .lognormal(mu: mu, sigma: (Foundation.log(p99) - mu) / z99)
    }

    public static func empirical(_ samples: [Double]) -> Distribution {
        precondition(!samples.isEmpty)
        return .empirical(sortedSamples: samples.sorted())
    }

    /// One draw. Consumes a fixed number of generator outputs per case (one, except
    /// normal/lognormal which use two), which keeps streams aligned across runs.
    @inlinable
    public func sample(_ rng: inout SeededGenerator) -> Double {
        switch self {
        case .constant(let value):
            return value
        case .uniform(let low, let high):
            return low + (high - low) * rng.nextUnit()
        case .exponential(let mean):
            return -mean * Foundation.log(rng.nextOpenUnit())
        case .normal(let mean, let stddev):
            return mean + stddev * Distribution.standardNormal(&rng)
        case .lognormal(let mu, let sigma):
            return Foundation.exp(mu + sigma * Distribution.standardNormal(&rng))
        case .pareto(let scale, let shape):
            return scale / Foundation.pow(rng.nextOpenUnit(), 1 / shape)
        case .empirical(let samples):
            if samples.count == 1 { return samples[0] }
            let position = rng.nextUnit() * Double(samples.count - 1)
            let lower = Int(position)
            let fraction = position - Double(lower)
            return samples[lower] + fraction * (samples[lower + 1] - samples[lower])
        case .mixture(let weights, let components):
            guard let i = Distribution.component(weights, &rng) else { return 0 }
            return components[i].sample(&rng)
        }
    }

    /// Advances `rng` exactly as `sample` would, without computing the draw: for a draw that is
    /// taken only to keep the stream aligned and then thrown away (a message's second latency,
    /// used only if the message is duplicated). A lognormal draw costs ~330 instructions
    /// (log, cos, sqrt, exp); its skip, two generator steps.
    @inlinable
    public func skip(_ rng: inout SeededGenerator) {
        switch self {
        case .constant:
            return
        case .uniform, .exponential, .pareto:
            _ = rng.next()
        case .normal, .lognormal:
            _ = rng.next()
            _ = rng.next()
        case .empirical(let samples):
            if samples.count > 1 { _ = rng.next() }
        case .mixture(let weights, let components):
            guard let i = Distribution.component(weights, &rng) else { return }
            components[i].skip(&rng)
        }
    }

    /// A mixture's component for one uniform draw (nil only without components).
    @inlinable
    static func component(_ weights: [Double], _ rng: inout SeededGenerator) -> Int? {
        var u = rng.nextUnit() * weights.reduce(0, +)
        for (i, weight) in weights.enumerated() {
            if u < weight || i == weights.count - 1 { return i }
            u -= weight
        }
        return nil
    }

    /// Box–Muller; uses one of the pair so each draw costs exactly two generator outputs.
    @inlinable
    static func standardNormal(_ rng: inout SeededGenerator) -> Double {
        let u1 = rng.nextOpenUnit()
        let u2 = rng.nextUnit()
        return Foundation.sqrt(-2 * Foundation.log(u1)) * Foundation.cos(2 * Double.pi * u2)
    }

    /// The distribution's mean, or `nil` where it is infinite (Pareto with shape ≤ 1).
    public var mean: Double? {
        switch self {
        case .constant(let value): return value
        case .uniform(let low, let high): return (low + high) / 2
        case .exponential(let mean): return mean
        case .normal(let mean, _): return mean
        case .lognormal(let mu, let sigma): return Foundation.exp(mu + sigma * sigma / 2)
        case .pareto(let scale, let shape): return shape > 1 ? shape * scale / (shape - 1) : nil
        case .empirical(let samples):
            // Mean of the piecewise-linear interpolation between sorted samples.
            if samples.count == 1 { return samples[0] }
            var total = 0.0
            for i in 0..<(samples.count - 1) { total += (samples[i] + samples[i + 1]) / 2 }
            return total / Double(samples.count - 1)
        case .mixture(let weights, let components):
            let total = weights.reduce(0, +)
            var sum = 0.0
            for (weight, component) in zip(weights, components) {
                guard let mean = component.mean else { return nil }
                sum += weight / total * mean
            }
            return sum
        }
    }

    /// Applies `transform` to every parameter that carries the quantity's unit (not to
    /// shapes or sigmas). Used to rescale, e.g. "slow down service times 10×".
    public func scaled(by factor: Double) -> Distribution {
        switch self {
        case .constant(let v): return .constant(v * factor)
        case .uniform(let l, let h): return .uniform(low: l * factor, high: h * factor)
        case .exponential(let m): return .exponential(mean: m * factor)
        case .normal(let m, let s): return .normal(mean: m * factor, stddev: s * factor)
        case .lognormal(let mu, let sigma): return .lognormal(mu: mu + Foundation.log(factor), sigma: sigma)
        case .pareto(let scale, let shape): return .pareto(scale: scale * factor, shape: shape)
        case .empirical(let s): return .empirical(sortedSamples: s.map { $0 * factor })
        case .mixture(let w, let c): return .mixture(weights: w, components: c.map { $0.scaled(by: factor) })
        }
    }
}

public typealias VirtualTime = Int64  // nanoseconds since the start of the run

public enum Nanos {
    public static let microsecond: Int64 = 1_000
    public static let millisecond: Int64 = 1_000_000
    public static let second: Int64 = 1_000_000_000
}

extension Distribution {
    /// A draw interpreted as a duration in nanoseconds: rounded, never negative
    /// (a normal latency can go below zero; time cannot).
    @inlinable
    public func sampleNanos(_ rng: inout SeededGenerator) -> Int64 {
        let value = sample(&rng)
        guard value > 0 else { return 0 }
        return value >= 9.2e18 ? Int64.max / 4 : Self.roundedHalfAway(value)
    }

    /// `Int64(value.rounded())` for 0 < value < 9.2e18, without the call into libm's `round`
    /// (1% of a simulated fan-out run, one per network hop and service time). Exact: the
    /// fraction `value - whole` is computed without rounding error (Sterbenz: whole ≤ value
    /// ≤ 2·whole once value ≥ 1; below 1 whole is 0; from 2^52 on, value is whole).
    @usableFromInline @inline(__always)
    static func roundedHalfAway(_ value: Double) -> Int64 {
        let whole = Int64(value)  // truncates toward zero
        return value - Double(whole) >= 0.5 ? whole + 1 : whole
    }
}
