import FaultPlan
import Scenario
import SimCore

/// What undoes a fault in the simulator: the shared plan's undo, plus the simulated state the
/// driver saved when the fault fired (clock settings, disk settings, slowdown factors, storms).
struct SimFaultUndo: Sendable {
    var plan: FaultUndo
    var saved: Saved?

    enum Saved: Sendable {
        case clocks([(NodeID, SimClock)])
        case disks([(NodeID, DiskConfig)])
        case slowdown(station: Int, factor: Double)
        case meshSlowdown(service: Int, factor: Double)
        case storm(Int)
    }
}

/// The virtual cluster as the shared fault plan sees it.
extension Simulation: ClusterView {
    public func node(named name: String) -> ClusterNode? { cluster.nodeIndex[name] }
    public func zone(of node: ClusterNode) -> String { cluster.processes[node].zone }
    public func condition(of node: ClusterNode) -> NodeCondition {
        switch cluster.processes[node].state {
        case .running: .running
        case .crashed: .crashed
        case .paused: .paused
        }
    }
    public func leader(ofStream stream: String) -> ClusterNode? {
        guard let index = broker?.world.streamIndex(stream) else { return nil }
        return broker?.streamLeader(index, cluster)
    }
    public func replicas(ofStream stream: String) -> [ClusterNode] {
        guard let index = broker?.world.streamIndex(stream) else { return [] }
        return broker?.world.replicaNodes[index] ?? []
    }
    public func metadataLeaderNode() -> ClusterNode? { broker?.metadataLeader(cluster) }
    public func stationHost(_ station: String) -> ClusterNode? { stations.stationIndex[station].map { stations.stationNode[$0] } }
    public func serviceNodes(named service: String) -> [ClusterNode]? { mesh?.serviceNodes(named: service) }
    public func accountNodes(_ account: String) -> [ClusterNode]? {
        guard let nodeAccount = mesh?.world.nodeAccount else { return nil }
        return cluster.clusterNodes.filter { $0 < nodeAccount.count && nodeAccount[$0] == account }
    }
    public func regionNodes(_ region: String) -> [ClusterNode]? {
        guard let nodeRegion = mesh?.world.nodeRegion else { return nil }
        return cluster.clusterNodes.filter { $0 < nodeRegion.count && nodeRegion[$0] == region }
    }
    public var loadDriverNode: ClusterNode? { cluster.clientNode }
}

extension Simulation {
    // MARK: - Selectors

    func validateSelectors() throws {
        func check(_ selector: Selector) throws {
            switch selector {
            case .leader(let stream), .follower(let stream):
                if broker?.world.streamIndex(stream) == nil {
                    throw SimulationError("selector \(selector) names stream \(stream), which this scenario's broker does not have")
                }
            case .metadataLeader:
                if broker == nil {
                    throw SimulationError("selector metadata-leader needs a broker: section")
                }
            case .account(let account):
                guard let state = accounts else {
                    throw SimulationError("selector account(\(account)) needs the accounts model (organisation: and accounts:)")
                }
                guard state.placement.accounts.contains(account) else {
                    throw SimulationError("selector account(\(account)) names no account of this placement (\(state.placement.accounts.prefix(10).joined(separator: ", ")))")
                }
            case .node(let name) where cluster.nodeIndex[name] == nil:
                throw SimulationError("selector names unknown node \(name)")
            case .station(let name) where stations.stationIndex[name] == nil:
                throw SimulationError("selector names unknown station \(name)")
            case .service(let name) where mesh?.serviceNodes(named: name) == nil && accounts == nil:
                throw SimulationError("selector names unknown service \(name)")
            default:
                return
            }
        }
        for fault in scenario.faults {
            for selector in fault.action.selectors { try check(selector) }
        }
        if let nemesis = scenario.nemesis { try check(nemesis.targets) }
    }

    // MARK: - The schedule

    mutating func applyScheduledFault(_ index: Int) {
        let fault = scenario.faults[index]
        var rng = faultRng
        let planned = FaultPlanner.plan(fault.action, in: self, &rng)
        faultRng = rng
        let undo = carryOut(planned)
        traceFault("fault_action", action: fault.action.keyword, targets: planned.targets)
        var end: VirtualTime?
        if let duration = fault.duration, let undo {
            faultUndo[index] = undo
            cluster.schedule(.undoFault(index: Int32(index)), at: cluster.now + duration)
            end = cluster.now + duration
        }
        cluster.note("fault", fault.action.described, nodes: planned.targets, until: end)
        noteHealth()
    }

