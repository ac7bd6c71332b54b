import XCTest
@testable import Scenario

final class TimeSeriesParsingTests: XCTestCase {
    let base = """
        name: probe
        duration: 2s
        cluster: { nodes: 1 }
        stations:
          - { name: svc, node: n1, servers: 1, service: { exponential: 1ms } }
        workload:
          - requests: { station: svc, rate: 100/s }
        """

    func testWindowDefaultsToOneSecondAndIsSettableInTheFileAndWithSet() throws {
        XCTAssertEqual(try ScenarioLoader.parse(yaml: base, file: "t.yaml").timeSeriesWindow, 1_000_000_000)
        let set = try ScenarioLoader.parse(yaml: base + "\ntimeseries: { window: 250ms }\n", file: "t.yaml")
        XCTAssertEqual(set.timeSeriesWindow, 250_000_000)
    }

    func testTooSmallWindowAndUnknownKeysAreErrorsWithLocations() {
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: base + "\ntimeseries: { window: 10us }\n", file: "t.yaml")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("t.yaml:8:"), text)
            XCTAssertTrue(text.contains("timeseries.window"), text)
            XCTAssertTrue(text.contains("at least 1ms"), text)
        }
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: base + "\ntimeseries: { windw: 1s }\n", file: "t.yaml")) { error in
            XCTAssertTrue("\(error)".contains("windw"), "\(error)")
        }
    }
}
