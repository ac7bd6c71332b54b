import Scenario
import SimCore

/// What undoes a fault once its `for:` duration (or the nemesis' heal delay) is over.
enum FaultUndo: Sendable {
    case restart([NodeID])
    case resume([NodeID])
    case healPartitions
    case clearLinks([Pair])
    case restoreClocks([(NodeID, SimClock)])
    case restoreDisks([(NodeID, DiskConfig)])
    case restoreSlowdown(station: Int, factor: Double)
    case restoreMeshSlowdown(service: Int, factor: Double)
    case endStorm(Int)

    struct Pair: Sendable { var from: NodeID; var to: NodeID }
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

    /// Resolves a selector to sorted node ids. Random choices draw from `rng`, so the
    /// schedule and the nemesis each keep their own reproducible stream.
    func resolve(_ selector: Selector, _ rng: inout SeededGenerator) -> [NodeID] {
        switch selector {
        case .node(let name):
            return nodeIndex[name].map { [$0] } ?? []
        case .zone(let zone):
            return clusterNodes.filter { processes[$0].zone == zone }
        case .randomNode:
            return clusterNodes.isEmpty ? [] : [clusterNodes[rng.index(below: clusterNodes.count)]]
        case .minority:
            return randomSubset(size: (clusterNodes.count - 1) / 2, &rng)
        case .majority:
            return randomSubset(size: clusterNodes.count / 2 + 1, &rng)
        case .all:
            return clusterNodes
        case .crashed:
            return clusterNodes.filter { processes[$0].state == .crashed }
        case .paused:
            return clusterNodes.filter { processes[$0].state == .paused }
        case .station(let name):
            return stationIndex[name].map { [stationNode[$0]] } ?? []
        case .leader, .follower, .metadataLeader:
            return resolveBrokerSelector(selector)
        case .account(let account):
            guard let m = meshWorld else { return [] }
            return clusterNodes.filter { $0 < m.nodeAccount.count && m.nodeAccount[$0] == account }
        case .service(let name):
            return (meshServiceNodes(name) ?? []).sorted()
        }
    }

    func resolve(_ selectors: [Selector], _ rng: inout SeededGenerator) -> [NodeID] {
        var ids: [NodeID] = []
        for selector in selectors { ids += resolve(selector, &rng) }
        return Array(Set(ids)).sorted()
    }

    /// A uniformly random subset of the cluster nodes (partial Fisher–Yates), sorted.
    func randomSubset(size: Int, _ rng: inout SeededGenerator) -> [NodeID] {
        var pool = clusterNodes
        let count = min(max(size, 0), pool.count)
        for i in 0..<count {
            let j = i + rng.index(below: pool.count - i)
            pool.swapAt(i, j)
        }
        return pool[0..<count].sorted()
    }

    // MARK: - The schedule

    mutating func applyScheduledFault(_ index: Int) {
        let fault = scenario.faults[index]
        var rng = faultRng
        let undo = apply(fault.action, &rng)
        faultRng = rng
        traceFault("fault_action", action: fault.action.keyword, targets: undo?.nodes ?? [])
        if let duration = fault.duration, let undo {
            faultUndo[index] = undo
            queue.schedule(.undoFault(index: Int32(index)), at: now + duration)
        }
        noteHealth()
    }

    mutating func nemesisStrike(_ tick: Int) {
        guard let nemesis = scenario.nemesis, let plan = nemesisPlan, !plan.actions.isEmpty else { return }
        var rng = nemesisRng
        let choice = plan.actions[rng.index(below: plan.actions.count)]
        let targets = resolve(nemesis.targets, &rng)
        let action: FaultAction
        let everywhere = Link(from: [], to: [], bothWays: true)
        switch choice {
        case .crash: action = .crash(.all)
        case .pause: action = .pause(.all)
        case .partition: action = .partition(.isolate(.all))
        case .delay: action = .delay(everywhere, extra: .exponential(mean: plan.delayMean))
        case .loss: action = .loss(everywhere, probability: plan.lossProbability)
        case .clock:
            let range = plan.clockRange
            action = .clock(.all, .offset(Int64(rng.nextUnit() * Double(2 * range)) - range))
        case .disk: action = .disk(.all, .slowFsync(plan.slowFsync))
        }
        let undo = apply(action, &rng, targets: targets)
        nemesisRng = rng
        traceFault("nemesis_action", action: choice.rawValue, targets: targets)
        if let undo {
            nemesisUndo[tick] = undo
            queue.schedule(.nemesisHeal(tick: Int32(tick)), at: now + plan.duration)
        }
        noteHealth()
    }

