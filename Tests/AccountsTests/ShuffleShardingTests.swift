import Accounts
import SimCore
import XCTest

/// Fidelity: the measured overlaps of shuffle sharding and cells match the combinatorics.
///
/// Why the tolerances are binomial over unordered pairs: given one service's shard, another's
/// overlap with it is hypergeometric whatever that shard is, so pair indicators sharing a
/// service are uncorrelated and the pair fraction has variance p(1 − p)/pairs.
final class ShuffleShardingTests: XCTestCase {
    func flatOrg(_ count: Int, replicas: Int) -> Organisation {
        Organisation(teams: ["t"], services: (0..<count).map {
            Organisation.Service(name: "svc-\($0)", team: 0, traffic: 1 / Double(count), replicas: replicas)
        })
    }

    func sharded(services: Int, n: Int, k: Int, seed: UInt64) -> Placement {
        var rng = SeededGenerator(seed: seed)
        return .shuffleShard(flatOrg(services, replicas: k), count: n, shardSize: k, regions: ["r"], rng: &rng)
    }

    func tolerance(_ p: Double, services: Int) -> Double {
        let pairs = Double(services) * Double(services - 1) / 2
        return 4 * (p * (1 - p) / pairs).squareRoot()
    }

    func assertOverlapsMatch(services: Int, n: Int, k: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let p = sharded(services: services, n: n, k: k, seed: seed)
        let expectedSame = 1 / ShuffleSharding.binomial(n, k)
        XCTAssertEqual(ShuffleSharding.sameShardFraction(p), expectedSame,
                       accuracy: tolerance(expectedSame, services: services), file: file, line: line)
        let counts = ShuffleSharding.overlapCounts(p, shardSize: k)
        let ordered = services * (services - 1)
        XCTAssertEqual(counts.count, k + 1, file: file, line: line)
        XCTAssertEqual(counts.reduce(0, +), ordered, "every ordered pair counted once", file: file, line: line)
        XCTAssertEqual(Double(counts[k]) / Double(ordered), ShuffleSharding.sameShardFraction(p), accuracy: 1e-12,
                       file: file, line: line)
        for j in 0...k {
            let expected = ShuffleSharding.hypergeometric(n: n, k: k, j: j)
            XCTAssertEqual(Double(counts[j]) / Double(ordered), expected,
                           accuracy: tolerance(expected, services: services), "j = \(j)", file: file, line: line)
        }
    }

    func testEightAccountsShardsOfTwo() {
        // 1/C(8, 2) = 1/28 share the whole shard; 12/28 share one account; 15/28 none.
        XCTAssertEqual(ShuffleSharding.hypergeometric(n: 8, k: 2, j: 0), 15.0 / 28, accuracy: 1e-12)
        XCTAssertEqual(ShuffleSharding.hypergeometric(n: 8, k: 2, j: 1), 12.0 / 28, accuracy: 1e-12)
        assertOverlapsMatch(services: 2000, n: 8, k: 2, seed: 1)
    }

    func testTwentyAccountsShardsOfFour() {
        XCTAssertEqual(ShuffleSharding.binomial(20, 4), 4845)
        assertOverlapsMatch(services: 2000, n: 20, k: 4, seed: 2)
    }

    func testNoShuffleNoIsolation() {
        // A single shared account: every pair identical. Per service: no pair identical.
        let org = flatOrg(50, replicas: 2)
        XCTAssertEqual(ShuffleSharding.sameShardFraction(.single(org, regions: ["r"])), 1)
        XCTAssertEqual(ShuffleSharding.sameShardFraction(.perService(org, regions: ["r"])), 0)
        XCTAssertEqual(ShuffleSharding.overlapCounts(.perService(org, regions: ["r"]), shardSize: 1), [50 * 49, 0])
        XCTAssertEqual(ShuffleSharding.overlapCounts(.single(org, regions: ["r"]), shardSize: 1), [0, 50 * 49])
    }

    func testOverlapCountsBeyondShardSizeAreKept() {
        let p = Placement(accounts: ["a", "b", "c"], accountRegion: [0, 0, 0], regions: ["r"],
                          replicaAccounts: [[0, 1, 2], [0, 1, 2], [0]])
        // (0,1): 3 shared; (0,2), (1,2): 1 shared; both orders.
        XCTAssertEqual(ShuffleSharding.overlapCounts(p, shardSize: 1), [0, 4, 0, 2])
    }

    func testBinomialAndHypergeometric() {
        XCTAssertEqual(ShuffleSharding.binomial(8, 2), 28)
        XCTAssertEqual(ShuffleSharding.binomial(5, 0), 1)
        XCTAssertEqual(ShuffleSharding.binomial(5, 5), 1)
        XCTAssertEqual(ShuffleSharding.binomial(3, 5), 0)
        XCTAssertEqual(ShuffleSharding.binomial(3, -1), 0)
        XCTAssertEqual(ShuffleSharding.binomial(52, 5), 2_598_960)
        for (n, k) in [(8, 2), (20, 4), (10, 5)] {
            let total = (0...k).map { ShuffleSharding.hypergeometric(n: n, k: k, j: $0) }.reduce(0, +)
            XCTAssertEqual(total, 1, accuracy: 1e-12)
        }
        XCTAssertEqual(ShuffleSharding.hypergeometric(n: 20, k: 4, j: 4), 1.0 / 4845, accuracy: 1e-15)
    }

    func testCellsLoseOneNthPerAccount() {
        var rng = SeededGenerator(seed: 4)
        let org = Organisation.layered(count: 2000, layers: 4, edges: 2, softShare: 0.2, teams: ["a", "b"],
                                       dataClasses: [], replicas: 3, rng: &rng)
        for n in [4, 10] {
            let impacts = BlastRadius.singleAccountImpacts(org, .cells(org, count: n, regions: ["r1", "r2"]))
            XCTAssertEqual(impacts.count, n)
            let mean = impacts.map(\.directlyAffected).reduce(0, +) / Double(n)
            XCTAssertEqual(mean, 1 / Double(n), accuracy: 1e-12)
            for impact in impacts {
                XCTAssertEqual(impact.directlyAffected, impact.down, "a cell holds all of a service's replicas")
                XCTAssertEqual(impact.directlyAffected, 1 / Double(n), accuracy: 0.5 / Double(n))
            }
        }
    }

    func testShuffleShardedReplicasSurviveAnySingleAccount() {
        let p = sharded(services: 500, n: 8, k: 2, seed: 3)
        for impact in BlastRadius.singleAccountImpacts(flatOrg(500, replicas: 2), p) {
            XCTAssertEqual(impact.down, 0)
            XCTAssertEqual(impact.directlyAffected, 2.0 / 8, accuracy: 0.08)
        }
    }
}
