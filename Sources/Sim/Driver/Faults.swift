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
    public func node(named name: String) -> ClusterNode? { nodeIndex[name] }
    public func zone(of node: ClusterNode) -> String { processes[node].zone }
    public func condition(of node: ClusterNode) -> NodeCondition {
        switch processes[node].state {
        case .running: .running
        case .crashed: .crashed
        case .paused: .paused
        }
    }
    public func leader(ofStream stream: String) -> ClusterNode? {
        brokerBox?.world.streamIndex(stream).flatMap { streamLeader($0) }
    }
    public func replicas(ofStream stream: String) -> [ClusterNode] {
        guard let world = brokerBox?.world, let index = world.streamIndex(stream) else { return [] }
        return world.replicaNodes[index]
    }
    public func metadataLeaderNode() -> ClusterNode? { brokerBox == nil ? nil : metadataLeader() }
    public func stationHost(_ station: String) -> ClusterNode? { stationIndex[station].map { stationNode[$0] } }
    public func serviceNodes(named service: String) -> [ClusterNode]? { meshServiceNodes(service) }
    public func accountNodes(_ account: String) -> [ClusterNode]? {
        guard let m = meshWorld else { return nil }
        return clusterNodes.filter { $0 < m.nodeAccount.count && m.nodeAccount[$0] == account }
    }
    public func regionNodes(_ region: String) -> [ClusterNode]? {
        guard let m = meshWorld else { return nil }
        return clusterNodes.filter { $0 < m.nodeRegion.count && m.nodeRegion[$0] == region }
    }
    public var loadDriverNode: ClusterNode? { clientNode }
}

extension Simulation {
    // MARK: - Selectors

