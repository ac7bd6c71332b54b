import FaultPlan
import Foundation
import NIOCore
import Sampling
import Scenario

/// Runs a scenario's fault schedule against live processes through the shared fault plan
/// (`FaultPlan`): the same timeline, selector resolution, `for:` undo and seeded random picks
/// as the simulator, carried out with signals — `crash` (SIGKILL), `restart`, `pause`
/// (SIGSTOP), `resume` (SIGCONT). Role selectors (`leader(stream)`, `follower(stream)`,
/// `metadata-leader`) resolve against a snapshot of the cluster taken when the fault fires.
/// Network, clock and disk faults need the chaos runner of a later issue and are refused up front.
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
        var action: String
        var nodes: [String]
        /// A stream leader was crashed: the load driver measures the failover.
        var leaderCrash: Bool
    }

    static let supportedActions = ["crash", "restart", "pause", "resume"]

    static func validate(_ scenario: Scenario) throws {
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard supportedActions.contains(fault.action.keyword) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live mode runs \(supportedActions.joined(separator: ", ")); found '\(fault.action.keyword)' (network, clock and disk faults are simulator-only for now)")
            }
            let selector: Selector
            switch fault.action {
            case .crash(let s), .restart(let s), .pause(let s), .resume(let s): selector = s
            default: continue
            }
            switch selector {
            case .node, .zone, .leader, .follower, .metadataLeader, .crashed, .paused, .all, .randomNode, .minority, .majority: break
            default:
                throw LiveError.badInput("\(where_): selector \(selector) is not supported live; use a node name, a zone, leader(…), follower(…), metadata-leader, crashed, paused, random-node, minority, majority or all")
            }
        }
    }

    func run() async throws -> [Fired] {
        var fired: [Fired] = []
        var rng = SeededGenerator(seed: seed).stream("faults")
        var timeline = FaultTimeline(scenario.faults)
        var undos: [Int: FaultUndo] = [:]
        // A crashed or paused node stays so until a fault says otherwise (the processes are
        // ours): the snapshot takes conditions from here, not from polling.
        var conditions = Array(repeating: NodeCondition.running, count: environment.nodeNames.count)
        while let (at, step) = timeline.next() {
            let wait = Int64((runStart + .nanoseconds(at)).uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
            let operations: [ClusterOperation]
            let keyword: String
            var leaderCrash = false
            var targets: [Int] = []
            switch step {
            case .fault(let index):
                let fault = scenario.faults[index]
                let view = await snapshot(conditions)
                let planned = FaultPlanner.plan(fault.action, in: view, &rng)
                operations = planned.operations
                keyword = Self.describe(fault.action)
                targets = planned.targets
                if case .crash(.leader) = fault.action { leaderCrash = !planned.targets.isEmpty }
                if let undo = planned.undo { undos[index] = undo }
                timeline.fired(index: index, at: at, leftUndo: planned.undo != nil)
            case .undo(let index):
                operations = undos.removeValue(forKey: index)?.operation.map { [$0] } ?? []
                keyword = "undo " + Self.describe(scenario.faults[index].action)
                if case .restart(let nodes)? = operations.first { targets = nodes }
                if case .resume(let nodes)? = operations.first { targets = nodes }
            }
            for operation in operations { try await carryOut(operation, &conditions) }
            let names = targets.map { environment.nodeNames[$0] }
            let t = Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds)
            log(String(format: "t=%.3fs %@ → %@", Double(t) / 1e9, keyword, names.isEmpty ? "no node" : names.joined(separator: ", ")))
            fired.append(Fired(at: t, action: keyword, nodes: names, leaderCrash: leaderCrash))
        }
        return fired
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
        default:
            throw LiveError.badInput("live mode cannot carry out \(operation) yet")
        }
    }
}
