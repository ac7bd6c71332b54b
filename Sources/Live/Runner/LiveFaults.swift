import FaultPlan
import Foundation
import LiveBroker
import NIOConcurrencyHelpers
import NIOCore
import Sampling
import Scenario

/// Runs a scenario's fault schedule against live processes through the shared fault plan
/// (`FaultPlan`): the same timeline, selector resolution, `for:` undo and seeded random picks
/// as the simulator, carried out with signals — `crash` (SIGKILL), `restart`, `pause`
/// (SIGSTOP), `resume` (SIGCONT) — for `partition`, `heal`, `delay`, `loss` and `duplicate`
/// on the peer links through the fault proxy (`FaultProxy`, the simulator's network model
/// deciding each frame), and for `disk: {slow_fsync}` and `disk: {fsync_error}` through the
/// nodes' storage failpoints (a node whose fsync fails stops itself: it is down from then on,
/// as after a crash, and in the timeline as `exit`);
/// the nemesis likewise. Role selectors (`leader(stream)`, `follower(stream)`,
/// `metadata-leader`) resolve against the majority's view of the cluster when the fault fires.
/// `clock` offsets, jumps and drifts rewrite the nodes' libfaketime clock files (`NodeClock`;
/// a drifting clock's file is rewritten every 20 ms). `corrupt` and `torn_writes` are refused
/// up front (file:line:col, exit 2).
/// A `MethodControl` gates the first step (a steady-state hypothesis must hold) and can abort
/// the method (every pending undo runs, then everything still off is healed); `rollback` runs
/// the scenario's `rollbacks:` afterwards.
struct LiveFaults: Sendable {
    let scenario: Scenario
    let environment: LiveEnvironment
    let runStart: NIODeadline
    /// The run's seed: random picks draw from `SeededGenerator(seed:).stream("faults")`, as in
    /// the simulator, so one seed picks alike in both.
    let seed: UInt64
    let log: @Sendable (String) -> Void
    /// Disk faults in force per node. A disk fault is the disk's, not the process's: a node
    /// restarted while one is in force gets it re-armed (its failpoints start disarmed), as the
    /// simulator's disk keeps its settings across a restart.
    private let armed = NIOLockedValueBox<[Int: StorageFailpoints.Settings]>([:])
    /// Each node's faked wall clock (an offset from true time; a jump adds to it).
    private let clocks = NIOLockedValueBox<[Int: NodeClock]>([:])

    init(scenario: Scenario, environment: LiveEnvironment, runStart: NIODeadline, seed: UInt64, log: @escaping @Sendable (String) -> Void) {
        self.scenario = scenario
        self.environment = environment
        self.runStart = runStart
        self.seed = seed
        self.log = log
    }

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

    /// What a run of the method left behind: what fired, and which nodes are down or stopped
    /// (rollbacks resolve `crashed` and `paused` from it).
    struct Outcome: Sendable {
        var fired: [Fired]
        var conditions: [NodeCondition]
    }

    static let processActions = ["crash", "restart", "pause", "resume", "disk", "clock"]
    static let networkActions = ["partition", "heal", "delay", "loss", "duplicate", "bandwidth", "reset"]

