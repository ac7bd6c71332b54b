import Sampling
import Scenario

/// The concrete call graph of one run: services with their calls grouped into stages. Generated
/// shapes draw their edges from the run's generator, so a seed fixes the graph.
public struct CallGraph: Sendable {
    public struct Edge: Sendable, Equatable {
        public var callee: Int
        public var timeout: Int64?
        public var retries: Int
        /// A soft dependency: when it fails for good the caller uses a fallback and carries on.
        public var soft = false

        public init(callee: Int, timeout: Int64?, retries: Int, soft: Bool = false) {
            self.callee = callee
            self.timeout = timeout
            self.retries = retries
            self.soft = soft
        }
    }

    public struct Service: Sendable {
        public var name: String
        public var zones: [String]
        public var replicas: Int
        public var servers: Int
        public var work: Distribution
        public var queueLimit: Int?
        /// Calls in stages: every call of a stage starts together; a stage starts when the one
        /// before it has finished.
        public var stages: [[Edge]]
        public var account: String?
        public var region: String?
        /// Per replica, when replicas of one service sit in different accounts (the accounts
        /// model's placements); `nil` = every replica in `account`/`region`.
        public var replicaAccounts: [String]?
        public var replicaRegions: [String]?
        /// Share of external requests that enter here (the accounts model); 0 = internal.
        public var traffic: Double = 0

        public init(name: String, zones: [String], replicas: Int, servers: Int, work: Distribution, queueLimit: Int?,
                    stages: [[Edge]], account: String? = nil, region: String? = nil) {
            self.name = name
            self.zones = zones
            self.replicas = replicas
            self.servers = servers
            self.work = work
            self.queueLimit = queueLimit
            self.stages = stages
            self.account = account
            self.region = region
        }

        public func account(ofReplica k: Int) -> String? { replicaAccounts?[k] ?? account }
        public func region(ofReplica k: Int) -> String? { replicaRegions?[k] ?? region }
    }

    public var services: [Service]

    public init(services: [Service]) {
        self.services = services
    }

    public var callCount: Int { services.reduce(0) { $0 + $1.stages.reduce(0) { $0 + $1.count } } }

    /// Calls one request entering at each service makes in all (itself included): a service
    /// calls each dependency once per call it receives, so this counts paths, not services —
    /// it explodes on dense graphs. Saturates at `Int.max / 2`. Assumes an acyclic graph.
    public func callsPerRequest() -> [Int] {
        // Iterative post-order (a dependency chain can be as long as the graph).
        var memo = [Int](repeating: -1, count: services.count)
        for root in services.indices where memo[root] < 0 {
            var stack = [(service: root, expanded: false)]
            while let (s, expanded) = stack.popLast() {
                if memo[s] >= 0 { continue }
                let callees = services[s].stages.flatMap { $0.map(\.callee) }
                if expanded {
                    memo[s] = callees.reduce(1) { min(Int.max / 2, $0 + max(0, memo[$1])) }
                } else {
                    stack.append((s, true))
                    for callee in callees where memo[callee] < 0 { stack.append((callee, false)) }
                }
            }
        }
        return memo
    }

    /// The live mesh builds its services from this too, so a seed gives both drivers one graph.
    public init(_ spec: MeshSpec, clusterZones: [String], rng: inout SeededGenerator) {
        let names = spec.graph.serviceNames
        let d = spec.defaults
        func zones(_ position: Int) -> [String] {
            // Rotate the zone list so consecutive services start in different zones.
            let count = clusterZones.count
            return (0..<count).map { clusterZones[(position + $0) % count] }
        }
        func generated(_ index: Int, calls: [Int]) -> Service {
            let edge = { (callee: Int) in Edge(callee: callee, timeout: d.callTimeout, retries: d.callRetries) }
            return Service(name: names[index], zones: zones(index), replicas: d.replicas, servers: d.servers, work: d.work,
                           queueLimit: d.queueLimit, stages: Self.stages(calls.map(edge), mode: d.callMode))
        }
        switch spec.graph {
        case .explicit(let list):
            let index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })  // lookups only
            services = list.enumerated().map { position, s in
                var stages: [[Edge]] = []
                var previousWasParallel = false
                for call in s.calls {
                    guard let callee = index[call.to] else { continue }
                    let edge = Edge(callee: callee, timeout: call.timeout, retries: call.retries, soft: call.soft)
                    for copy in 0..<call.copies {
                        if call.mode == .parallel && (previousWasParallel || copy > 0) {
                            stages[stages.count - 1].append(edge)
                        } else {
                            stages.append([edge])
                        }
                    }
                    previousWasParallel = call.mode == .parallel
                }
                return Service(name: s.name, zones: s.zones ?? zones(position), replicas: s.replicas, servers: s.servers,
                               work: s.work, queueLimit: s.queueLimit, stages: stages, account: s.account, region: s.region)
            }
        case .tree(let depth, let fanout):
            // Breadth-first numbering: the children of node i are fanout·i + 1 … fanout·i + fanout.
            let innerNodes = names.count - Self.treeLeaves(depth: depth, fanout: fanout)
            services = names.indices.map { i in
                generated(i, calls: i < innerNodes ? Array((fanout * i + 1)...(fanout * i + fanout)) : [])
            }
        case .layered(let layers, let width, let edges):
            services = names.indices.map { i in
                let layer = i / width
                guard layer + 1 < layers else { return generated(i, calls: []) }
                let next = Array(((layer + 1) * width)..<((layer + 2) * width))
                return generated(i, calls: Self.choose(min(edges, width), from: next, &rng))
            }
        case .randomDAG(let count, let p):
            services = (0..<count).map { i in
                generated(i, calls: ((i + 1)..<count).filter { _ in rng.chance(p) })
            }
        }
    }

    public static func treeLeaves(depth: Int, fanout: Int) -> Int {
        var leaves = 1
        for _ in 0..<max(0, depth) { leaves *= fanout }
        return leaves
    }

    /// `k` distinct elements of `pool`, in pool order (partial Fisher–Yates).
    public static func choose(_ k: Int, from pool: [Int], _ rng: inout SeededGenerator) -> [Int] {
        var items = pool
        for i in 0..<k {
            items.swapAt(i, i + rng.index(below: items.count - i))
        }
        return items[0..<k].sorted()
    }

    public static func stages(_ edges: [Edge], mode: CallMode) -> [[Edge]] {
        guard !edges.isEmpty else { return [] }
        return mode == .parallel ? [edges] : edges.map { [$0] }
    }
}
