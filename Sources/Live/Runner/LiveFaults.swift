import FaultPlan
import Foundation
import LiveBroker
import NIOCore
import Sampling
import Scenario

/// Runs a scenario's fault schedule against live processes through the shared fault plan
/// (`FaultPlan`): the same timeline, selector resolution, `for:` undo and seeded random picks
/// as the simulator, carried out with signals — `crash` (SIGKILL), `restart`, `pause`
/// (SIGSTOP), `resume` (SIGCONT) — for `partition`, `heal`, `delay`, `loss` and `duplicate`
/// on the peer links through the fault proxy (`FaultProxy`, the simulator's network model
/// deciding each frame), and for `disk: {slow_fsync}` through the nodes' storage failpoints;
/// the nemesis likewise. Role selectors (`leader(stream)`, `follower(stream)`,
/// `metadata-leader`) resolve against the majority's view of the cluster when the fault fires.
/// Clock faults and the other disk faults are refused up front (file:line:col, exit 2).
struct LiveFaults: Sendable {
    let scenario: Scenario
    let environment: LiveEnvironment
    let runStart: NIODeadline
    /// The run's seed: random picks draw from `SeededGenerator(seed:).stream("faults")`, as in
    /// the simulator, so one seed picks alike in both.
    let seed: UInt64
    let log: @Sendable (String) -> Void

    struct Fired: Sendable {
        /// ns since the run's start.
        var at: Int64
        /// "fault", "undo", "nemesis" (a strike) or "heal" (a strike undone).
        var kind: String
        var action: String
        var nodes: [String]
        /// A stream leader was crashed: the load driver measures the failover.
        var leaderCrash: Bool
    }

    static let processActions = ["crash", "restart", "pause", "resume", "disk"]
    static let networkActions = ["partition", "heal", "delay", "loss", "duplicate"]

