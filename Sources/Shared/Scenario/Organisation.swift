import Sampling

/// `organisation:` — teams, their services and the dependencies between them (the
/// multi-account model). Absent unless a scenario studies account placement.
public struct OrganisationSpec: Sendable {
    public var teams: [String]
    public var services: OrgServicesSpec
    /// Data classes services hold (what a compromise exposes); generated services get one each.
    public var dataClasses: [String]
    /// How every service of the organisation runs in the request simulation (threads, work,
    /// call timeout), and the call latency by placement — as `services.defaults`/`latency`.
    public var defaults = ServiceDefaults(servers: 16, work: .lognormal(median: 2_000_000, p99: 8_000_000))
    public var latency = PlacementLatency()

    public init(teams: [String], services: OrgServicesSpec, dataClasses: [String] = ["internal"]) {
        self.teams = teams
        self.services = services
        self.dataClasses = dataClasses
    }

    /// Every service's name: as written, or `svc-0 … svc-<count-1>` when generated.
    public var serviceNames: [String] {
        switch services {
        case .explicit(let list): return list.map(\.name)
        case .generated(let count, _, _, _): return (0..<max(0, count)).map(OrgNaming.generatedService)
        }
    }
}

/// Names the multi-account model gives what it generates.
public enum OrgNaming {
    /// `teams: 12` → `team-1 … team-12`.
    public static func team(_ index: Int) -> String { "team-\(index + 1)" }
    /// Generated service `index` (0-based) → `svc-<index>`, in team `index % teams.count`.
    public static func generatedService(_ index: Int) -> String { "svc-\(index)" }
    /// The one account of `single`, and account `index` (0-based) of `cells` / `shuffle-shard`.
    public static func numberedAccount(_ index: Int) -> String { "acct-\(index + 1)" }
    /// The account of a team (`per-team`) or a service (`per-service`).
    public static func account(of name: String) -> String { "acct-\(name)" }
    /// `explicit`: where services the mapping does not name go.
    public static let defaultAccount = "acct-default"
}

public enum OrgServicesSpec: Sendable {
    /// Written out.
    case explicit([OrgServiceSpec])
    /// `count` services over the teams (round-robin), dependencies from `graph`; `softShare` of
    /// the dependencies are soft; entry traffic is spread over the first layer (layered) or the
    /// oldest services (preferential attachment).
    case generated(count: Int, graph: OrgGraphSpec, softShare: Double, replicas: Int)
}

public enum OrgGraphSpec: Sendable, Equatable {
    /// `layers` layers; each service depends on `edges` random services of the next layer.
    case layered(layers: Int, edges: Int)
    /// Services arrive one by one and depend on `meanDegree` earlier services chosen with
    /// probability proportional to their degree + 1 (Barabási–Albert, acyclic by construction).
    case preferentialAttachment(meanDegree: Int)

    public var keyword: String {
        switch self {
        case .layered: return "layered"
        case .preferentialAttachment: return "preferential-attachment"
        }
    }
}

public enum Criticality: String, Sendable, CaseIterable {
    case low, medium, high
}

public struct OrgServiceSpec: Sendable {
    public var name: String
    public var team: String
    /// Share of the organisation's external traffic that enters here (0 = internal only).
    public var traffic: Double
    public var criticality: Criticality
    public var dataClasses: [String]
    public var replicas: Int
    public var dependencies: [DependencySpec]

    public init(name: String, team: String, traffic: Double = 0, criticality: Criticality = .medium,
                dataClasses: [String] = [], replicas: Int = 1, dependencies: [DependencySpec] = []) {
        self.name = name
        self.team = team
        self.traffic = traffic
        self.criticality = criticality
        self.dataClasses = dataClasses
        self.replicas = replicas
        self.dependencies = dependencies
    }
}

public enum DependencyKind: String, Sendable, CaseIterable {
    /// The caller fails when the dependency fails.
    case hard
    /// The caller degrades (uses a fallback) when the dependency fails.
    case soft
}

public struct DependencySpec: Sendable, Equatable {
    public var on: String
    public var kind: DependencyKind
    public var timeout: Int64?

    public init(on: String, kind: DependencyKind = .hard, timeout: Int64? = nil) {
        self.on = on
        self.kind = kind
        self.timeout = timeout
    }
}

public enum PlacementStrategySetting: String, Sendable, CaseIterable {
    case single, perTeam = "per-team", perService = "per-service", cells, shuffleShard = "shuffle-shard", explicit
}

/// `accounts:` — how services are placed into cloud accounts, what accounts cost, and how they
/// fail at random. The architect's limits are SLOs on the account metrics (`slos:`).
public struct AccountsSpec: Sendable {
    public var strategy: PlacementStrategySetting
    /// N for `cells` and `shuffle-shard`.
    public var count: Int
    /// k for `shuffle-shard`: each service's replicas spread over k of the N accounts.
    public var shardSize: Int
    /// Accounts are spread over these regions, round-robin.
    public var regions: [String]
    /// `explicit`: service → account.
    public var mapping: [String: String]
    /// Monthly cost: per account, per region in use per account (a VPC each), and the tooling /
    /// operations overhead of one more account.
    public var costPerAccount: Double
    public var costPerRegion: Double
    public var opsCostPerAccount: Double
    /// Random account faults for Monte Carlo availability: mean time between failures and to
    /// repair (ns); `nil` = no random faults.
    public var mtbf: Int64?
    public var mttr: Int64
    /// Per-account control-plane API token bucket (deploy/scale calls).
    public var apiRate: Double
    public var apiBurst: Int
    /// Deploys per service per hour in normal operation (control-plane calls).
    public var deploysPerServiceHour: Double

    /// The accounts this placement creates, in order: `acct-1` (single); `acct-<team>` per team;
    /// `acct-<service>` per service; `acct-1 … acct-<count>` (cells, shuffle-shard); the mapping's
    /// accounts (sorted) and `acct-default` (explicit).
    public func accountNames(teams: [String], services: [String]) -> [String] {
        switch strategy {
        case .single: return [OrgNaming.numberedAccount(0)]
        case .perTeam: return teams.map(OrgNaming.account(of:))
        case .perService: return services.map(OrgNaming.account(of:))
        case .cells, .shuffleShard: return (0..<max(1, count)).map(OrgNaming.numberedAccount)
        case .explicit:
            let mapped = Set(mapping.values).subtracting([OrgNaming.defaultAccount]).sorted()
            return mapped + [OrgNaming.defaultAccount]
        }
    }

    public init(strategy: PlacementStrategySetting = .single, count: Int = 1, shardSize: Int = 2, regions: [String] = ["region-1"],
                mapping: [String: String] = [:], costPerAccount: Double = 0, costPerRegion: Double = 0, opsCostPerAccount: Double = 0,
                mtbf: Int64? = nil, mttr: Int64 = 4 * 3600 * Nanos.second, apiRate: Double = 10, apiBurst: Int = 20,
                deploysPerServiceHour: Double = 1) {
        self.strategy = strategy
        self.count = count
        self.shardSize = shardSize
        self.regions = regions
        self.mapping = mapping
        self.costPerAccount = costPerAccount
        self.costPerRegion = costPerRegion
        self.opsCostPerAccount = opsCostPerAccount
        self.mtbf = mtbf
        self.mttr = mttr
        self.apiRate = apiRate
        self.apiBurst = apiBurst
        self.deploysPerServiceHour = deploysPerServiceHour
    }
}
