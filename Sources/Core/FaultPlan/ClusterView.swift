import Scenario

/// A node of the cluster as the fault plan sees it: an index into the driver's node list.
public typealias ClusterNode = Int

/// Whether a node's process runs, is down or is stopped.
public enum NodeCondition: Sendable, Equatable {
    case running, crashed, paused
}

/// What the fault plan may see of a cluster to resolve selectors, read-only. The simulator
/// answers from its virtual cluster; a live run answers from a snapshot it took of the real
/// processes (see `ClusterSnapshot`). Every list is in a stable order: resolution must not depend
/// on hash order.
public protocol ClusterView {
    /// The cluster's nodes in id order: the candidates of random picks.
    var clusterNodes: [ClusterNode] { get }
    func node(named name: String) -> ClusterNode?
    func zone(of node: ClusterNode) -> String
    func condition(of node: ClusterNode) -> NodeCondition
    /// The current leader of a stream, as the cluster's metadata says.
    func leader(ofStream stream: String) -> ClusterNode?
    /// A stream's replicas in placement order.
    func replicas(ofStream stream: String) -> [ClusterNode]
    func metadataLeaderNode() -> ClusterNode?
    /// The node a service station runs on (the station model), if any.
    func stationHost(_ station: String) -> ClusterNode?
    /// The nodes of a mesh service, if the scenario has such a service.
    func serviceNodes(named service: String) -> [ClusterNode]?
    /// The nodes placed in an account / a region (the multi-account model); nil without it.
    func accountNodes(_ account: String) -> [ClusterNode]?
    func regionNodes(_ region: String) -> [ClusterNode]?
    /// The load driver's node: a link fault aimed at nemesis targets cuts it off from them too.
    var loadDriverNode: ClusterNode? { get }
}

/// A cluster frozen at one moment: what a live run hands the plan after asking its processes
/// (leaders and replicas over the network, states by pid) — the asking is async, resolution is not.
public struct ClusterSnapshot: ClusterView, Sendable {
    public var names: [String]
    public var zones: [String]
    public var conditions: [NodeCondition]
    public var streamLeaders: [String: ClusterNode]
    public var streamReplicas: [String: [ClusterNode]]
    public var metadataLeader: ClusterNode?

    public init(names: [String], zones: [String], conditions: [NodeCondition], streamLeaders: [String: ClusterNode] = [:],
                streamReplicas: [String: [ClusterNode]] = [:], metadataLeader: ClusterNode? = nil) {
        self.names = names
        self.zones = zones
        self.conditions = conditions
        self.streamLeaders = streamLeaders
        self.streamReplicas = streamReplicas
        self.metadataLeader = metadataLeader
    }

    public var clusterNodes: [ClusterNode] { Array(names.indices) }
    public func node(named name: String) -> ClusterNode? { names.firstIndex(of: name) }
    public func zone(of node: ClusterNode) -> String { zones[node] }
    public func condition(of node: ClusterNode) -> NodeCondition { conditions[node] }
    public func leader(ofStream stream: String) -> ClusterNode? { streamLeaders[stream] }
    public func replicas(ofStream stream: String) -> [ClusterNode] { streamReplicas[stream] ?? [] }
    public func metadataLeaderNode() -> ClusterNode? { metadataLeader }
    public func stationHost(_ station: String) -> ClusterNode? { nil }
    public func serviceNodes(named service: String) -> [ClusterNode]? { nil }
    public func accountNodes(_ account: String) -> [ClusterNode]? { nil }
    public func regionNodes(_ region: String) -> [ClusterNode]? { nil }
    public var loadDriverNode: ClusterNode? { nil }
}