    /// Refuses, up front, faults this live run cannot carry out. `network`: the target's peer
    /// links run through the fault proxy (the Faultline broker; not nats-server's routes).
    static func validate(_ scenario: Scenario, network: Bool = true) throws {
        let supported = processActions + (network ? networkActions : [])
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard supported.contains(fault.action.keyword) else {
                let why = networkActions.contains(fault.action.keyword)
                    ? "network faults run against the Faultline broker's peer links (the fault proxy), not this target"
                    : "clock faults are simulator-only for now"
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live mode runs \(supported.joined(separator: ", ")); found '\(fault.action.keyword)' (\(why))")
            }
            if case .disk(_, let diskFault) = fault.action {
                guard case .slowFsync = diskFault else {
                    throw LiveError.badInput("\(where_): faults.disk: live mode injects slow_fsync (a storage failpoint); corrupt and torn_writes are simulator-only (a crash's power loss is `live.crash_loses_unsynced`)")
                }
                guard network else { throw LiveError.badInput("\(where_): faults.disk: disk faults need the Faultline broker's storage failpoints, not this target") }
            }
            for selector in fault.action.selectors {
                switch selector {
                case .node, .zone, .leader, .follower, .metadataLeader, .crashed, .paused, .all, .randomNode, .minority, .majority: break
                default:
                    throw LiveError.badInput("\(where_): selector \(selector) is not supported live; use a node name, a zone, leader(…), follower(…), metadata-leader, crashed, paused, random-node, minority, majority or all")
                }
            }
        }
        if let nemesis = scenario.nemesis {
            let supported = nemesisProcessActions + (network ? nemesisNetworkActions : [])
            if let refused = nemesis.actions.first(where: { !supported.contains($0) }) {
                throw LiveError.badInput("\(scenario.sourceFile): nemesis.actions: live mode runs \(supported.map(\.rawValue).joined(separator: ", ")); found '\(refused.rawValue)' (clock faults are simulator-only for now)")
            }
        }
    }

    /// The nemesis's actions live mode carries out (clock and disk need their injectors).
    static let nemesisProcessActions: [NemesisAction] = [.crash, .pause, .disk]
    static let nemesisNetworkActions: [NemesisAction] = [.partition, .delay, .loss]

    /// Storage failpoints for the nodes when the schedule or nemesis has disk faults or the run
    /// loses unsynced bytes on crash; nil otherwise (production nodes).
    static func failpoints(_ scenario: Scenario, seed: UInt64) -> FailpointConfig? {
        let disk = scenario.faults.contains { $0.action.keyword == "disk" } || (scenario.nemesis?.actions.contains(.disk) ?? false)
        let losesUnsynced = scenario.live?.crashLosesUnsynced ?? false
        guard disk || losesUnsynced else { return nil }
        return FailpointConfig(seed: seed, trackSynced: losesUnsynced)
    }

    /// Whether the schedule has network faults, so the run puts the fault proxy on the peer links.
    static func needsNetwork(_ scenario: Scenario) -> Bool {
        scenario.faults.contains { networkActions.contains($0.action.keyword) }
            || (scenario.nemesis?.actions.contains { nemesisNetworkActions.contains($0) } ?? false)
    }

    func run() async throws -> [Fired] {
        var fired: [Fired] = []
        let root = SeededGenerator(seed: seed)
        var rng = root.stream("faults")
        // The nemesis as the simulator draws it: its plan (swarm mode varies it per seed) and
        // its strikes from their own streams, so a seed strikes alike in both.
        var nemesisRng = root.stream("nemesis")
        var swarmRng = root.stream("nemesis.swarm")
        let nemesisPlan = scenario.nemesis.map { NemesisPlan($0, &swarmRng) }
        let strikes = scenario.nemesis.flatMap { spec in nemesisPlan?.strikeTimes(spec, runDuration: scenario.duration) } ?? []
        var timeline = FaultTimeline(scenario.faults, nemesisStrikes: strikes)
        // Each undo with the operations it undoes (a `restoreSaved` is worked out from them).
        var undos: [Int: (FaultUndo, [ClusterOperation])] = [:]
        var heals: [Int: (FaultUndo, [ClusterOperation])] = [:]
        // A crashed or paused node stays so until a fault says otherwise (the processes are
        // ours): the snapshot takes conditions from here, not from polling.
        var conditions = Array(repeating: NodeCondition.running, count: environment.nodeNames.count)
        while let (at, step) = timeline.next() {
            let wait = Int64((runStart + .nanoseconds(at)).uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
            var operations: [ClusterOperation] = []
            let keyword: String
            let kind: String
            var targets: [Int] = []
            var leaders: Set<Int> = []
            switch step {
            case .fault(let index):
                let fault = scenario.faults[index]
                let view = await snapshot(conditions)
                leaders = Set(view.streamLeaders.values)
                let planned = FaultPlanner.plan(fault.action, in: view, &rng)
                operations = planned.operations
                keyword = Self.describe(fault.action)
                kind = "fault"
                targets = planned.targets
                if let undo = planned.undo { undos[index] = (undo, planned.operations) }
                timeline.fired(index: index, at: at, leftUndo: planned.undo != nil)
            case .undo(let index):
                operations = undos.removeValue(forKey: index).map(restore) ?? []
                keyword = "undo " + Self.describe(scenario.faults[index].action)
                kind = "undo"
            case .nemesisStrike(let tick):
                guard let spec = scenario.nemesis, let plan = nemesisPlan else { continue }
                let view = await snapshot(conditions)
                leaders = Set(view.streamLeaders.values)
                let strike = plan.strike(spec.targets, in: view, &nemesisRng)
                let planned = FaultPlanner.plan(strike.action, in: view, &nemesisRng, targets: strike.targets)
                operations = planned.operations
                keyword = "nemesis \(strike.choice.rawValue)"
                kind = "nemesis"
                targets = strike.targets
                if let undo = planned.undo {
                    heals[tick] = (undo, planned.operations)
                    timeline.struck(tick: tick, at: at, healAfter: plan.duration)
                }
            case .nemesisHeal(let tick):
                operations = heals.removeValue(forKey: tick).map(restore) ?? []
                keyword = "nemesis heal"
                kind = "heal"
            }
            if case .restart(let nodes)? = operations.first, targets.isEmpty { targets = nodes }
            if case .resume(let nodes)? = operations.first, targets.isEmpty { targets = nodes }
            // A crash that took down a stream's leader: the load driver measures the failover.
            let leaderCrash = operations.contains { if case .crash(let nodes) = $0 { !leaders.isDisjoint(with: nodes) } else { false } }
            for operation in operations { try await carryOut(operation, &conditions) }
            let names = targets.map { environment.nodeNames[$0] }
            let t = Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds)
            log(String(format: "t=%.3fs %@ → %@", Double(t) / 1e9, keyword, names.isEmpty ? "no node" : names.joined(separator: ", ")))
            fired.append(Fired(at: t, kind: kind, action: keyword, nodes: names, leaderCrash: leaderCrash))
        }
        return fired
    }

    /// What undoes a fault live: the plan's own undo, or for `restoreSaved` the live state the
    /// fault replaced — the storage failpoints go back to off (live runs arm nothing else).
    private func restore(_ undo: (FaultUndo, [ClusterOperation])) -> [ClusterOperation] {
        if let operation = undo.0.operation { return [operation] }
        return undo.1.compactMap { operation in
            if case .disk(let nodes, _) = operation { return .disk(nodes, .slowFsync(.constant(0))) }
            return nil
        }
    }

    /// "crash leader(orders)": the action and what it was aimed at, for the run's log.
    static func describe(_ action: FaultAction) -> String {
        ([action.keyword] + action.selectors.map { "\($0)" }).joined(separator: " ")
    }

    /// The cluster as the plan needs it now: each stream's leader and replicas from the
    /// cluster's metadata, the metadata leader, and which processes are down or stopped.
    private func snapshot(_ conditions: [NodeCondition]) async -> ClusterSnapshot {
        let names = environment.nodeNames
        var leaders: [String: Int] = [:]
        var replicas: [String: [Int]] = [:]
        for stream in scenario.broker?.streams.map(\.name) ?? [] {
            if let leader = await environment.leader(of: stream), let node = names.firstIndex(of: leader) { leaders[stream] = node }
            replicas[stream] = await environment.replicas(of: stream).compactMap { names.firstIndex(of: $0) }
        }
        let metadataLeader = await environment.metadataLeader().flatMap { names.firstIndex(of: $0) }
        let zones = names.map { name in scenario.cluster.nodes.first { $0.name == name }?.zone ?? "" }
        return ClusterSnapshot(names: names, zones: zones, conditions: conditions, streamLeaders: leaders,
                               streamReplicas: replicas, metadataLeader: metadataLeader)
    }

    /// The operations live mode can carry out today (`validate` refuses faults that need others).
    private func carryOut(_ operation: ClusterOperation, _ conditions: inout [NodeCondition]) async throws {
        let names = environment.nodeNames
        switch operation {
        case .crash(let nodes):
            for node in nodes {
                try await environment.crash(node: names[node])
                conditions[node] = .crashed
            }
        case .restart(let nodes):
            for node in nodes where conditions[node] == .crashed {
                try await environment.restart(node: names[node])
                conditions[node] = .running
            }
        case .pause(let nodes):
            for node in nodes {
                environment.pause(node: names[node])
                conditions[node] = .paused
            }
        case .resume(let nodes):
            for node in nodes where conditions[node] == .paused {
                environment.resume(node: names[node])
                conditions[node] = .running
            }
        case _ where operation.isNetwork:
            try await environment.network(operation)
        case .disk(let nodes, .slowFsync(let delay)):
            try await environment.disk(nodes.map { names[$0] }, StorageFailpoints.Settings(fsyncDelay: delay))
        default:
            throw LiveError.badInput("live mode cannot carry out \(operation) yet")
        }
    }
}
