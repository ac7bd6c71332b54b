import Sampling

/// A fault a nemesis drew at run time, with its targets resolved to node names: what a run did,
/// so that it can be written back as explicit `faults:` entries (`faultline shrink` turns a
/// nemesis run into a schedule it can cut down).
public struct MaterialisedFault: Sendable, Equatable {
    public var at: Int64
    /// The action's keyword (`crash`, `partition`, …).
    public var keyword: String
    /// One entry body per explicit fault (nil: the action has no explicit form written here).
    var bodies: [String]?
    /// How long until the nemesis heals it (nil: nothing to heal).
    public var duration: Int64?

    /// `targets`: the nodes the strike hit; `others`: the cluster's other nodes (the far side of
    /// an isolating partition or of a link fault).
    public init(at: Int64, action: FaultAction, targets: [String], others: [String], duration: Int64?) {
        self.at = at
        self.keyword = action.keyword
        self.duration = duration
        self.bodies = Self.bodies(action, targets: targets, others: others)
    }

    /// The explicit entries, one line of scenario YAML each (`{at: …, crash: n1, for: …}`); nil
    /// for an action a nemesis never draws.
    public var yamlEntries: [String]? {
        guard let bodies else { return nil }
        let at = ScenarioSource.durationText(self.at)
        let hold = duration.map { ", for: \(ScenarioSource.durationText($0))" } ?? ""
        return bodies.map { "{at: \(at), \(keyword): \($0)\(hold)}" }
    }

    /// A selector names one node, so a strike on several becomes one entry per node, in the
    /// strike's order (what the strike did, node by node). Values are written exactly (Swift
    /// prints the shortest text that reads back as the same Double).
    static func bodies(_ action: FaultAction, targets: [String], others: [String]) -> [String]? {
        func list(_ names: [String]) -> String { "[" + names.joined(separator: ", ") + "]" }
        switch action {
        case .crash, .pause: return targets
        case .partition(.isolate):
            return ["[\(list(targets)), \(list(others))]"]
        // A nemesis's link faults hit the links between its targets and every other node, both ways.
        case .delay(let link, let extra) where link.from.isEmpty && link.to.isEmpty:
            guard let text = distribution(extra) else { return nil }
            return ["{between: [\(list(targets)), \(list(others))], add: \(text)}"]
        case .loss(let link, let p) where link.from.isEmpty && link.to.isEmpty:
            return ["{between: [\(list(targets)), \(list(others))], probability: \(p)}"]
        case .clock(_, .offset(let offset)):
            return targets.map { "{node: \($0), offset: \(offset)ns}" }
        case .disk(_, .slowFsync(let d)):
            guard let text = distribution(d) else { return nil }
            return targets.map { "{node: \($0), slow_fsync: \(text)}" }
        default:
            return nil
        }
    }

    static func distribution(_ d: Distribution) -> String? {
        switch d {
        case .constant(let v): return "\(v)ns"
        case .exponential(let mean): return "{exponential: \(mean)ns}"
        case .uniform(let low, let high): return "{uniform: [\(low)ns, \(high)ns]}"
        default: return nil
        }
    }
}