    func validateSelectors() throws {
        func check(_ selector: Selector) throws {
            switch selector {
            case .leader(let stream), .follower(let stream):
                if brokerBox?.world.streamIndex(stream) == nil {
                    throw SimulationError("selector \(selector) names stream \(stream), which this scenario's broker does not have")
                }
            case .metadataLeader:
                if brokerBox == nil {
                    throw SimulationError("selector metadata-leader needs a broker: section")
                }
            case .account(let account):
                guard let state = accountsState else {
                    throw SimulationError("selector account(\(account)) needs the accounts model (organisation: and accounts:)")
                }
                guard state.placement.accounts.contains(account) else {
                    throw SimulationError("selector account(\(account)) names no account of this placement (\(state.placement.accounts.prefix(10).joined(separator: ", ")))")
                }
            case .node(let name) where nodeIndex[name] == nil:
                throw SimulationError("selector names unknown node \(name)")
            case .station(let name) where stationIndex[name] == nil:
                throw SimulationError("selector names unknown station \(name)")
            case .service(let name) where meshServiceNodes(name) == nil && accountsState == nil:
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
        if let duration = fault.duration, let undo {
            faultUndo[index] = undo
            queue.schedule(.undoFault(index: Int32(index)), at: now + duration)
        }
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
            queue.schedule(.nemesisHeal(tick: Int32(tick)), at: now + plan.duration)
        }
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
            for node in nodes where processes[node].state == .crashed { restart(node) }
        case .pause(let nodes):
            for node in nodes { processes[node].pause() }
        case .resume(let nodes):
            resume(nodes)
        case .partition(let groups):
            network.partition(groups: groups)
            partitioned = true
        case .block(let from, let to):
            network.block(from: from, to: to)
            partitioned = true
        case .healPartitions:
            network.healPartitions()
            partitioned = false
        case .healAll:
            network.healPartitions()
            network.clearAllLinkFaults()
            partitioned = false
            activeLinkFaults = 0
        case .delay(let pairs, let extra):
            for pair in pairs { network.addDelay(from: pair.from, to: pair.to, extra: extra) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
        case .loss(let pairs, let probability):
            for pair in pairs { network.setFaultLoss(from: pair.from, to: pair.to, probability: probability) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
        case .duplicate(let pairs, let probability):
            for pair in pairs { network.setFaultDuplicate(from: pair.from, to: pair.to, probability: probability) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
        case .clearLinks(let pairs):
            for pair in pairs { network.clearLinkFaults(from: pair.from, to: pair.to) }
            if !pairs.isEmpty { activeLinkFaults = max(0, activeLinkFaults - 1) }
        case .clock(let nodes, let change):
            let before = nodes.map { ($0, processes[$0].clock) }
            for node in nodes {
                switch change {
                case .offset(let offset): processes[node].clock.setOffset(offset)
                case .drift(let ppm): processes[node].clock.setDrift(ppm: ppm, at: now)
                case .jump(let delta): processes[node].clock.jump(by: delta)
                }
            }
            return .clocks(before)
        case .disk(let nodes, let fault):
            let before = nodes.map { ($0, processes[$0].disk.config) }
            for node in nodes {
                switch fault {
                case .slowFsync(let latency): processes[node].disk.config.fsyncLatency = latency
                case .corrupt(let probability): processes[node].disk.config.corruptionProbability = probability
                case .tornWrites(let on): processes[node].disk.config.tornWrites = on
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
            if let accounts = accountsState?.accounts(selector) { accountsState?.compromises.append((now, accounts)) }
            return nil
        case .apiStorm(let selector, let rate):
            guard let state = accountsState else { return nil }
            accountsState?.storms.append((state.accounts(selector), state.teams(selector), rate, now, nil))
            return .storm(accountsState!.storms.count - 1)
        case .slowdown(let name, let factor):
            if stationIndex[name] == nil, let index = meshSlowdownIndex(name), let m = meshWorld {
                let previous = m.slowdown[index]
                m.slowdown[index] = factor
                return .meshSlowdown(service: index, factor: previous)
            }
            guard let station = stationIndex[name] else { return nil }
            let previous = slowdown[station]
            slowdown[station] = factor
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
                processes[node].clock.setDrift(ppm: clock.driftPPM, at: now)
                processes[node].clock.setOffset(clock.offset)
            }
        case .disks(let configs):
            for (node, config) in configs { processes[node].disk.config = config }
        case .slowdown(let station, let factor):
            slowdown[station] = factor
        case .meshSlowdown(let service, let factor):
            meshWorld?.slowdown[service] = factor
        case .storm(let index):
            accountsState?.storms[index].to = now
        }
    }

    // MARK: - Processes

    mutating func crash(_ node: NodeID) {
        brokerCrashed(node)
        meshCrashed(node)
        processes[node].crash()
        heldWhilePaused[node].removeAll()
        for station in stations.indices where stationNode[station] == node {
            stations[station].crash(at: now)
        }
    }

    mutating func restart(_ node: NodeID) {
        // State is rebuilt only from what the disk kept; a station keeps nothing on disk,
        // so it comes back empty (its queue died with the crash).
        processes[node].restart()
        brokerRestarted(node)
        meshRestarted(node)
    }

    /// Resumes processes and delivers what was held for them, in arrival order, now.
    mutating func resume(_ nodes: [NodeID]) {
        for node in nodes where processes[node].state == .paused {
            processes[node].resume()
            let held = heldWhilePaused[node]
            heldWhilePaused[node].removeAll()
            for event in held { queue.schedule(event, at: now) }
        }
    }

    /// True when nothing injected is in force (clock and disk settings don't count: they
    /// change behaviour, not reachability).
    var isHealthy: Bool {
        !partitioned && activeLinkFaults == 0
            && clusterNodes.allSatisfy { processes[$0].state == .running }
            && slowdown.allSatisfy { $0 == 1 }
            && (meshWorld?.slowdown.allSatisfy { $0 == 1 } ?? true)
    }

    /// Tells the liveness checker whenever the system returns to health.
    mutating func noteHealth() {
        if isHealthy { liveness.healed(at: now) }
    }
}

extension Simulation {
    /// With a trace file, says what a fault did and to whom (a trace line only; the trace
    /// hash covers the events themselves).
    func traceFault(_ kind: String, action: String, targets: [NodeID]) {
        guard let sink = traceSink else { return }
        var line = TraceLine(time: now, sequence: 0, kind: kind)
        line.add("action", action)
        line.add("targets", targets.map { processes[$0].name }.joined(separator: ","))
        sink.write(line: line.json)
    }
}
