import Accounts
import SimCore
import XCTest

final class GeneratorsTests: XCTestCase {
    let teams = ["core", "edge", "data"]
    let classes = ["pii", "payments"]

    func layered(seed: UInt64, count: Int = 10, layers: Int = 3, edges: Int = 2, softShare: Double = 0.25) -> Organisation {
        var rng = SeededGenerator(seed: seed)
        return .layered(count: count, layers: layers, edges: edges, softShare: softShare,
                        teams: teams, dataClasses: classes, replicas: 3, rng: &rng)
    }

    func attached(seed: UInt64, count: Int = 50, meanDegree: Int = 2, softShare: Double = 0.25) -> Organisation {
        var rng = SeededGenerator(seed: seed)
        return .preferentialAttachment(count: count, meanDegree: meanDegree, softShare: softShare,
                                       teams: teams, dataClasses: classes, replicas: 2, rng: &rng)
    }

    func inDegrees(_ org: Organisation) -> [Int] {
        var degrees = [Int](repeating: 0, count: org.services.count)
        for service in org.services { for d in service.dependencies { degrees[d.target] += 1 } }
        return degrees
    }

    func softShare(_ org: Organisation) -> (soft: Int, total: Int) {
        let all = org.services.flatMap(\.dependencies)
        return (all.filter { !$0.hard }.count, all.count)
    }

    func testGeneratorsAreDeterministicPerSeed() {
        XCTAssertEqual(layered(seed: 7, count: 200, layers: 4), layered(seed: 7, count: 200, layers: 4))
        XCTAssertNotEqual(layered(seed: 7, count: 200, layers: 4), layered(seed: 8, count: 200, layers: 4))
        XCTAssertEqual(attached(seed: 7), attached(seed: 7))
        XCTAssertNotEqual(attached(seed: 7), attached(seed: 8))
    }

    func testLayeredShapeNamesTeamsAndCriticality() {
        // 10 services in 3 layers: sizes 4, 3, 3 (the first layer takes the remainder).
        let org = layered(seed: 1)
        XCTAssertEqual(org.services.map(\.name), (0..<10).map { "svc-\($0)" })
        XCTAssertEqual(org.services.map(\.criticality),
                       Array(repeating: "high", count: 4) + Array(repeating: "medium", count: 3)
                       + Array(repeating: "low", count: 3))
        XCTAssertEqual(org.services.map(\.team), (0..<10).map { $0 % 3 })
        XCTAssertEqual(org.services.map(\.dataClasses), (0..<10).map { [classes[$0 % 2]] })
        XCTAssertEqual(Set(org.services.map(\.replicas)), [3])
        XCTAssertEqual(org.entryServices, [0, 1, 2, 3])
        XCTAssertEqual(org.services.map(\.traffic), [0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0])
    }

    func testLayeredDependsOnDistinctServicesOfTheNextLayer() {
        let layerOf = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
        for seed in UInt64(1)...20 {
            let org = layered(seed: seed)
            for (i, service) in org.services.enumerated() {
                let targets = service.dependencies.map(\.target)
                XCTAssertEqual(Set(targets).count, targets.count, "distinct")
                XCTAssertEqual(targets.count, layerOf[i] == 2 ? 0 : 2, "min(edges, next layer size)")
                for t in targets { XCTAssertEqual(layerOf[t], layerOf[i] + 1) }
            }
        }
        // Fewer services below than edges asked for: take them all.
        let narrow = layered(seed: 3, count: 6, layers: 3, edges: 5)
        XCTAssertEqual(narrow.services[0].dependencies.map(\.target).sorted(), [2, 3])
        XCTAssertEqual(narrow.services[2].dependencies.map(\.target).sorted(), [4, 5])
    }

    func testLayeredBigOrgEdgeCountsSoftShareAndTraffic() {
        let org = layered(seed: 11, count: 2000, layers: 4, edges: 3, softShare: 0.3)
        let (soft, total) = softShare(org)
        XCTAssertEqual(total, 1500 * 3)
        let sigma = (0.3 * 0.7 / Double(total)).squareRoot()
        XCTAssertEqual(Double(soft) / Double(total), 0.3, accuracy: 4 * sigma)
        XCTAssertEqual(org.services.map(\.traffic).reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertEqual(org.entryServices.count, 500)
        // Every service below layer 0 is reachable: DAG edges only go one layer down.
        for (i, service) in org.services.enumerated() {
            for d in service.dependencies { XCTAssertGreaterThan(d.target, i) }
        }
    }

    func testPreferentialAttachmentIsAcyclicWithTheRightDegrees() {
        let org = attached(seed: 5, count: 300, meanDegree: 3)
        for (i, service) in org.services.enumerated() {
            let targets = service.dependencies.map(\.target)
            XCTAssertEqual(targets.count, min(3, i))
            XCTAssertEqual(Set(targets).count, targets.count, "distinct")
            for t in targets { XCTAssertLessThan(t, i, "only earlier services: a DAG") }
        }
        XCTAssertEqual(org.services.map(\.team), (0..<300).map { $0 % 3 })
        XCTAssertEqual(org.services.map(\.name), (0..<300).map { "svc-\($0)" })
    }

    func testPreferentialAttachmentTrafficEntersAtTheFront() {
        let org = attached(seed: 9, count: 400)
        let degrees = inDegrees(org)
        let fronts = (0..<400).filter { degrees[$0] == 0 }
        XCTAssertFalse(fronts.isEmpty)
        XCTAssertEqual(org.entryServices, fronts)
        XCTAssertTrue(fronts.contains(399), "the newest service has no dependants yet")
        XCTAssertEqual(org.services.map(\.traffic).reduce(0, +), 1, accuracy: 1e-9)
        for i in 0..<400 {
            XCTAssertEqual(org.services[i].criticality, degrees[i] == 0 ? "high" : "medium")
            XCTAssertEqual(org.services[i].traffic, degrees[i] == 0 ? 1 / Double(fronts.count) : 0)
        }
    }

    func testPreferentialAttachmentGrowsHubs() {
        // Uniform attachment (2 edges, 2000 nodes) gives a maximum in-degree around 2·ln n ≈ 15;
        // attachment ∝ (in-degree + 1) grows hubs of order √n·m.
        let org = attached(seed: 3, count: 2000, meanDegree: 2, softShare: 0.4)
        let degrees = inDegrees(org)
        XCTAssertGreaterThan(degrees.max()!, 40)
        XCTAssertGreaterThan(degrees[0] + degrees[1] + degrees[2], 60, "early services become hubs")
        let (soft, total) = softShare(org)
        XCTAssertEqual(total, 1 + 2 * 1998)
        let sigma = (0.4 * 0.6 / Double(total)).squareRoot()
        XCTAssertEqual(Double(soft) / Double(total), 0.4, accuracy: 4 * sigma)
    }

    func testEdgeCases() {
        XCTAssertTrue(layered(seed: 1, count: 0).services.isEmpty)
        let one = attached(seed: 1, count: 1)
        XCTAssertEqual(one.entryServices, [0])
        XCTAssertEqual(one.services[0].traffic, 1)
        // More layers than services: one service per layer, a chain.
        let chain = layered(seed: 1, count: 3, layers: 5, edges: 2)
        XCTAssertEqual(chain.services.map { $0.dependencies.map(\.target) }, [[1], [2], []])
    }
}
