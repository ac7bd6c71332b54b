import Foundation
import Sampling

/// The one implementation of open-loop arrival times, shared by the simulator and the live load
/// driver (`LoadCore.ArrivalSchedule`), so that a scenario's simulated and live load are the same
/// process drawn the same way.
extension ArrivalProcess {
    /// The time (ns, ≥ 1) from an arrival `elapsed` ns after the workload's start to the next one.
    ///
    /// Draws only from `rng`, a fixed number of outputs per call: one for `poisson` and `ramp`,
    /// none for `constant`, the distribution's own count for `interarrival`. Only `ramp` reads
    /// `elapsed`, so the other processes draw exactly as they did before ramps existed.
    ///
    /// `ramp` is a non-homogeneous Poisson process sampled by inverting its integrated rate
    /// Λ (Çinlar's method) rather than by thinning: one unit-exponential draw E per arrival, then
    /// the gap τ solves Λ(t₀ + τ) − Λ(t₀) = E. Thinning would spend a variable number of draws per
    /// arrival (more the further the rate is below its peak); inversion keeps one draw per
    /// arrival, like `poisson`, and is exact. On the linear part, with r₀ the rate at t₀ and b the
    /// slope, (b/2)τ² + r₀τ = E gives τ = 2E / (r₀ + √(r₀² + 2bE)), a form that stays accurate as
    /// b → 0 and for falling ramps.
    public func interarrival(elapsed: Int64, _ rng: inout SeededGenerator) -> Int64 {
        switch self {
        case .poisson(let perSecond):
            return max(1, Distribution.exponential(mean: 1e9 / perSecond).sampleNanos(&rng))
        case .constant(let perSecond):
            return max(1, Int64((1e9 / perSecond).rounded()))
        case .interarrival(let distribution):
            return max(1, distribution.sampleNanos(&rng))
        case .ramp(let from, let to, let over):
            let e = Distribution.exponential(mean: 1).sample(&rng)
            let gap = Self.rampGap(unitExponential: e, from: from / 1e9, to: to / 1e9, over: Double(over),
                                   elapsed: Double(max(0, elapsed)))
            guard gap.isFinite else { return Int64.max / 4 }
            return max(1, gap >= 9.2e18 ? Int64.max / 4 : Int64(gap.rounded()))
        }
    }

    /// Solves Λ(t₀ + τ) − Λ(t₀) = e for τ; rates per ns, times in ns.
    static func rampGap(unitExponential e: Double, from a: Double, to c: Double, over t: Double, elapsed t0: Double) -> Double {
        guard e > 0 else { return 0 }
        guard t0 < t, t > 0 else { return e / c }
        let slope = (c - a) / t
        let r0 = a + slope * t0
        // The expected count left on the ramp (a trapezoid: the rate is linear there).
        let rest = (r0 + c) / 2 * (t - t0)
        if e > rest { return (t - t0) + (e - rest) / c }
        return 2 * e / (r0 + (max(0, r0 * r0 + 2 * slope * e)).squareRoot())
    }

    /// The process's mean rate (per second) `elapsed` ns after the workload's start.
    public func rate(elapsed: Int64) -> Double {
        switch self {
        case .poisson(let perSecond), .constant(let perSecond):
            return perSecond
        case .interarrival(let distribution):
            guard let mean = distribution.mean, mean > 0 else { return 0 }
            return 1e9 / mean
        case .ramp(let from, let to, let over):
            guard elapsed < over, over > 0 else { return to }
            return from + (to - from) * Double(max(0, elapsed)) / Double(over)
        }
    }

    /// The expected number of arrivals in the first `elapsed` ns after the workload's start
    /// (Λ; for `constant` and `interarrival` the long-run mean).
    public func expectedArrivals(by elapsed: Int64) -> Double {
        guard elapsed > 0 else { return 0 }
        switch self {
        case .ramp(let from, let to, let over):
            let onRamp = Double(min(elapsed, over))
            let rampPart = (from + rate(elapsed: Int64(onRamp))) / 2 * onRamp / 1e9
            return rampPart + to * Double(max(0, elapsed - over)) / 1e9
        default:
            return rate(elapsed: 0) * Double(elapsed) / 1e9
        }
    }
}
