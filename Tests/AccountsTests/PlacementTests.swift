import Accounts
import SimCore
import XCTest

final class PlacementTests: XCTestCase {
    let regions = ["eu-west-1", "us-east-1"]

    func org(count: Int = 12, replicas: Int = 3) -> Organisation {
        var rng = SeededGenerator(seed: 42)
        return .layered(count: count, layers: 3, edges: 2, softShare: 0.2, teams: ["core", "edge", "data"],
                        dataClasses: ["pii"], replicas: replicas, rng: &rng)
    }

    func testSingleAccount() {
        let p = Placement.single(org(), regions: regions)
        XCTAssertEqual(p.accounts, ["acct-1"])
        XCTAssertEqual(p.accountRegion, [0])
        XCTAssertEqual(p.regions, regions)
        XCTAssertEqual(p.replicaAccounts, Array(repeating: [0, 0, 0], count: 12))
        XCTAssertEqual(p.accounts(of: 5), [0])
    }

    func testPerTeamAndRegionsRoundRobin() {
        let o = org()
        let p = Placement.perTeam(o, regions: regions)
        XCTAssertEqual(p.accounts, ["acct-core", "acct-edge", "acct-data"])
        XCTAssertEqual(p.accountRegion, [0, 1, 0])
        for (s, service) in o.services.enumerated() {
            XCTAssertEqual(p.replicaAccounts[s], [service.team, service.team, service.team])
        }
    }

    func testPerService() {
        let p = Placement.perService(org(count: 5, replicas: 2), regions: ["r1", "r2", "r3"])
        XCTAssertEqual(p.accounts, (0..<5).map { "acct-svc-\($0)" })
        XCTAssertEqual(p.accountRegion, [0, 1, 2, 0, 1])
        XCTAssertEqual(p.replicaAccounts, (0..<5).map { [$0, $0] })
    }

    func testCellsByStableHash() {
        let o = org(count: 500, replicas: 2)
        let p = Placement.cells(o, count: 7, regions: regions)
        XCTAssertEqual(p.accounts, (1...7).map { "acct-\($0)" })
        XCTAssertEqual(p.accountRegion, [0, 1, 0, 1, 0, 1, 0])
        var perCell = [Int](repeating: 0, count: 7)
        for (s, service) in o.services.enumerated() {
            let cell = Int(stableHash(service.name) % 7)
            XCTAssertEqual(p.replicaAccounts[s], [cell, cell])
            perCell[cell] += 1
        }
        // 500/7 ≈ 71 per cell, σ ≈ 7.8: the hash spreads services.
        for n in perCell { XCTAssertEqual(Double(n), 500 / 7, accuracy: 35) }
    }

    func testShuffleShardGivesEachServiceKDistinctAccounts() {
        let o = org(count: 400, replicas: 3)
        var rng = SeededGenerator(seed: 1)
        let p = Placement.shuffleShard(o, count: 8, shardSize: 2, regions: regions, rng: &rng)
        XCTAssertEqual(p.accounts, (1...8).map { "acct-\($0)" })
        var use = [Int](repeating: 0, count: 8)
        for s in o.services.indices {
            let replicas = p.replicaAccounts[s]
            XCTAssertEqual(replicas.count, 3)
            XCTAssertEqual(p.accounts(of: s).count, 2)
            XCTAssertNotEqual(replicas[0], replicas[1])
            XCTAssertEqual(replicas[2], replicas[0], "replica r goes to shard[r % k]")
            for a in p.accounts(of: s) { use[a] += 1 }
        }
        // 800 slots over 8 accounts: 100 each, σ ≈ 9.4.
        for n in use { XCTAssertEqual(Double(n), 100, accuracy: 40) }
        var again = SeededGenerator(seed: 1)
        XCTAssertEqual(Placement.shuffleShard(o, count: 8, shardSize: 2, regions: regions, rng: &again), p)
        var other = SeededGenerator(seed: 2)
        XCTAssertNotEqual(Placement.shuffleShard(o, count: 8, shardSize: 2, regions: regions, rng: &other), p)
    }

    func testExplicitMappingAndDefaultAccount() {
        let o = org(count: 4, replicas: 1)
        let mapping = ["svc-0": "acct-zeta", "svc-1": "acct-alpha", "svc-2": "acct-zeta", "retired": "acct-old"]
        let p = Placement.explicit(o, mapping: mapping, regions: regions)
        XCTAssertEqual(p.accounts, ["acct-alpha", "acct-default", "acct-old", "acct-zeta"])
        XCTAssertEqual(p.accountRegion, [0, 1, 0, 1])
        XCTAssertEqual(p.replicaAccounts, [[3], [0], [3], [1]])

        let full = Placement.explicit(o, mapping: ["svc-0": "b", "svc-1": "a", "svc-2": "a", "svc-3": "b"], regions: regions)
        XCTAssertEqual(full.accounts, ["a", "b"], "no default account when everything is mapped")
        XCTAssertEqual(full.replicaAccounts, [[1], [0], [0], [1]])
    }

    func testAccountsOfServiceAreDistinctAndSorted() {
        let p = Placement(accounts: ["a", "b", "c"], accountRegion: [0, 0, 0], regions: ["r"],
                          replicaAccounts: [[2, 0, 2, 1, 0]])
        XCTAssertEqual(p.accounts(of: 0), [0, 1, 2])
        XCTAssertEqual(Placement.perTeam(org(), regions: regions).accounts(inRegion: 0), [0, 2])
    }
}
