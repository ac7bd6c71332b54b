/// What an account failure does to the organisation.
///
/// Why four fractions rather than one: "directly affected" is what the account owner sees,
/// "down" is what redundancy across accounts saves, "impaired" is what hard dependencies
/// spread, and "degraded" is what soft dependencies (fallbacks) absorb. The gap between them
/// is the argument for or against more accounts.
public struct Impact: Sendable, Equatable {
    /// Fraction of services with ≥ 1 replica in a failed account.
    public var directlyAffected: Double
    /// Fraction of services whose replicas are all in failed accounts (a service without
    /// replicas is never down: nothing of it failed).
    public var down: Double
    /// Fraction of services down, or with a hard dependency that is (transitively) impaired.
    public var impaired: Double
    /// Fraction of services not impaired but with a direct soft dependency impaired: they run
    /// on a fallback. Degradation does not propagate further — a fallback answers its callers.
    public var degraded: Double
    /// Σ traffic of impaired services: the traffic-weighted external request failure rate.
    public var failedTraffic: Double
    /// Teams owning ≥ 1 impaired or directly affected service: who gets paged.
    public var teamsAffected: Int

    public init(directlyAffected: Double = 0, down: Double = 0, impaired: Double = 0,
                degraded: Double = 0, failedTraffic: Double = 0, teamsAffected: Int = 0) {
        self.directlyAffected = directlyAffected
        self.down = down
        self.impaired = impaired
        self.degraded = degraded
        self.failedTraffic = failedTraffic
        self.teamsAffected = teamsAffected
    }
}

/// What a compromised account exposes: the confidentiality side of the blast radius.
public struct Exposure: Sendable, Equatable {
    /// Services with ≥ 1 replica in a compromised account (credentials there reach them).
    public var services: Int
    /// Their data classes, distinct and sorted.
    public var dataClasses: [String]
    /// Distinct teams owning them.
    public var teams: Int

    public init(services: Int, dataClasses: [String], teams: Int) {
        self.services = services
        self.dataClasses = dataClasses
        self.teams = teams
    }
}

public enum BlastRadius {
    /// Impact of the accounts marked `true` in `failed` (one flag per account) failing together.
    public static func impact(failed: [Bool], _ org: Organisation, _ placement: Placement) -> Impact {
        Propagation(org).impact(failed: failed, placement)
    }

    /// One impact per account, in account order: each account failing alone.
    public static func singleAccountImpacts(_ org: Organisation, _ placement: Placement) -> [Impact] {
        let propagation = Propagation(org)
        return placement.accounts.indices.map { account in
            var failed = [Bool](repeating: false, count: placement.accounts.count)
            failed[account] = true
            return propagation.impact(failed: failed, placement)
        }
    }

    /// A regional outage: every account's part in `region` fails, and since an account lives
    /// in one region here, that is every account whose region is `region`.
    public static func regionImpact(region: Int, _ org: Organisation, _ placement: Placement) -> Impact {
        impact(failed: placement.accountRegion.map { $0 == region }, org, placement)
    }

    /// Services with ≥ 1 replica in a compromised account, their data classes and teams.
    public static func exposure(compromised: [Bool], _ org: Organisation, _ placement: Placement) -> Exposure {
        precondition(compromised.count == placement.accounts.count, "one flag per account")
        var services = 0
        var classes = Set<String>()
        var teams = Set<Int>()
        for (s, service) in org.services.enumerated()
        where placement.replicaAccounts[s].contains(where: { compromised[$0] }) {
            services += 1
            classes.formUnion(service.dataClasses)
            teams.insert(service.team)
        }
        return Exposure(services: services, dataClasses: classes.sorted(), teams: teams.count)
    }
}

/// The dependency graph turned around (who calls me, hard and soft), built once and reused
/// across the many failure sets of `singleAccountImpacts` and Monte Carlo trials.
struct Propagation: Sendable {
    let org: Organisation
    let hardCallers: [[Int]]
    let softCallers: [[Int]]

    init(_ org: Organisation) {
        self.org = org
        var hard = [[Int]](repeating: [], count: org.services.count)
        var soft = [[Int]](repeating: [], count: org.services.count)
        for (caller, service) in org.services.enumerated() {
            for dependency in service.dependencies {
                if dependency.hard {
                    hard[dependency.target].append(caller)
                } else {
                    soft[dependency.target].append(caller)
                }
            }
        }
        hardCallers = hard
        softCallers = soft
    }

    /// Down services, then a breadth-first walk up the hard-caller edges. Works on any graph:
    /// on a cycle it stops at the least fixed point instead of looping.
    func impairedServices(failed: [Bool], _ placement: Placement) -> (down: [Bool], impaired: [Bool]) {
        precondition(failed.count == placement.accounts.count, "one flag per account")
        let n = org.services.count
        var down = [Bool](repeating: false, count: n)
        var impaired = [Bool](repeating: false, count: n)
        var queue: [Int] = []
        for s in 0..<n {
            let replicas = placement.replicaAccounts[s]
            if !replicas.isEmpty && replicas.allSatisfy({ failed[$0] }) {
                down[s] = true
                impaired[s] = true
                queue.append(s)
            }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            for caller in hardCallers[s] where !impaired[caller] {
                impaired[caller] = true
                queue.append(caller)
            }
        }
        return (down, impaired)
    }

    /// Only the failed traffic, for Monte Carlo trials.
    func failedTraffic(failed: [Bool], _ placement: Placement) -> Double {
        let impaired = impairedServices(failed: failed, placement).impaired
        var total = 0.0
        for s in org.services.indices where impaired[s] { total += org.services[s].traffic }
        return total
    }

    func impact(failed: [Bool], _ placement: Placement) -> Impact {
        let n = org.services.count
        guard n > 0 else { return Impact() }
        let (down, impaired) = impairedServices(failed: failed, placement)
        var degraded = [Bool](repeating: false, count: n)
        for s in 0..<n where impaired[s] {
            for caller in softCallers[s] where !impaired[caller] { degraded[caller] = true }
        }
        var direct = 0, downCount = 0, impairedCount = 0, degradedCount = 0
        var traffic = 0.0
        var teams = Set<Int>()
        for s in 0..<n {
            let touched = placement.replicaAccounts[s].contains { failed[$0] }
            if touched { direct += 1 }
            if down[s] { downCount += 1 }
            if impaired[s] {
                impairedCount += 1
                traffic += org.services[s].traffic
            }
            if degraded[s] { degradedCount += 1 }
            if touched || impaired[s] { teams.insert(org.services[s].team) }
        }
        let total = Double(n)
        return Impact(
            directlyAffected: Double(direct) / total, down: Double(downCount) / total,
            impaired: Double(impairedCount) / total, degraded: Double(degradedCount) / total,
            failedTraffic: traffic, teamsAffected: teams.count)
    }
}
