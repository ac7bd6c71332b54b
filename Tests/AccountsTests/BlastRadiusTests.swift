import Accounts
import XCTest

final class BlastRadiusTests: XCTestCase {
    typealias Service = Organisation.Service
    typealias Dependency = Organisation.Dependency

    /// web (0.6 of traffic) → db (hard), web → recs (soft); api (0.4) → db (hard);
    /// db → kv (hard).
    /// Accounts: web in a0; api in a0 AND a1; db in a1; recs in a2; kv in a3.
    /// Regions round-robin over two: region 0 = {a0, a2}, region 1 = {a1, a3}.
    let org = Organisation(teams: ["front", "platform", "data"], services: [
        Service(name: "web", team: 0, traffic: 0.6, criticality: "high", dataClasses: ["sessions"], replicas: 1,
                dependencies: [Dependency(target: 2, hard: true), Dependency(target: 3, hard: false)]),
        Service(name: "api", team: 1, traffic: 0.4, criticality: "high", dataClasses: ["pii"], replicas: 2,
                dependencies: [Dependency(target: 2, hard: true, timeout: 200_000_000)]),
        Service(name: "db", team: 2, traffic: 0, criticality: "medium", dataClasses: ["pii", "payments"], replicas: 1,
                dependencies: [Dependency(target: 4, hard: true)]),
        Service(name: "recs", team: 1, traffic: 0, criticality: "low", dataClasses: [], replicas: 1),
        Service(name: "kv", team: 2, traffic: 0, criticality: "low", dataClasses: ["payments"], replicas: 1),
    ])
    let placement = Placement(accounts: ["a0", "a1", "a2", "a3"], accountRegion: [0, 1, 0, 1],
                              regions: ["r0", "r1"], replicaAccounts: [[0], [0, 1], [1], [2], [3]])

    func fail(_ accounts: Int...) -> [Bool] {
        (0..<4).map { accounts.contains($0) }
    }

    func impact(_ accounts: Int...) -> Impact {
        BlastRadius.impact(failed: (0..<4).map { accounts.contains($0) }, org, placement)
    }

    func testServiceWithReplicasInTwoAccountsSurvivesOne() {
        // a0: web and api directly affected, but only web is down (api still runs in a1).
        XCTAssertEqual(impact(0), Impact(directlyAffected: 0.4, down: 0.2, impaired: 0.2, degraded: 0,
                                         failedTraffic: 0.6, teamsAffected: 2))
        // a0 and a1 together take api's last replica.
        let both = impact(0, 1)
        XCTAssertEqual(both.down, 0.6, accuracy: 1e-12)
        XCTAssertEqual(both.failedTraffic, 1, accuracy: 1e-12)
    }

    func testHardDependenciesPropagateTransitively() {
        // kv down → db impaired → web and api impaired: 4 of 5, all traffic.
        let kv = impact(3)
        XCTAssertEqual(kv.directlyAffected, 0.2)
        XCTAssertEqual(kv.down, 0.2)
        XCTAssertEqual(kv.impaired, 0.8, accuracy: 1e-12)
        XCTAssertEqual(kv.failedTraffic, 1, accuracy: 1e-12)
        XCTAssertEqual(kv.teamsAffected, 3)
        XCTAssertEqual(kv.degraded, 0, "web is impaired, not merely degraded")
    }

    func testSoftDependencyDegradesButDoesNotImpair() {
        let recs = impact(2)
        XCTAssertEqual(recs, Impact(directlyAffected: 0.2, down: 0.2, impaired: 0.2, degraded: 0.2,
                                    failedTraffic: 0, teamsAffected: 1))
        // The same edge made hard: web is impaired and its traffic fails.
        var hardOrg = org
        hardOrg.services[0].dependencies[1].hard = true
        let hard = BlastRadius.impact(failed: fail(2), hardOrg, placement)
        XCTAssertEqual(hard.impaired, 0.4, accuracy: 1e-12)
        XCTAssertEqual(hard.degraded, 0)
        XCTAssertEqual(hard.failedTraffic, 0.6, accuracy: 1e-12)
        XCTAssertEqual(hard.teamsAffected, 2)
    }

