import Accounts
import XCTest

final class CostTests: XCTestCase {
    let org = Organisation(teams: ["a", "b", "c"], services: (0..<5).map {
        Organisation.Service(name: "svc-\($0)", team: $0 % 3, traffic: 0.2, replicas: 2)
    })
    let model = CostModel(perAccount: 100, perRegion: 20, opsPerAccount: 50)

    func testMonthlyCostScalesWithAccounts() {
        XCTAssertEqual(model.monthly(.single(org, regions: ["r1", "r2"])), 170)
        XCTAssertEqual(model.monthly(.perTeam(org, regions: ["r1", "r2"])), 3 * 150 + 3 * 20)
        XCTAssertEqual(model.monthly(.perService(org, regions: ["r1"])), 5 * 170)
        XCTAssertEqual(CostModel(perAccount: 0, perRegion: 7, opsPerAccount: 0).monthly(.cells(org, count: 4, regions: ["r"])), 28)
    }
}
