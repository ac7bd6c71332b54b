import Sampling
import Scenario

/// Resolves a fault action against the cluster as it is now and says which operations carry it
/// out and what will undo it. One implementation for the simulator and live runs: the rules
/// (a crash hits only running or paused nodes, a pause only running ones, `isolate` cuts the
/// selection off from everyone else, a link fault aimed at nemesis targets cuts them off from
/// every other node both ways) live here, not in the drivers.
public enum FaultPlanner {
    /// `targets` overrides node selection (the nemesis picks its targets itself).
    public static func plan(_ action: FaultAction, in view: some ClusterView, _ rng: inout SeededGenerator,
                            targets: [ClusterNode]? = nil) -> PlannedFault {
        func nodes(_ selector: Selector) -> [ClusterNode] { targets ?? SelectorResolution.resolve(selector, in: view, &rng) }
        switch action {
        case .crash(let selector):
            let hit = nodes(selector).filter { view.condition(of: $0) != .crashed }
            return PlannedFault(operations: [.crash(hit)], undo: .restart(hit), targets: hit)
        case .restart(let selector):
            let hit = nodes(selector).filter { view.condition(of: $0) == .crashed }
            return PlannedFault(operations: [.restart(hit)], undo: nil, targets: hit)
        case .pause(let selector):
            let hit = nodes(selector).filter { view.condition(of: $0) == .running }
            return PlannedFault(operations: [.pause(hit)], undo: .resume(hit), targets: hit)
        case .resume(let selector):
            let hit = nodes(selector)
            return PlannedFault(operations: [.resume(hit)], undo: nil, targets: hit)
        case .partition(let partition):
            let operation: ClusterOperation
            switch partition {
            case .groups(let groups):
                operation = .partition(groups: groups.map { SelectorResolution.resolve($0, in: view, &rng) })
            case .isolate(let selector):
                let isolated = nodes(selector)
                operation = .partition(groups: [isolated, view.clusterNodes.filter { !isolated.contains($0) }])
            case .oneWay(let from, let to):
                let sources = SelectorResolution.resolve(from, in: view, &rng)
                operation = .block(from: sources, to: SelectorResolution.resolve(to, in: view, &rng))
            }
            return PlannedFault(operations: [operation], undo: .healPartitions, targets: [])
        case .heal:
            return PlannedFault(operations: [.healAll], undo: nil, targets: [])
        case .delay(let link, let extra):
            let pairs = linkPairs(link, in: view, &rng, targets: targets)
            return PlannedFault(operations: [.delay(pairs, extra: extra)], undo: .clearLinks(pairs), targets: endpoints(pairs))
        case .loss(let link, let probability):
            let pairs = linkPairs(link, in: view, &rng, targets: targets)
            return PlannedFault(operations: [.loss(pairs, probability: probability)], undo: .clearLinks(pairs), targets: endpoints(pairs))
        case .duplicate(let link, let probability):
            let pairs = linkPairs(link, in: view, &rng, targets: targets)
            return PlannedFault(operations: [.duplicate(pairs, probability: probability)], undo: .clearLinks(pairs),
                                targets: endpoints(pairs))
        case .reset(let link):
            let pairs = linkPairs(link, in: view, &rng, targets: targets)
            return PlannedFault(operations: [.reset(pairs)], undo: nil, targets: endpoints(pairs))
        case .bandwidth(let link, let rate):
            let pairs = linkPairs(link, in: view, &rng, targets: targets)
            return PlannedFault(operations: [.bandwidth(pairs, bytesPerSecond: rate)], undo: .clearLinks(pairs),
                                targets: endpoints(pairs))
        case .clock(let selector, let change):
            let hit = nodes(selector)
            return PlannedFault(operations: [.clock(hit, change)], undo: .restoreSaved, targets: hit)
        case .disk(let selector, let fault):
            let hit = nodes(selector)
            return PlannedFault(operations: [.disk(hit, fault)], undo: .restoreSaved, targets: hit)
        case .suspend(let selector), .badChange(let selector):
            // Everything in the account stops: its processes go down until the fault ends.
            return plan(.crash(selector), in: view, &rng, targets: targets)
        case .regionOutage(let region):
            guard let inRegion = view.regionNodes(region) else { return PlannedFault(operations: [], undo: nil, targets: []) }
            let hit = inRegion.filter { view.condition(of: $0) != .crashed }
            return PlannedFault(operations: [.crash(hit)], undo: .restart(hit), targets: hit)
        case .compromise:
            return PlannedFault(operations: [.model(action)], undo: nil, targets: [])
        case .apiStorm, .slowdown:
            return PlannedFault(operations: [.model(action)], undo: .restoreSaved, targets: [])
        }
    }

    /// Directed node pairs a link fault applies to. With nemesis targets: between the targets
    /// and every other node (the load driver's included), both ways.
    static func linkPairs(_ link: Link, in view: some ClusterView, _ rng: inout SeededGenerator,
                          targets: [ClusterNode]?) -> [LinkPair] {
        let from: [ClusterNode]
        let to: [ClusterNode]
        if let targets {
            from = targets
            to = (view.clusterNodes + (view.loadDriverNode.map { [$0] } ?? [])).filter { !targets.contains($0) }
        } else {
            from = SelectorResolution.resolve(link.from, in: view, &rng)
            to = SelectorResolution.resolve(link.to, in: view, &rng)
        }
        var pairs: [LinkPair] = []
        for a in from {
            for b in to where a != b {
                pairs.append(LinkPair(from: a, to: b))
                if link.bothWays || targets != nil { pairs.append(LinkPair(from: b, to: a)) }
            }
        }
        return pairs
    }

    static func endpoints(_ pairs: [LinkPair]) -> [ClusterNode] {
        Array(Set(pairs.flatMap { [$0.from, $0.to] })).sorted()
    }
}