    /// Applies one action and returns what would undo it. `targets` overrides the node
    /// selection (the nemesis picks its targets itself).
    mutating func apply(_ action: FaultAction, _ rng: inout SeededGenerator, targets: [NodeID]? = nil) -> FaultUndo? {
        func nodes(_ selector: Selector) -> [NodeID] { targets ?? resolve(selector, &rng) }
        switch action {
        case .crash(let selector):
            let hit = nodes(selector).filter { processes[$0].state != .crashed }
            for node in hit { crash(node) }
            return .restart(hit)
        case .restart(let selector):
            for node in nodes(selector) where processes[node].state == .crashed { restart(node) }
            return nil
        case .pause(let selector):
            let hit = nodes(selector).filter { processes[$0].state == .running }
            for node in hit { processes[node].pause() }
            return .resume(hit)
        case .resume(let selector):
            resume(nodes(selector))
            return nil
        case .partition(let partition):
            applyPartition(partition, &rng, targets: targets)
            return .healPartitions
        case .heal:
            network.healPartitions()
            network.clearAllLinkFaults()
            partitioned = false
            activeLinkFaults = 0
            return nil
        case .delay(let link, let extra):
            let pairs = linkPairs(link, &rng, targets: targets)
            for pair in pairs { network.addDelay(from: pair.from, to: pair.to, extra: extra) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
            return .clearLinks(pairs)
        case .loss(let link, let probability):
            let pairs = linkPairs(link, &rng, targets: targets)
            for pair in pairs { network.setFaultLoss(from: pair.from, to: pair.to, probability: probability) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
            return .clearLinks(pairs)
        case .duplicate(let link, let probability):
            let pairs = linkPairs(link, &rng, targets: targets)
            for pair in pairs { network.setFaultDuplicate(from: pair.from, to: pair.to, probability: probability) }
            activeLinkFaults += pairs.isEmpty ? 0 : 1
            return .clearLinks(pairs)
        case .clock(let selector, let change):
            let hit = nodes(selector)
            let before = hit.map { ($0, processes[$0].clock) }
            for node in hit {
                switch change {
                case .offset(let offset): processes[node].clock.setOffset(offset)
                case .drift(let ppm): processes[node].clock.setDrift(ppm: ppm, at: now)
                case .jump(let delta): processes[node].clock.jump(by: delta)
                }
            }
            return .restoreClocks(before)
        case .disk(let selector, let fault):
            let hit = nodes(selector)
            let before = hit.map { ($0, processes[$0].disk.config) }
            for node in hit {
                switch fault {
                case .slowFsync(let latency): processes[node].disk.config.fsyncLatency = latency
                case .corrupt(let probability): processes[node].disk.config.corruptionProbability = probability
                case .tornWrites(let on): processes[node].disk.config.tornWrites = on
                }
            }
            return .restoreDisks(before)
        case .suspend(let selector), .badChange(let selector):
            // Everything in the account stops: its processes go down until the fault ends.
            return apply(.crash(selector), &rng, targets: targets)
        case .regionOutage(let region):
            guard let m = meshWorld else { return nil }
            let hit = clusterNodes.filter {
                $0 < m.nodeRegion.count && m.nodeRegion[$0] == region && processes[$0].state != .crashed
            }
            for node in hit { crash(node) }
            return .restart(hit)
        case .compromise(let selector):
            if let accounts = accountsState?.accounts(selector) { accountsState?.compromises.append((now, accounts)) }
            return nil
        case .apiStorm(let selector, let rate):
            guard let state = accountsState else { return nil }
            accountsState?.storms.append((state.accounts(selector), state.teams(selector), rate, now, nil))
            return .endStorm(accountsState!.storms.count - 1)
        case .slowdown(let name, let factor):
            if stationIndex[name] == nil, let index = meshSlowdownIndex(name), let m = meshWorld {
                let previous = m.slowdown[index]
                m.slowdown[index] = factor
                return .restoreMeshSlowdown(service: index, factor: previous)
            }
            guard let station = stationIndex[name] else { return nil }
            let previous = slowdown[station]
            slowdown[station] = factor
            return .restoreSlowdown(station: station, factor: previous)
        }
    }

    mutating func apply(_ undo: FaultUndo) {
        switch undo {
        case .restart(let nodes):
            for node in nodes where processes[node].state == .crashed { restart(node) }
        case .resume(let nodes):
            resume(nodes)
        case .healPartitions:
            network.healPartitions()
            partitioned = false
        case .clearLinks(let pairs):
            for pair in pairs { network.clearLinkFaults(from: pair.from, to: pair.to) }
            if !pairs.isEmpty { activeLinkFaults = max(0, activeLinkFaults - 1) }
        case .restoreClocks(let saved):
            // Offsets go back; time already lived under drift stays lived (clocks never rewind
            // on their own in reality either), so restore offset/drift, continuous at `now`.
            for (node, clock) in saved {
                processes[node].clock.setDrift(ppm: clock.driftPPM, at: now)
                processes[node].clock.setOffset(clock.offset)
            }
        case .restoreDisks(let saved):
            for (node, config) in saved { processes[node].disk.config = config }
        case .restoreSlowdown(let station, let factor):
            slowdown[station] = factor
        case .restoreMeshSlowdown(let service, let factor):
            meshWorld?.slowdown[service] = factor
        case .endStorm(let index):
            accountsState?.storms[index].to = now
        }
    }

    mutating func applyPartition(_ partition: Partition, _ rng: inout SeededGenerator, targets: [NodeID]?) {
        switch partition {
        case .groups(let groups):
            network.partition(groups: groups.map { resolve($0, &rng) })
        case .isolate(let selector):
            let isolated = targets ?? resolve(selector, &rng)
            let rest = clusterNodes.filter { !isolated.contains($0) }
            network.partition(groups: [isolated, rest])
        case .oneWay(let from, let to):
            network.block(from: resolve(from, &rng), to: resolve(to, &rng))
        }
        partitioned = true
    }

    /// Directed node pairs a link fault applies to. With nemesis targets: between the
    /// targets and every other node, both ways.
    func linkPairs(_ link: Link, _ rng: inout SeededGenerator, targets: [NodeID]?) -> [FaultUndo.Pair] {
        let from: [NodeID]
        let to: [NodeID]
        if let targets {
            from = targets
            to = (clusterNodes + [clientNode]).filter { !targets.contains($0) }
        } else {
            from = resolve(link.from, &rng)
            to = resolve(link.to, &rng)
        }
        var pairs: [FaultUndo.Pair] = []
        for a in from {
            for b in to where a != b {
                pairs.append(.init(from: a, to: b))
                if link.bothWays || targets != nil { pairs.append(.init(from: b, to: a)) }
            }
        }
        return pairs
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

extension FaultUndo {
    /// The processes a fault hit, for the trace.
    var nodes: [NodeID] {
        switch self {
        case .restart(let nodes), .resume(let nodes): return nodes
        case .restoreClocks(let saved): return saved.map(\.0)
        case .restoreDisks(let saved): return saved.map(\.0)
        case .clearLinks(let pairs): return Array(Set(pairs.flatMap { [$0.from, $0.to] })).sorted()
        case .healPartitions, .restoreSlowdown, .restoreMeshSlowdown, .endStorm: return []
        }
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
