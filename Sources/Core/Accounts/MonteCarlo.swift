import Sampling

/// Steady-state availability under independent account failures.
///
/// Why sampling rather than a closed form: with dependencies and replicas spread over
/// overlapping accounts the exact answer is a sum over 2^accounts failure sets; trials give
/// it to a known standard error for any layout.
public enum MonteCarlo {
    /// Each trial draws every account down independently with probability `unavailability`
    /// (= MTTR / (MTBF + MTTR)); availability is the mean over trials of 1 − failedTraffic.
    /// Every account is drawn in every trial, in account order, so the generator's
    /// consumption depends only on the account count and the trial count.
    public static func availability(
        _ org: Organisation, _ placement: Placement, unavailability: Double, trials: Int,
        rng: inout SeededGenerator
    ) -> Double {
        precondition(trials >= 1, "need at least one trial")
        let propagation = Propagation(org)
        var failed = [Bool](repeating: false, count: placement.accounts.count)
        var lost = 0.0
        for _ in 0..<trials {
            var any = false
            for a in failed.indices {
                failed[a] = rng.chance(unavailability)
                any = any || failed[a]
            }
            if any { lost += propagation.failedTraffic(failed: failed, placement) }
        }
        return 1 - lost / Double(trials)
    }
}
