import Accounts
import Mesh
import Scenario
import SimCore

/// The multi-account model's world: the organisation (generated per seed or written out), its
/// placement into accounts, and what the fault schedule did to accounts (compromises, API
/// storms). Requests run through the organisation as a mesh (see `Mesh/`); the account
/// analysis (blast radius, exposure, Monte Carlo availability, control plane, cost) runs over
/// `organisation` and `placement` at the end of the run.
struct AccountsState: Sendable {
    var organisation: Organisation
    var placement: Placement
    /// Scheduled `compromise:` faults: when, and which accounts (indices into placement.accounts).
    var compromises: [(time: VirtualTime, accounts: [Int])] = []
    /// Scheduled `api-storm:` faults: accounts, the teams whose automation storms, calls per
    /// second, and the window.
    var storms: [(accounts: [Int], teams: [Int], rate: Double, from: VirtualTime, to: VirtualTime?)] = []

    /// Account indices a selector names: `account(x)`, `all`, or `service(x)` — the accounts
    /// that service runs in, whatever the placement (so one schedule fits every strategy).
    func accounts(_ selector: Selector) -> [Int] {
        switch selector {
        case .account(let name): return placement.accounts.firstIndex(of: name).map { [$0] } ?? []
        case .all: return Array(placement.accounts.indices)
        case .service(let name):
            return organisation.services.firstIndex { $0.name == name }.map { placement.accounts(of: $0) } ?? []
        default: return []
        }
    }

    /// The teams a selector's storm comes from: the service's team, or every team with a
    /// service in the accounts.
    func teams(_ selector: Selector) -> [Int] {
        if case .service(let name) = selector, let service = organisation.services.first(where: { $0.name == name }) {
            return [service.team]
        }
        let chosen = accounts(selector)
        let teams = organisation.services.indices
            .filter { service in placement.accounts(of: service).contains { chosen.contains($0) } }
            .map { organisation.services[$0].team }
        return Array(Set(teams)).sorted()
    }
}

enum AccountsModel {
    /// The organisation of one seed.
    static func organisation(_ spec: OrganisationSpec, rng: inout SeededGenerator) -> Organisation {
        switch spec.services {
        case .explicit(let list):
            let index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })  // lookups only
            let services = list.map { s in
                Organisation.Service(
                    name: s.name, team: spec.teams.firstIndex(of: s.team) ?? 0, traffic: s.traffic,
                    criticality: s.criticality.rawValue, dataClasses: s.dataClasses, replicas: s.replicas,
                    dependencies: s.dependencies.compactMap { d in
                        index[d.on].map { Organisation.Dependency(target: $0, hard: d.kind == .hard, timeout: d.timeout) }
                    })
            }
            return Organisation(teams: spec.teams, services: services)
        case .generated(let count, let graph, let softShare, let replicas):
            switch graph {
            case .layered(let layers, let edges):
                return Organisation.layered(count: count, layers: layers, edges: edges, softShare: softShare, teams: spec.teams,
                                            dataClasses: spec.dataClasses, replicas: replicas, rng: &rng)
            case .preferentialAttachment(let meanDegree):
                return Organisation.preferentialAttachment(count: count, meanDegree: meanDegree, softShare: softShare,
                                                           teams: spec.teams, dataClasses: spec.dataClasses, replicas: replicas,
                                                           rng: &rng)
            }
        }
    }

    static func placement(_ org: Organisation, _ spec: AccountsSpec, rng: inout SeededGenerator) -> Placement {
        switch spec.strategy {
        case .single: return .single(org, regions: spec.regions)
        case .perTeam: return .perTeam(org, regions: spec.regions)
        case .perService: return .perService(org, regions: spec.regions)
        case .cells: return .cells(org, count: spec.count, regions: spec.regions)
        case .shuffleShard: return .shuffleShard(org, count: spec.count, shardSize: spec.shardSize, regions: spec.regions, rng: &rng)
        case .explicit: return .explicit(org, mapping: spec.mapping, regions: spec.regions)
        }
    }

    /// The organisation as a call graph: a service calls its dependencies (soft ones degrade
    /// instead of failing), each replica in its placed account and region.
    static func callGraph(_ org: Organisation, _ placement: Placement, _ spec: OrganisationSpec, zones: [String]) -> CallGraph {
        let d = spec.defaults
        return CallGraph(services: org.services.enumerated().map { i, s in
            let edges = s.dependencies.map {
                CallGraph.Edge(callee: $0.target, timeout: $0.timeout ?? d.callTimeout, retries: d.callRetries, soft: !$0.hard)
            }
            let rotated = zones.isEmpty ? ["a"] : (0..<zones.count).map { zones[(i + $0) % zones.count] }
            var service = CallGraph.Service(
                name: s.name, zones: rotated, replicas: s.replicas, servers: d.servers, work: d.work, queueLimit: d.queueLimit,
                stages: CallGraph.stages(edges, mode: d.callMode))
            let accounts = placement.replicaAccounts[i]
            service.replicaAccounts = accounts.map { placement.accounts[$0] }
            service.replicaRegions = accounts.map { placement.regions[placement.accountRegion[$0]] }
            service.traffic = s.traffic
            return service
        })
    }
}
