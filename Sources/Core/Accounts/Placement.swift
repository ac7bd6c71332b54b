import Sampling

/// Where every replica of every service runs: which cloud account, and so which region.
///
/// Why accounts matter: an account is the unit of quota, of IAM policy, of control-plane
/// throttling and of credential compromise. Splitting services over more accounts shrinks
/// what one bad change or one stolen role can reach, at a per-account cost (`CostModel`).
public struct Placement: Sendable, Equatable {
    /// Account names, in index order.
    public var accounts: [String]
    /// Per account: index into `regions` (round-robin, account i → region i % regions.count).
    public var accountRegion: [Int]
    public var regions: [String]
    /// Per service, per replica: account index.
    public var replicaAccounts: [[Int]]

    /// Hand-built placements (tests, imported layouts); validates nothing.
    public init(accounts: [String], accountRegion: [Int], regions: [String], replicaAccounts: [[Int]]) {
        self.accounts = accounts
        self.accountRegion = accountRegion
        self.regions = regions
        self.replicaAccounts = replicaAccounts
    }

    /// Every strategy assigns regions round-robin, so strategies differ only in how services
    /// are spread over accounts.
    init(accounts: [String], regions: [String], replicaAccounts: [[Int]]) {
        precondition(!regions.isEmpty, "a placement needs at least one region")
        self.init(
            accounts: accounts, accountRegion: accounts.indices.map { $0 % regions.count },
            regions: regions, replicaAccounts: replicaAccounts)
    }

    /// One shared account: the baseline every landing-zone guide starts by moving away from.
    public static func single(_ org: Organisation, regions: [String]) -> Placement {
        Placement(accounts: ["acct-1"], regions: regions,
                  replicaAccounts: org.services.map { replicaSlots($0, account: 0) })
    }

    /// One account per team (`acct-<team>`): the common "account vending" layout, which bounds
    /// a mistake to its owner's services but not their dependants.
    public static func perTeam(_ org: Organisation, regions: [String]) -> Placement {
        Placement(accounts: org.teams.map { "acct-\($0)" }, regions: regions,
                  replicaAccounts: org.services.map { replicaSlots($0, account: $0.team) })
    }

    /// One account per service (`acct-<service>`): the smallest blast radius, the most accounts.
    public static func perService(_ org: Organisation, regions: [String]) -> Placement {
        Placement(accounts: org.services.map { "acct-\($0.name)" }, regions: regions,
                  replicaAccounts: org.services.indices.map { replicaSlots(org.services[$0], account: $0) })
    }

    /// `n` cells `acct-1…acct-n`; a service (all its replicas) lives in cell
    /// `stableHash(name) % n`, so the assignment survives re-ordering and re-generation.
    public static func cells(_ org: Organisation, count n: Int, regions: [String]) -> Placement {
        precondition(n >= 1, "need at least one cell")
        return Placement(
            accounts: numberedAccounts(n), regions: regions,
            replicaAccounts: org.services.map { replicaSlots($0, account: Int(stableHash($0.name) % UInt64(n))) })
    }

    /// Shuffle sharding over `n` accounts `acct-1…acct-n`: each service draws a shard of `k`
    /// distinct accounts, every k-subset equally likely, and replica r goes to `shard[r % k]`
    /// (the shard in its random draw order, so a service with fewer than `k` replicas is not
    /// biased toward low account numbers). Two services then share their whole shard with
    /// probability 1/C(n, k) — the point of the technique.
    public static func shuffleShard(
        _ org: Organisation, count n: Int, shardSize k: Int, regions: [String],
        rng: inout SeededGenerator
    ) -> Placement {
        precondition(n >= 1 && k >= 1 && k <= n, "shard size must be in 1...accounts")
        var replicaAccounts: [[Int]] = []
        replicaAccounts.reserveCapacity(org.services.count)
        for service in org.services {
            let shard = rng.distinctSample(k, of: n)
            replicaAccounts.append((0..<max(0, service.replicas)).map { shard[$0 % k] })
        }
        return Placement(accounts: numberedAccounts(n), regions: regions, replicaAccounts: replicaAccounts)
    }

    /// The default account for services an explicit mapping leaves out.
    public static let defaultAccount = "acct-default"

    /// An operator's own layout: service name → account name. Unmapped services go to
    /// `acct-default`. Accounts are the mapping's distinct account names (plus `acct-default`
    /// when something is unmapped), sorted, so the layout does not depend on dictionary order.
    public static func explicit(_ org: Organisation, mapping: [String: String], regions: [String]) -> Placement {
        var names = Set(mapping.values)
        if org.services.contains(where: { mapping[$0.name] == nil }) {
            names.insert(defaultAccount)
        }
        let accounts = names.sorted()
        var indexOf: [String: Int] = [:]
        for (i, name) in accounts.enumerated() { indexOf[name] = i }
        return Placement(
            accounts: accounts, regions: regions,
            replicaAccounts: org.services.map {
                replicaSlots($0, account: indexOf[mapping[$0.name] ?? defaultAccount]!)
            })
    }

    /// The distinct accounts the service's replicas run in, ascending.
    public func accounts(of service: Int) -> [Int] {
        Array(Set(replicaAccounts[service])).sorted()
    }

    /// Indices of the accounts in `region`, ascending.
    public func accounts(inRegion region: Int) -> [Int] {
        accountRegion.indices.filter { accountRegion[$0] == region }
    }

    private static func numberedAccounts(_ n: Int) -> [String] {
        (1...n).map { "acct-\($0)" }
    }

    private static func replicaSlots(_ service: Organisation.Service, account: Int) -> [Int] {
        [Int](repeating: account, count: max(0, service.replicas))
    }
}
