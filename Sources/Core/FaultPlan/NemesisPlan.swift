import Sampling
import Scenario

/// What the nemesis does in one run. Fixed by the scenario, or — in swarm mode — drawn per
/// seed, so that across many seeds the nemesis explores many fault regimes (FoundationDB's
/// and TigerBeetle's "swarm testing": a fault mix that varies finds bugs one mix hides).
public struct NemesisPlan: Sendable {
    public var actions: [NemesisAction]
    public var interval: Int64
    public var duration: Int64
    public var delayMean: Double          // ns, mean extra latency of `delay`
    public var lossProbability: Double
    public var clockRange: Int64          // ns: clock offsets drawn from ±clockRange
    public var slowFsync: Distribution    // ns

    public init(_ spec: NemesisSpec, _ rng: inout SeededGenerator) {
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

    /// When the nemesis strikes (ns from the run's start): every `interval` from the spec's
    /// `start` until its `stop` or the end of the run. One rule for the simulator and live runs.
    public func strikeTimes(_ spec: NemesisSpec, runDuration: Int64) -> [Int64] {
        guard !actions.isEmpty else { return [] }
        var times: [Int64] = []
        var at = spec.start
        let stop = min(spec.stop ?? runDuration, runDuration)
        while at < stop {
            times.append(at)
            at += interval
        }
        return times
    }

    /// One strike: which of the plan's actions, on which targets (the nemesis's selector,
    /// resolved now), as the fault action it comes down to. Draws from the nemesis's stream.
    public func strike(_ targetSelector: Selector, in view: some ClusterView, _ rng: inout SeededGenerator)
        -> (choice: NemesisAction, action: FaultAction, targets: [ClusterNode]) {
        let choice = actions[rng.index(below: actions.count)]
        let targets = SelectorResolution.resolve(targetSelector, in: view, &rng)
        let everywhere = Link(from: [], to: [], bothWays: true)
        let action: FaultAction
        switch choice {
        case .crash: action = .crash(.all)
        case .pause: action = .pause(.all)
        case .partition: action = .partition(.isolate(.all))
        case .delay: action = .delay(everywhere, extra: .exponential(mean: delayMean))
        case .loss: action = .loss(everywhere, probability: lossProbability)
        case .clock: action = .clock(.all, .offset(Int64(rng.nextUnit() * Double(2 * clockRange)) - clockRange))
        case .disk: action = .disk(.all, .slowFsync(slowFsync))
        }
        return (choice, action, targets)
    }
}