    mutating func nemesisStrike(_ tick: Int) {
        guard let nemesis = scenario.nemesis, let plan = nemesisPlan, !plan.actions.isEmpty else { return }
        var rng = nemesisRng
        let strike = plan.strike(nemesis.targets, in: self, &rng)
        let planned = FaultPlanner.plan(strike.action, in: self, &rng, targets: strike.targets)
        nemesisRng = rng
        let undo = carryOut(planned)
        traceFault("nemesis_action", action: strike.choice.rawValue, targets: strike.targets)
        if let undo {
            nemesisUndo[tick] = undo
            cluster.schedule(.nemesisHeal(tick: Int32(tick)), at: cluster.now + plan.duration)
        }
        nemesisFaults.append(MaterialisedFault(at: cluster.now, action: strike.action,
                                               targets: strike.targets.map { cluster.processes[$0].name },
                                               others: cluster.clusterNodes.filter { !strike.targets.contains($0) }.map { cluster.processes[$0].name },
                                               duration: undo == nil ? nil : plan.duration))
        cluster.note("nemesis", "nemesis \(strike.choice.rawValue)", nodes: strike.targets,
                     until: undo == nil ? nil : cluster.now + plan.duration)
        noteHealth()
    }

    /// Carries out a planned fault and returns what will undo it (nil: nothing to undo).
    mutating func carryOut(_ planned: PlannedFault) -> SimFaultUndo? {
        var saved: SimFaultUndo.Saved?
        for operation in planned.operations { saved = carryOut(operation) ?? saved }
        guard let undo = planned.undo else { return nil }
        if undo == .restoreSaved && saved == nil { return nil }  // nothing was changed
        return SimFaultUndo(plan: undo, saved: saved)
    }

    /// One operation of the cluster-control protocol on the virtual cluster; returns the state
    /// it replaced where undoing needs it.
    mutating func carryOut(_ operation: ClusterOperation) -> SimFaultUndo.Saved? {
        switch operation {
        case .crash(let nodes):
            for node in nodes { crash(node) }
        case .restart(let nodes):
            for node in nodes where cluster.processes[node].state == .crashed { restart(node) }
        case .pause(let nodes):
            for node in nodes { cluster.processes[node].pause() }
        case .resume(let nodes):
            resume(nodes)
        case .partition, .block, .healPartitions, .healAll, .delay, .loss, .duplicate, .bandwidth, .reset, .clearLinks:
            _ = cluster.network.apply(operation, now: cluster.now)
            switch operation {
            case .partition, .block: partitioned = true
            case .healPartitions: partitioned = false
            case .healAll:
                partitioned = false
                activeLinkFaults = 0
            case .delay(let pairs, _), .loss(let pairs, _), .duplicate(let pairs, _), .bandwidth(let pairs, _):
                activeLinkFaults += pairs.isEmpty ? 0 : 1
            case .clearLinks(let pairs):
                if !pairs.isEmpty { activeLinkFaults = max(0, activeLinkFaults - 1) }
            default: break
            }
        case .clock(let nodes, let change):
            let before = nodes.map { ($0, cluster.processes[$0].clock) }
            for node in nodes {
                switch change {
                case .offset(let offset): cluster.processes[node].clock.setOffset(offset)
                case .drift(let ppm): cluster.processes[node].clock.setDrift(ppm: ppm, at: cluster.now)
                case .jump(let delta): cluster.processes[node].clock.jump(by: delta)
                }
            }
            return .clocks(before)
        case .disk(let nodes, let fault):
            let before = nodes.map { ($0, cluster.processes[$0].disk.config) }
            for node in nodes {
                switch fault {
                case .slowFsync(let latency): cluster.processes[node].disk.config.fsyncLatency = latency
                case .corrupt(let probability): cluster.processes[node].disk.config.corruptionProbability = probability
                case .tornWrites(let on): cluster.processes[node].disk.config.tornWrites = on
                case .fsyncError(let on): cluster.processes[node].disk.config.fsyncFails = on
                }
            }
            return .disks(before)
        case .model(let action):
            return carryOutModelFault(action)
        }
        return nil
    }

