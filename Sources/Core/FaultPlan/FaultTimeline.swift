import Scenario

/// A scenario's fault schedule in the order it happens: each fault at its `at:`, and, once a
/// fault with `for:` has fired and left something to undo, its undo `for:` later; with a
/// nemesis, its strikes (`NemesisPlan.strikeTimes`) and each strike's heal. Ties go in file
/// order, the nemesis's strikes after the faults, undos and heals after steps due at the same
/// moment were scheduled (first come, first served — as the simulator's event queue orders
/// same-time events).
public struct FaultTimeline: Sendable {
    public enum Step: Sendable, Equatable {
        case fault(index: Int)
        case undo(index: Int)
        case nemesisStrike(tick: Int)
        case nemesisHeal(tick: Int)
    }

    private var pending: [(at: Int64, order: Int, step: Step)] = []
    private var nextOrder = 0
    private let durations: [Int64?]

    public init(_ faults: [FaultEvent], nemesisStrikes: [Int64] = []) {
        durations = faults.map(\.duration)
        for (index, fault) in faults.enumerated() { add(at: fault.at, .fault(index: index)) }
        for (tick, at) in nemesisStrikes.enumerated() { add(at: at, .nemesisStrike(tick: tick)) }
    }

    /// Nemesis strike `tick` fired at `at` and left something to heal `after` it.
    public mutating func struck(tick: Int, at: Int64, healAfter: Int64?) {
        guard let healAfter else { return }
        add(at: at + healAfter, .nemesisHeal(tick: tick))
    }

    private mutating func add(at: Int64, _ step: Step) {
        pending.append((at, nextOrder, step))
        nextOrder += 1
    }

    /// The next step and when it is due (ns from the run's start), removed from the timeline.
    public mutating func next() -> (at: Int64, step: Step)? {
        guard let first = pending.indices.min(by: { (pending[$0].at, pending[$0].order) < (pending[$1].at, pending[$1].order) })
        else { return nil }
        let step = pending.remove(at: first)
        return (step.at, step.step)
    }

    /// Fault `index` fired at `at`; with something to undo and a `for:`, its undo is scheduled.
    public mutating func fired(index: Int, at: Int64, leftUndo: Bool) {
        guard leftUndo, let duration = durations[index] else { return }
        add(at: at + duration, .undo(index: index))
    }

    /// When the undo of a fault that fired at `at` is due, if it has a `for:`.
    public func undoDue(index: Int, firedAt at: Int64) -> Int64? {
        durations[index].map { at + $0 }
    }
}
