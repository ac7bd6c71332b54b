import Scenario
import SimCore

/// What the nemesis does in one run. Fixed by the scenario, or — in swarm mode — drawn per
/// seed, so that across many seeds the nemesis explores many fault regimes (FoundationDB's
/// and TigerBeetle's "swarm testing": a fault mix that varies finds bugs one mix hides).
struct NemesisPlan: Sendable {
    var actions: [NemesisAction]
    var interval: Int64
    var duration: Int64
    var delayMean: Double          // ns, mean extra latency of `delay`
    var lossProbability: Double
    var clockRange: Int64          // ns: clock offsets drawn from ±clockRange
    var slowFsync: Distribution    // ns

    init(_ spec: NemesisSpec, _ rng: inout SeededGenerator) {
        actions = spec.actions
        interval = spec.interval
        duration = spec.duration
        delayMean = 20e6
        lossProbability = 0.3
        clockRange = 500 * Nanos.millisecond
        slowFsync = .uniform(low: 10e6, high: 50e6)
        guard spec.swarm else { return }
        // Each listed action is on with probability ½ (at least one stays on).
        var chosen = spec.actions.filter { _ in rng.chance(0.5) }
        if chosen.isEmpty { chosen = [spec.actions[rng.index(below: spec.actions.count)]] }
        actions = chosen
        interval = max(Nanos.millisecond, Int64(Double(spec.interval) * (0.5 + 1.5 * rng.nextUnit())))
        duration = max(Nanos.millisecond, Int64(Double(spec.duration) * (0.25 + 1.25 * rng.nextUnit())))
        delayMean = 1e6 + 99e6 * rng.nextUnit()
        lossProbability = 0.05 + 0.45 * rng.nextUnit()
        clockRange = Int64(10e6 + 1990e6 * rng.nextUnit())
        let fsyncLow = 2e6 + 20e6 * rng.nextUnit()
        slowFsync = .uniform(low: fsyncLow, high: fsyncLow * (1 + 4 * rng.nextUnit()))
    }
}
