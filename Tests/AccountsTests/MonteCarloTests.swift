import Accounts
import SimCore
import XCTest

final class MonteCarloTests: XCTestCase {
    let trials = 20_000

    func flatOrg(_ count: Int, replicas: Int) -> Organisation {
        Organisation(teams: ["t"], services: (0..<count).map {
            Organisation.Service(name: "svc-\($0)", team: 0, traffic: 1 / Double(count), replicas: replicas)
        })
    }

    func availability(_ org: Organisation, _ p: Placement, u: Double, seed: UInt64 = 1) -> Double {
        var rng = SeededGenerator(seed: seed)
        return MonteCarlo.availability(org, p, unavailability: u, trials: trials, rng: &rng)
    }

    func sigma(_ p: Double) -> Double { (p * (1 - p) / Double(trials)).squareRoot() }

    func testNoUnavailabilityMeansFullAvailability() {
        var rng = SeededGenerator(seed: 2)
        let org = Organisation.layered(count: 30, layers: 3, edges: 2, softShare: 0.3, teams: ["a", "b"],
                                       dataClasses: [], replicas: 2, rng: &rng)
        XCTAssertEqual(availability(org, .perTeam(org, regions: ["r"]), u: 0), 1.0)
        XCTAssertEqual(availability(org, .perService(org, regions: ["r"]), u: 1), 0.0, accuracy: 1e-12)
    }

    func testSingleAccountIsAsAvailableAsTheAccount() {
        let org = flatOrg(5, replicas: 3)
        XCTAssertEqual(availability(org, .single(org, regions: ["r"]), u: 0.1), 0.9, accuracy: 4 * sigma(0.1))
    }

    func testReplicasInTwoAccountsSquareTheUnavailability() {
        let org = flatOrg(5, replicas: 2)
        var rng = SeededGenerator(seed: 9)
        let both = Placement.shuffleShard(org, count: 2, shardSize: 2, regions: ["r"], rng: &rng)
        for s in org.services.indices { XCTAssertEqual(both.accounts(of: s), [0, 1]) }
        XCTAssertEqual(availability(org, both, u: 0.3), 1 - 0.09, accuracy: 4 * sigma(0.09))
    }

    func testHardDependencyAcrossAccountsMultipliesAvailability() {
        // web (all traffic) in one account hard-depends on db in another: (1 − u)².
        let org = Organisation(teams: ["t"], services: [
            .init(name: "web", team: 0, traffic: 1, dependencies: [.init(target: 1)]),
            .init(name: "db", team: 0, traffic: 0),
        ])
        let p = Placement.perService(org, regions: ["r"])
        XCTAssertEqual(availability(org, p, u: 0.2), 0.64, accuracy: 4 * sigma(0.36))
        // Made soft, db's outages cost no traffic.
        var soft = org
        soft.services[0].dependencies[0].hard = false
        XCTAssertEqual(availability(soft, p, u: 0.2), 0.8, accuracy: 4 * sigma(0.2))
    }

    func testDeterministicPerSeed() {
        let org = flatOrg(10, replicas: 1)
        let p = Placement.perService(org, regions: ["r"])
        XCTAssertEqual(availability(org, p, u: 0.2, seed: 5), availability(org, p, u: 0.2, seed: 5))
        XCTAssertNotEqual(availability(org, p, u: 0.2, seed: 5), availability(org, p, u: 0.2, seed: 6))
    }
}