    /// Refuses, up front, faults this live run cannot carry out. `network`: the target's peer
    /// links run through the fault proxy (the Faultline broker; not nats-server's routes).
    static func validate(_ scenario: Scenario, network: Bool = true) throws {
        let supported = processActions + (network ? networkActions : [])
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard supported.contains(fault.action.keyword) else {
                let why = networkActions.contains(fault.action.keyword)
                    ? "network faults run against the Faultline broker's peer links (the fault proxy), not this target"
                    : "this fault is simulator-only"
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live mode runs \(supported.joined(separator: ", ")); found '\(fault.action.keyword)' (\(why))")
            }
            if case .clock(_, let change) = fault.action {
                guard network else { throw LiveError.badInput("\(where_): faults.clock: clock faults run against the Faultline broker's nodes, not this target") }
                guard NodeClock.library != nil else {
                    throw LiveError.badInput("\(where_): faults.clock: live clock faults need libfaketime (apt-get install faketime; scripts/ensure-system-packages installs it)")
                }
            }
            if case .disk(_, let diskFault) = fault.action {
                switch diskFault {
                case .slowFsync, .fsyncError: break
                case .corrupt, .tornWrites:
                    throw LiveError.badInput("\(where_): faults.disk: live mode injects slow_fsync and fsync_error (storage failpoints); corrupt and torn_writes are simulator-only (a crash's power loss is `live.crash_loses_unsynced`)")
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
        for step in scenario.rollbacks {
            let where_ = "\(step.location.file):\(step.location.line):\(step.location.column)"
            if step.action.keyword == "heal" && !network {
                throw LiveError.badInput("\(where_): rollbacks.heal: network faults (and their heal) run against the Faultline broker's peer links, not this target")
            }
            if step.action.keyword == "disk" && !network {
                throw LiveError.badInput("\(where_): rollbacks.disk: disk faults need the Faultline broker's storage failpoints, not this target")
            }
        }
        if let hypothesis = scenario.hypothesis, !network {
            for probe in hypothesis.steadyState + hypothesis.during {
                switch probe.quantity {
                case .isrSize, .scraped:
                    let where_ = "\(probe.location.file):\(probe.location.line):\(probe.location.column)"
                    throw LiveError.badInput("\(where_): hypothesis: \(probe.name) reads the Faultline broker's ISR and /metrics, not this target's")
                default: break
                }
            }
        }
        if let nemesis = scenario.nemesis {
            let supported = nemesisProcessActions + (network ? nemesisNetworkActions : [])
            if let refused = nemesis.actions.first(where: { !supported.contains($0) }) {
                throw LiveError.badInput("\(scenario.sourceFile): nemesis.actions: live mode runs \(supported.map(\.rawValue).joined(separator: ", ")) against this target; found '\(refused.rawValue)'")
            }
        }
    }

    /// An existing cluster (`faultline chaos --cluster`): its nodes and streams must be the
    /// scenario's; its peer links do not run through the fault proxy (network faults refused),
    /// its nodes run without storage failpoints unless their configs enable them (disk faults),
    /// a crash cannot cut files it did not track (`crash_loses_unsynced`), and process faults
    /// need every node's pid.
    static func validateAttached(_ scenario: Scenario, state: ClusterState, clusterPath: String) throws {
        let names = scenario.cluster.nodes.map(\.name)
        guard names == state.nodes.map(\.name) else {
            throw LiveError.badInput("\(scenario.sourceFile): cluster.nodes: the cluster at \(clusterPath) has nodes \(state.nodes.map(\.name).joined(separator: ", ")); the scenario names \(names.joined(separator: ", "))")
        }
        for stream in Set(scenario.publishes.map(\.stream) + scenario.consumers.map(\.stream)).sorted()
        where !state.streams.contains(where: { $0.name == stream }) {
            throw LiveError.badInput("\(scenario.sourceFile): workload: stream '\(stream)' does not exist in the cluster at \(clusterPath) (it has \(state.streams.map(\.name).joined(separator: ", ")))")
        }
        let proxyless = "the cluster's peer links do not run through Faultline's fault proxy (only a cluster `faultline load` starts itself has them)"
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            if networkActions.contains(fault.action.keyword) {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): \(proxyless); run it with `faultline load`")
            }
            if fault.action.keyword == "disk" && !state.nodes.allSatisfy(hasFailpoints) {
                throw LiveError.badInput("\(where_): faults.disk: the cluster's nodes run without storage failpoints (test-only; `faultline load` enables them)")
            }
            if fault.action.keyword == "clock" {
                throw LiveError.badInput("\(where_): faults.clock: the cluster's nodes were not started under libfaketime (only nodes `faultline load` starts for a clock fault are)")
            }
        }
        for step in scenario.rollbacks {
            let where_ = "\(step.location.file):\(step.location.line):\(step.location.column)"
            if step.action.keyword == "heal" { throw LiveError.badInput("\(where_): rollbacks.heal: \(proxyless)") }
            if step.action.keyword == "disk" && !state.nodes.allSatisfy(hasFailpoints) {
                throw LiveError.badInput("\(where_): rollbacks.disk: the cluster's nodes run without storage failpoints")
            }
        }
        if let nemesis = scenario.nemesis, let refused = nemesis.actions.first(where: { nemesisNetworkActions.contains($0) || $0 == .disk || $0 == .clock }) {
            let need = refused == .disk ? "storage failpoints" : refused == .clock ? "nodes started under libfaketime" : "the fault proxy"
            throw LiveError.badInput("\(scenario.sourceFile): nemesis.actions: '\(refused.rawValue)' needs \(need), which the cluster at \(clusterPath) does not have")
        }
        if scenario.live?.crashLosesUnsynced == true {
            throw LiveError.badInput("\(scenario.sourceFile): live.crash_loses_unsynced: the cluster's nodes do not track synced lengths (only nodes `faultline load` starts do)")
        }
        let processFaults = scenario.faults.contains { ["crash", "restart", "pause", "resume"].contains($0.action.keyword) }
            || scenario.rollbacks.contains { ["restart", "resume"].contains($0.action.keyword) }
            || (scenario.nemesis?.actions.contains { $0 == .crash || $0 == .pause } ?? false)
        if processFaults, let missing = state.nodes.first(where: { $0.pid == nil }) {
            throw LiveError.badInput("--cluster \(clusterPath): node \(missing.name) has no pid in cluster.json (not running, or an external node): process faults need every node's pid")
        }
    }

