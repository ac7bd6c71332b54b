import Sampling
import Scenario

/// Turns a scenario selector into nodes, the same way for the simulator and live runs. Random
/// choices draw from the generator the driver passes: both derive it from the run seed
/// (`SeededGenerator(seed:).stream("faults")`), so `random-node` picks the same node in a
/// simulated and a live run of one seed when the clusters look alike.
public enum SelectorResolution {
    public static func resolve(_ selector: Selector, in view: some ClusterView, _ rng: inout SeededGenerator) -> [ClusterNode] {
        let nodes = view.clusterNodes
        switch selector {
        case .node(let name):
            return view.node(named: name).map { [$0] } ?? []
        case .zone(let zone):
            return nodes.filter { view.zone(of: $0) == zone }
        case .randomNode:
            return nodes.isEmpty ? [] : [nodes[rng.index(below: nodes.count)]]
        case .minority:
            return randomSubset(of: nodes, size: (nodes.count - 1) / 2, &rng)
        case .majority:
            return randomSubset(of: nodes, size: nodes.count / 2 + 1, &rng)
        case .all:
            return nodes
        case .crashed:
            return nodes.filter { view.condition(of: $0) == .crashed }
        case .paused:
            return nodes.filter { view.condition(of: $0) == .paused }
        case .station(let name):
            return view.stationHost(name).map { [$0] } ?? []
        case .leader(let stream):
            return view.leader(ofStream: stream).map { [$0] } ?? []
        case .follower(let stream):
            let leader = view.leader(ofStream: stream)
            return view.replicas(ofStream: stream).filter { $0 != leader }
        case .metadataLeader:
            return view.metadataLeaderNode().map { [$0] } ?? []
        case .account(let account):
            return view.accountNodes(account) ?? []
        case .service(let name):
            return (view.serviceNodes(named: name) ?? []).sorted()
        }
    }

    /// The union of several selectors, sorted.
    public static func resolve(_ selectors: [Selector], in view: some ClusterView, _ rng: inout SeededGenerator) -> [ClusterNode] {
        var ids: [ClusterNode] = []
        for selector in selectors { ids += resolve(selector, in: view, &rng) }
        return Array(Set(ids)).sorted()
    }

    /// A uniformly random subset (partial Fisher–Yates), sorted.
    static func randomSubset(of nodes: [ClusterNode], size: Int, _ rng: inout SeededGenerator) -> [ClusterNode] {
        var pool = nodes
        let count = min(max(size, 0), pool.count)
        for i in 0..<count {
            let j = i + rng.index(below: pool.count - i)
            pool.swapAt(i, j)
        }
        return pool[0..<count].sorted()
    }
}