    func testDegradationDoesNotPropagate() {
        // gateway → web (hard); web → recs (soft). recs down: web degraded, gateway untouched.
        let chain = Organisation(teams: ["t"], services: [
            Service(name: "gateway", team: 0, traffic: 1, dependencies: [Dependency(target: 1)]),
            Service(name: "web", team: 0, traffic: 0, dependencies: [Dependency(target: 2, hard: false)]),
            Service(name: "recs", team: 0, traffic: 0),
        ])
        let p = Placement.perService(chain, regions: ["r"])
        let i = BlastRadius.impact(failed: [false, false, true], chain, p)
        XCTAssertEqual(i.impaired, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(i.degraded, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(i.failedTraffic, 0)
    }

    func testNothingFailedNothingHappens() {
        XCTAssertEqual(impact(), Impact())
    }

    func testSingleAccountImpactsInAccountOrder() {
        XCTAssertEqual(BlastRadius.singleAccountImpacts(org, placement), [impact(0), impact(1), impact(2), impact(3)])
        // a1 holds db and one of api's replicas: db down → web and api impaired.
        let a1 = BlastRadius.singleAccountImpacts(org, placement)[1]
        XCTAssertEqual(a1.directlyAffected, 0.4)
        XCTAssertEqual(a1.down, 0.2)
        XCTAssertEqual(a1.impaired, 0.6, accuracy: 1e-12)
        XCTAssertEqual(a1.teamsAffected, 3)
    }

    func testRegionImpactFailsEveryAccountInTheRegion() {
        XCTAssertEqual(BlastRadius.regionImpact(region: 0, org, placement), impact(0, 2))
        XCTAssertEqual(BlastRadius.regionImpact(region: 1, org, placement), impact(1, 3))
        let r0 = BlastRadius.regionImpact(region: 0, org, placement)
        XCTAssertEqual(r0.directlyAffected, 0.6, accuracy: 1e-12)
        XCTAssertEqual(r0.down, 0.4, accuracy: 1e-12)
        XCTAssertEqual(r0.degraded, 0, "web is down itself")
        XCTAssertEqual(r0.failedTraffic, 0.6, accuracy: 1e-12)
        XCTAssertEqual(BlastRadius.regionImpact(region: 1, org, placement).impaired, 0.8, accuracy: 1e-12)
    }

    func testExposureOfACompromisedAccount() {
        XCTAssertEqual(BlastRadius.exposure(compromised: fail(1), org, placement),
                       Exposure(services: 2, dataClasses: ["payments", "pii"], teams: 2))
        XCTAssertEqual(BlastRadius.exposure(compromised: fail(0, 3), org, placement),
                       Exposure(services: 3, dataClasses: ["payments", "pii", "sessions"], teams: 3))
        XCTAssertEqual(BlastRadius.exposure(compromised: fail(), org, placement),
                       Exposure(services: 0, dataClasses: [], teams: 0))
        // Exposure ignores dependencies: recs's account reaches only recs.
        XCTAssertEqual(BlastRadius.exposure(compromised: fail(2), org, placement),
                       Exposure(services: 1, dataClasses: [], teams: 1))
    }

    func testCyclicGraphTerminates() {
        let cycle = Organisation(teams: ["t"], services: [
            Service(name: "a", team: 0, traffic: 1, dependencies: [Dependency(target: 1)]),
            Service(name: "b", team: 0, traffic: 0, dependencies: [Dependency(target: 0)]),
        ])
        let i = BlastRadius.impact(failed: [false, true], cycle, .perService(cycle, regions: ["r"]))
        XCTAssertEqual(i.impaired, 1)
        XCTAssertEqual(i.failedTraffic, 1)
    }
}