    private static func hasFailpoints(_ node: ClusterState.Node) -> Bool {
        guard let data = FileManager.default.contents(atPath: node.config),
              let config = try? JSONDecoder().decode(BrokerNodeConfig.self, from: data) else { return false }
        return config.failpoints != nil
    }

    /// The nemesis's actions live mode carries out on the Faultline broker (disk through its
    /// failpoints, clock offsets through libfaketime).
    static let nemesisProcessActions: [NemesisAction] = [.crash, .pause, .disk, .clock]
    static let nemesisNetworkActions: [NemesisAction] = [.partition, .delay, .loss]

    /// Storage failpoints for the nodes when the schedule or nemesis has disk faults or the run
    /// loses unsynced bytes on crash; nil otherwise (production nodes).
    static func failpoints(_ scenario: Scenario, seed: UInt64) -> FailpointConfig? {
        let disk = scenario.faults.contains { $0.action.keyword == "disk" } || (scenario.nemesis?.actions.contains(.disk) ?? false)
        let losesUnsynced = scenario.live?.crashLosesUnsynced ?? false
        guard disk || losesUnsynced else { return nil }
        return FailpointConfig(seed: seed, trackSynced: losesUnsynced)
    }

    /// Whether the schedule has clock faults, so the nodes start under clock control (libfaketime).
    static func needsClock(_ scenario: Scenario) -> Bool {
        scenario.faults.contains { $0.action.keyword == "clock" } || (scenario.nemesis?.actions.contains(.clock) ?? false)
    }

    /// Whether the schedule drifts a clock, so the run keeps the drifting clocks moving.
    static func drifts(_ scenario: Scenario) -> Bool {
        scenario.faults.contains { if case .clock(_, .drift) = $0.action { true } else { false } }
    }

