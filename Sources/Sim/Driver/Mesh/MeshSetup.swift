import Auth
import Mesh
import Scenario
import SimCore
import Stations

/// Where the OAuth model's processes go: one per service replica, one per tokeninfo node, the
/// token provider and the JWKS endpoint. They join the cluster, so every node fault (crash,
/// pause, partition, delay, clock) applies to them as to any node.
enum MeshNodes {
    static func nodes(_ graph: CallGraph, auth: AuthSpec, zones: [String]) -> [NodeSpec] {
        var nodes: [NodeSpec] = []
        for service in graph.services {
            let serviceZones = service.zones.isEmpty ? zones : service.zones
            for k in 0..<service.replicas {
                nodes.append(NodeSpec(name: MeshNaming.replica(service.name, k + 1), zone: serviceZones[k % serviceZones.count]))
            }
        }
        let tokeninfoZones = auth.tokeninfo.zones ?? zones
        for k in 0..<auth.tokeninfo.nodes {
            nodes.append(NodeSpec(name: MeshNaming.replica(MeshNaming.tokeninfo, k + 1),
                                  zone: tokeninfoZones[k % tokeninfoZones.count]))
        }
        nodes.append(NodeSpec(name: MeshNaming.tokenProvider, zone: zones[0]))
        nodes.append(NodeSpec(name: MeshNaming.jwks, zone: zones[0]))
        return nodes
    }
}

extension MeshModel {
    /// Each name's number: the index of its first occurrence (-1 for nil).
    static func numbered(_ names: [String?]) -> [Int32] {
        names.map { name in name.map { Int32(names.firstIndex(of: $0)!) } ?? -1 }
    }

    /// Builds the mesh world over processes `firstNode …` (laid out by `MeshNodes.nodes`).
    init(_ scenario: Scenario, graph: CallGraph, latency: PlacementLatency, firstNode: NodeID,
         nodeCount: Int, root: SeededGenerator) throws {
        let auth = scenario.auth ?? AuthSpec()
        var world = MeshWorld(graph: graph, auth: auth, latency: latency, root: root)
        world.nodeReplica = Array(repeating: -1, count: nodeCount)
        world.nodeAccount = Array(repeating: nil, count: nodeCount)
        world.nodeRegion = Array(repeating: nil, count: nodeCount)
        var node = firstNode
        for (index, service) in graph.services.enumerated() {
            world.serviceFirstReplica.append(world.replicaNode.count)
            world.workRngs.append(root.stream("mesh.work.\(service.name)"))
            world.roundRobin.append(0)
            for _ in 0..<service.replicas {
                world.nodeReplica[node] = Int32(world.replicaNode.count)
                world.nodeAccount[node] = service.account(ofReplica: world.replicaNode.count - world.serviceFirstReplica[index])
                world.nodeRegion[node] = service.region(ofReplica: world.replicaNode.count - world.serviceFirstReplica[index])
                world.replicaNode.append(node)
                world.replicaService.append(Int32(index))
                world.validators.append(world.newValidator())
                world.stations.append(Station(.init(servers: service.servers, queueLimit: service.queueLimit)))
                world.validatorTickAt.append(nil)
                world.keyFetchSeq.append([0, 0])
                world.keyAnswerJWKS.append(nil)
                world.keyAnswerRevocations.append(nil)
                node += 1
            }
        }
        world.nodeAccountID = Self.numbered(world.nodeAccount)
        world.nodeRegionID = Self.numbered(world.nodeRegion)
        world.slowdown = Array(repeating: 1, count: graph.services.count + 1)
        for _ in 0..<auth.tokeninfo.nodes {
            world.tokeninfoNodes.append(node)
            world.tokeninfoStations.append(Station(.init(servers: auth.tokeninfo.servers, queueLimit: auth.tokeninfo.queueLimit)))
            node += 1
        }
        world.providerNode = node
        world.jwksNode = node + 1

        let names = graph.services.map(\.name)
        for (index, workload) in scenario.meshWorkloads.enumerated() {
            // Without an entry, requests enter by the services' traffic shares when the graph
            // has them (the accounts model), else at the first service.
            let byTraffic = workload.entry == nil && graph.services.contains { $0.traffic > 0 }
            let entry = byTraffic ? -1 : workload.entry.flatMap { names.firstIndex(of: $0) } ?? 0
            guard !graph.services.isEmpty, entry < graph.services.count else {
                throw SimulationError("calls workload \(index) has no entry service")
            }
            world.workloadEntry.append(entry)
            world.workloadArrivals.append(workload.arrivals)
            world.workloadTimeout.append(workload.timeout)
            world.workloadStop.append(min(workload.stop ?? scenario.duration, scenario.duration))
            world.arrivalRngs.append(root.stream("mesh.workload.\(index)"))
        }

        var cumulative = 0.0
        for (index, service) in graph.services.enumerated() where service.traffic > 0 {
            cumulative += service.traffic
            world.entryWeights.append((cumulative, index))
        }
        // Clients start with tokens issued at spread-out times in the past, so their refreshes
        // do not all fall on the same instant.
        guard let lifetime = auth.lifetimes[auth.clientRealm] else {
            throw SimulationError("auth.tokens.realm \(auth.clientRealm) has no lifetime")
        }
        for client in 0..<auth.clients {
            let issuedAt = -Int64(world.clientRng.nextUnit() * auth.refreshAt * Double(lifetime))
            var refresher = TokenRefresher(refreshAt: auth.refreshAt, retryAfter: auth.refreshRetry)
            let token = world.issueToken(client: client, at: issuedAt)
            refresher.issued(world.tokens[Int(token)], now: issuedAt)
            world.refreshers.append(refresher)
            world.clientToken.append(token)
            world.clientInvalidated.append(false)
            world.refreshPending.append(false)
        }
        // Forged tokens look like real ones but carry a signature no provider key made.
        for k in 0..<16 {
            var token = world.tokens[k % max(1, auth.clients)]
            token.claims.jti = "forged-\(k)"
            token.raw = "tok-forged-\(k)"
            token.signature = Signature(bytes: [UInt8(k), 0xBA, 0xD5, 0x16])
            world.forgedPool.append(world.addToken(token, forged: true))
        }
        world.healthChecks = (scenario.mesh?.defaults ?? scenario.organisation?.defaults)?.healthChecks ?? false
        self.world = world
    }
}

extension MeshWorld {
    /// The provider signs a new token for `client` (on the provider's side of the wire).
    mutating func issueToken(client: Int, at now: VirtualTime) -> Int32 {
        let token = provider.issue(sub: "client-\(client)", realm: Realm(auth.clientRealm), scope: ["uid"],
                                   azp: "client-\(client)", jti: "t\(tokens.count)", at: now)
        // `issue` only fails for an unknown realm, which setup rules out.
        return addToken(token!, forged: false)
    }

    /// Registers a token (with what the truth needs of it) and returns its index.
    mutating func addToken(_ token: Token, forged: Bool) -> Int32 {
        tokens.append(token)
        tokenForged.append(forged)
        tokenExpiry.append(token.claims.exp)
        return Int32(tokens.count - 1)
    }
}