    /// Faults of a model's own state: account compromises and API storms, slowed stations and services.
    mutating func carryOutModelFault(_ action: FaultAction) -> SimFaultUndo.Saved? {
        switch action {
        case .compromise(let selector):
            if let compromised = accounts?.accounts(selector) { accounts?.compromises.append((cluster.now, compromised)) }
            return nil
        case .apiStorm(let selector, let rate):
            guard let state = accounts else { return nil }
            accounts?.storms.append((state.accounts(selector), state.teams(selector), rate, cluster.now, nil))
            return .storm(state.storms.count)
        case .slowdown(let name, let factor):
            if stations.stationIndex[name] == nil, let index = mesh?.slowdownIndex(name), let previous = mesh?.world.slowdown[index] {
                mesh?.world.slowdown[index] = factor
                return .meshSlowdown(service: index, factor: previous)
            }
            guard let station = stations.stationIndex[name] else { return nil }
            let previous = stations.slowdown[station]
            stations.slowdown[station] = factor
            return .slowdown(station: station, factor: previous)
        default:
            return nil
        }
    }

    mutating func apply(_ undo: SimFaultUndo) {
        if let operation = undo.plan.operation { _ = carryOut(operation) }
        guard undo.plan == .restoreSaved, let saved = undo.saved else { return }
        switch saved {
        case .clocks(let clocks):
            // Offsets go back; time already lived under drift stays lived (clocks never rewind
            // on their own in reality either), so restore offset/drift, continuous at `now`.
            for (node, clock) in clocks {
                cluster.processes[node].clock.setDrift(ppm: clock.driftPPM, at: cluster.now)
                cluster.processes[node].clock.setOffset(clock.offset)
            }
        case .disks(let configs):
            for (node, config) in configs { cluster.processes[node].disk.config = config }
        case .slowdown(let station, let factor):
            stations.slowdown[station] = factor
        case .meshSlowdown(let service, let factor):
            mesh?.world.slowdown[service] = factor
        case .storm(let index):
            accounts?.storms[index].to = cluster.now
        }
    }

    // MARK: - Processes

    mutating func crash(_ node: NodeID) {
        broker?.crashed(node, &cluster)
        mesh?.crashed(node, &cluster)
        cluster.processes[node].crash()
        cluster.heldWhilePaused[node].removeAll()
        stations.crashed(node, at: cluster.now)
    }

    /// A failed fsync (`disk: {fsync_error: true}`): the node stops itself, as the live broker
    /// does, and is down as after a crash (its unsynced writes are lost with it).
    mutating func failStop(_ node: NodeID) {
        traceFault("fail_stop", action: "fsync failed (EIO)", targets: [node])
        cluster.note("exit", "fsync failed (EIO): the node stops itself", nodes: [node])
        broker?.world.failStops += 1
        crash(node)
        noteHealth()
    }

    mutating func restart(_ node: NodeID) {
        // State is rebuilt only from what the disk kept; a station keeps nothing on disk,
        // so it comes back empty (its queue died with the crash).
        cluster.processes[node].restart()
        broker?.restarted(node, &cluster)
        mesh?.restarted(node, &cluster)
    }

    /// Resumes processes and delivers what was held for them, in arrival order, now.
    mutating func resume(_ nodes: [NodeID]) {
        for node in nodes where cluster.processes[node].state == .paused {
            cluster.processes[node].resume()
            let held = cluster.heldWhilePaused[node]
            cluster.heldWhilePaused[node].removeAll()
            for event in held { cluster.schedule(event, at: cluster.now) }
        }
    }

    /// True when nothing injected is in force (clock and disk settings don't count: they
    /// change behaviour, not reachability).
    var isHealthy: Bool {
        !partitioned && activeLinkFaults == 0
            && cluster.clusterNodes.allSatisfy { cluster.processes[$0].state == .running }
            && stations.slowdown.allSatisfy { $0 == 1 }
            && (mesh?.world.slowdown.allSatisfy { $0 == 1 } ?? true)
    }

    /// Tells the liveness checker whenever the system returns to health.
    mutating func noteHealth() {
        if isHealthy { cluster.requests.liveness.healed(at: cluster.now) }
    }
}

extension Simulation {
    /// With a trace file, says what a fault did and to whom (a trace line only; the trace
    /// hash covers the events themselves).
    func traceFault(_ kind: String, action: String, targets: [NodeID]) {
        guard let sink = cluster.traceSink else { return }
        var line = TraceLine(time: cluster.now, sequence: 0, kind: kind)
        line.add("action", action)
        line.add("targets", targets.map { cluster.processes[$0].name }.joined(separator: ","))
        sink.write(line: line.json)
    }
}