    /// Keeps drifting clocks moving until run time `end` (or cancellation): every 20 ms each
    /// drifting node's clock file gets its offset with the drift so far. Errors are ignored: a
    /// node that is down reads its file when it starts again.
    func keepClocksDrifting(until end: Int64) async {
        let names = environment.nodeNames
        while now() < end && !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 20_000_000)
            let t = now()
            let drifting = clocks.withLockedValue { clocks in
                clocks.keys.sorted().compactMap { node in clocks[node]!.driftPPM == 0 ? nil : (names[node], clocks[node]!.reading(at: t)) }
            }
            for (name, reading) in drifting { try? await environment.clock([name], reading) }
        }
    }

    /// Whether the schedule has network faults, so the run puts the fault proxy on the peer links.
    static func needsNetwork(_ scenario: Scenario) -> Bool {
        scenario.faults.contains { networkActions.contains($0.action.keyword) }
            || (scenario.nemesis?.actions.contains { nemesisNetworkActions.contains($0) } ?? false)
    }

    /// Runs the method. With a `control` (a steady-state hypothesis), the first step waits for
    /// its go (nothing is injected when the hypothesis did not hold before), and an abort stops
    /// the method between steps and heals everything it left (`healEverything`).
    func run(control: MethodControl) async throws -> Outcome {
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
        // The stream leaders at the last look, to tell whether a node that stopped itself led one.
        var lastLeaders: Set<Int> = []
        var started = false
        while let (at, step) = timeline.next() {
            if !started {
                // A hypothesis is read when the first step is due; it says go or abort.
                await sleep(until: at, control: control)
                guard await control.waitForStart() else { return Outcome(fired: fired, conditions: conditions) }
                started = true
            }
            await sleep(until: at, control: control)
            fired += noticeExits(&conditions, leaders: lastLeaders)
            if control.aborted {
                // In order of the faults they undo: the heal must not depend on hashing.
                let pending = undos.keys.sorted().map { undos[$0]! } + heals.keys.sorted().map { heals[$0]! }
                fired += await healEverything(&conditions, undos: pending)
                return Outcome(fired: fired, conditions: conditions)
            }
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
                lastLeaders = leaders
                let planned = FaultPlanner.plan(fault.action, in: view, &rng)
                operations = planned.operations
                keyword = fault.action.described
                kind = "fault"
                targets = planned.targets
                if let undo = planned.undo { undos[index] = (undo, planned.operations) }
                timeline.fired(index: index, at: at, leftUndo: planned.undo != nil)
            case .undo(let index):
                operations = undos.removeValue(forKey: index).map(restore) ?? []
                keyword = "undo " + scenario.faults[index].action.described
                kind = "undo"
            case .nemesisStrike(let tick):
                guard let spec = scenario.nemesis, let plan = nemesisPlan else { continue }
                let view = await snapshot(conditions)
                leaders = Set(view.streamLeaders.values)
                lastLeaders = leaders
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
            if targets.isEmpty { targets = operations.first.map(Self.nodes) ?? [] }
            // A crash that took down a stream's leader: the load driver measures the failover.
            let leaderCrash = operations.contains { if case .crash(let nodes) = $0 { !leaders.isDisjoint(with: nodes) } else { false } }
            for operation in operations { try await carryOut(operation, &conditions) }
            let names = targets.map { environment.nodeNames[$0] }
            let t = Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds)
            log(String(format: "t=%.3fs %@ → %@", Double(t) / 1e9, keyword, names.isEmpty ? "no node" : names.joined(separator: ", ")))
            fired.append(Fired(at: t, kind: kind, action: keyword, nodes: names, leaderCrash: leaderCrash))
        }
        fired += noticeExits(&conditions, leaders: lastLeaders)
        return Outcome(fired: fired.sorted { $0.at < $1.at }, conditions: conditions)
    }

    /// Nodes that stopped by themselves since the last look (a broker fail-stops when an fsync
    /// fails): down from then on as after a crash — `crashed` selects them, the heal restarts
    /// them — and in the timeline at the moment they exited (a leader's exit starts a failover).
    private func noticeExits(_ conditions: inout [NodeCondition], leaders: Set<Int>) -> [Fired] {
        var fired: [Fired] = []
        let names = environment.nodeNames
        for node in conditions.indices where conditions[node] == .running && !environment.isRunning(node: names[node]) {
            conditions[node] = .crashed
            let t = environment.exitTime(node: names[node]).map { Int64($0.uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) } ?? now()
            log(String(format: "t=%.3fs %@ stopped by itself (exited)", Double(t) / 1e9, names[node]))
            fired.append(Fired(at: t, kind: "exit", action: "stopped by itself", nodes: [names[node]], leaderCrash: leaders.contains(node)))
        }
        return fired
    }

    /// Arms a node that just started again: its admin endpoint comes up with the node, so the
    /// first attempts may find nobody listening (up to 10 s).
    private func rearm(_ name: String, _ settings: StorageFailpoints.Settings) async throws {
        let deadline = NIODeadline.now() + .seconds(10)
        while true {
            do {
                try await environment.disk([name], settings)
                log("\(name) restarted: its disk fault is armed again")
                return
            } catch where NIODeadline.now() < deadline {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// Sleeps until `at` (ns since the run's start), or until the method is aborted.
    private func sleep(until at: Int64, control: MethodControl) async {
        while true {
            let wait = Int64((runStart + .nanoseconds(at)).uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait <= 0 || control.aborted { return }
            // Look at the control every 20 ms: an abort must not wait for a long `for:`.
            try? await Task.sleep(nanoseconds: UInt64(min(wait, 20_000_000)))
        }
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// The method was aborted: every pending undo and nemesis heal runs now, then whatever is
    /// still off is put back — crashed nodes restarted, paused ones resumed, every link healed,
    /// storage failpoints disarmed. Errors are logged, not thrown: the heal goes on.
    private func healEverything(_ conditions: inout [NodeCondition], undos: [(FaultUndo, [ClusterOperation])]) async -> [Fired] {
        var operations = undos.flatMap(restore)
        let names = environment.nodeNames
        let crashed = conditions.indices.filter { conditions[$0] == .crashed }
        let paused = conditions.indices.filter { conditions[$0] == .paused }
        if !crashed.isEmpty { operations.append(.restart(crashed)) }
        if !paused.isEmpty { operations.append(.resume(paused)) }
        if await environment.networkStats() != nil { operations.append(.healAll) }
        var failures: [String] = []
        for operation in operations {
            do { try await carryOut(operation, &conditions) } catch { failures.append("\(operation): \(error)") }
        }
        if scenario.faults.contains(where: { $0.action.keyword == "disk" }) || scenario.nemesis?.actions.contains(.disk) == true {
            armed.withLockedValue { $0 = [:] }
            let up = names.filter { environment.isRunning(node: $0) }
            do { try await environment.disk(up, StorageFailpoints.Settings()) } catch { failures.append("disarming the failpoints: \(error)") }
        }
        let t = now()
        log(String(format: "t=%.3fs method aborted: healed everything", Double(t) / 1e9) + (failures.isEmpty ? "" : " (failed: \(failures.joined(separator: "; ")))"))
        return [Fired(at: t, kind: "abort", action: "method aborted: pending undos run, crashed nodes restarted, paused resumed, links healed, failpoints disarmed"
                      + (failures.isEmpty ? "" : "; failed: " + failures.joined(separator: "; ")),
                      nodes: (crashed + paused).map { names[$0] }, leaderCrash: false)]
    }

    /// Runs the scenario's `rollbacks:` in order, each resolved against the cluster now (a
    /// rollback's `crashed` / `paused` against `conditions`). They always run: a failing one is
    /// logged and recorded, and the next one still runs.
    func rollback(_ conditions: inout [NodeCondition]) async -> [Fired] {
        var fired: [Fired] = []
        var rng = SeededGenerator(seed: seed).stream("rollbacks")
        for step in scenario.rollbacks {
            let view = await snapshot(conditions)
            let planned = FaultPlanner.plan(step.action, in: view, &rng)
            var failure: String?
            for operation in planned.operations {
                do { try await carryOut(operation, &conditions) } catch { failure = "\(error)" }
            }
            var targets = planned.targets
            if targets.isEmpty { targets = planned.operations.first.map(Self.nodes) ?? [] }
            let names = targets.map { environment.nodeNames[$0] }
            let description = "rollback " + step.action.described + (failure.map { " failed: \($0)" } ?? "")
            let t = now()
            log(String(format: "t=%.3fs %@ → %@", Double(t) / 1e9, description, names.isEmpty ? "no node" : names.joined(separator: ", ")))
            fired.append(Fired(at: t, kind: "rollback", action: description, nodes: names, leaderCrash: false))
        }
        return fired
    }

    /// What undoes a fault live: the plan's own undo, or for `restoreSaved` the live state the
    /// fault replaced — the storage failpoints go back to off (live runs arm nothing else).
    private func restore(_ undo: (FaultUndo, [ClusterOperation])) -> [ClusterOperation] {
        if let operation = undo.0.operation { return [operation] }
        return undo.1.flatMap { operation -> [ClusterOperation] in
            switch operation {
            case .disk(let nodes, _): return [.disk(nodes, .slowFsync(.constant(0)))]
            // A clock fault's end puts the clock back on true time: no drift, no offset.
            case .clock(let nodes, _): return [.clock(nodes, .drift(ppm: 0)), .clock(nodes, .offset(0))]
            default: return []
            }
        }
    }

    /// The nodes an operation acts on, for the log and timeline of undos (which have no targets).
    static func nodes(_ operation: ClusterOperation) -> [Int] {
        switch operation {
        case .restart(let nodes), .resume(let nodes), .crash(let nodes), .pause(let nodes), .clock(let nodes, _), .disk(let nodes, _): nodes
        default: []
        }
    }

    /// "crash leader(orders)": the action and what it was aimed at, for the run's log.
    /// The cluster as the plan needs it now: each stream's leader and replicas from the
    /// cluster's metadata, the metadata leader, and which processes are down or stopped.
    private func snapshot(_ conditions: [NodeCondition]) async -> ClusterSnapshot {
        let names = environment.nodeNames
        var leaders: [String: Int] = [:]
        var replicas: [String: [Int]] = [:]
        // One look at the cluster for the whole snapshot.
        let streams = scenario.broker?.streams.map(\.name) ?? []
        let view = await environment.view(of: streams)
        for stream in streams {
            if let leader = view?.streams[stream]?.leader, let node = names.firstIndex(of: leader) { leaders[stream] = node }
            replicas[stream] = (view?.streams[stream]?.replicas ?? []).compactMap { names.firstIndex(of: $0) }
        }
        let metadataLeader = view?.metadataLeader.flatMap { names.firstIndex(of: $0) }
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
                if let settings = armed.withLockedValue({ $0[node] }) { try await rearm(names[node], settings) }
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
        case .disk(let nodes, let fault):
            // A zero delay or `fsync_error: false` (a rollback, an undo) disarms the failpoints.
            let settings: StorageFailpoints.Settings
            switch fault {
            case .slowFsync(let delay): settings = delay == .constant(0) ? .init() : .init(fsyncDelay: delay)
            case .fsyncError(let on): settings = .init(fsyncError: on)
            case .corrupt, .tornWrites: throw LiveError.badInput("live mode cannot carry out \(operation)")  // refused up front
            }
            armed.withLockedValue { for node in nodes { $0[node] = settings == .init() ? nil : settings } }
            // A node that is down (crashed, or stopped itself on a failed fsync) gets its disk's
            // settings when it starts again (`rearm`).
            let up = nodes.filter { conditions[$0] == .running && environment.isRunning(node: names[$0]) }
            if !up.isEmpty { try await environment.disk(up.map { names[$0] }, settings) }
        case .clock(let nodes, let change):
            var changed: [(String, NodeClock)] = []
            let t = now()
            clocks.withLockedValue { clocks in
                for node in nodes {
                    var clock = clocks[node] ?? NodeClock()
                    // As the simulator's clocks: an offset replaces the offset (a drift goes on
                    // on top of it), a jump adds to it, a drift changes the rate from now on.
                    switch change {
                    case .offset(let offset): clock.offset = offset
                    case .jump(let delta): clock.offset += delta
                    case .drift(let ppm): clock.setDrift(ppm: ppm, at: t)
                    }
                    clocks[node] = clock
                    changed.append((names[node], clock.reading(at: t)))
                }
            }
            for (name, clock) in changed { try await environment.clock([name], clock) }
        default:
            throw LiveError.badInput("live mode cannot carry out \(operation) yet")
        }
    }
}

/// Between a steady-state hypothesis and the method (`LiveFaults.run(control:)`): whether the
/// method may start, and whether it was aborted. Thread-safe; the fault runner polls it.
final class MethodControl: Sendable {
    private enum Start { case waiting, go, cancelled }
    private let start = NIOLockedValueBox(Start.waiting)
    private let abortFlag = NIOLockedValueBox(false)

    /// The hypothesis held before the method: inject.
    func allowStart() { start.withLockedValue { if $0 == .waiting { $0 = .go } } }
    /// It did not (or the load ended first): inject nothing.
    func cancelStart() { start.withLockedValue { if $0 == .waiting { $0 = .cancelled } } }
    /// A deviation during the method: stop injecting and heal.
    func abort() { abortFlag.withLockedValue { $0 = true } }
    var aborted: Bool { abortFlag.withLockedValue { $0 } }

    /// Waits for `allowStart` or `cancelStart`; true to go.
    func waitForStart() async -> Bool {
        while true {
            switch start.withLockedValue({ $0 }) {
            case .go: return true
            case .cancelled: return false
            case .waiting: try? await Task.sleep(nanoseconds: 5_000_000)
            }
        }
    }
}
