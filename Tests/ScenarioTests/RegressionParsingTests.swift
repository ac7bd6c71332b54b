import Foundation
import XCTest
@testable import Scenario

final class RegressionParsingTests: XCTestCase {
    let base = """
        name: probe
        duration: 2s
        cluster: { nodes: 1 }
        stations:
          - { name: svc, node: n1, servers: 1, service: { exponential: 1ms } }
        workload:
          - requests: { station: svc, rate: 100/s }
        """

    func testRegressionSectionParses() throws {
        let s = try ScenarioLoader.parse(yaml: base + """

            regression:
              alpha: 0.01
              noise: 2%
              request_latency.p99: +5%
              availability: -0.1%
              failover_time.mean: +20ms
              retries: +3
              requests_accounted: must-hold
              directions: { queue_depth: lower, odd_metric: none }
            """, file: "r.yaml")
        let r = try XCTUnwrap(s.regression)
        XCTAssertEqual(r.alpha, 0.01)
        XCTAssertEqual(try XCTUnwrap(r.noise), 0.02, accuracy: 1e-12)
        XCTAssertEqual(r.rules.map(\.key), ["request_latency.p99", "availability", "failover_time.mean", "retries", "requests_accounted"])
        XCTAssertEqual(r.rules[0].metric, "request_latency")
        XCTAssertEqual(r.rules[0].statistic, "p99")
        XCTAssertEqual(r.rules[0].kind, "relative")
        XCTAssertEqual(r.rules[0].limit, 0.05, accuracy: 1e-12)
        XCTAssertEqual(r.rules[1].limit, -0.001, accuracy: 1e-12)
        XCTAssertNil(r.rules[1].statistic)
        XCTAssertEqual(r.rules[2].kind, "absolute")
        XCTAssertEqual(r.rules[2].limit, 20, accuracy: 1e-9, "durations are stored in ms")
        XCTAssertEqual(r.rules[3].limit, 3)
        XCTAssertEqual(r.rules[4].kind, "must-hold")
        XCTAssertEqual(r.directions, ["queue_depth": "lower", "odd_metric": "none"])
    }

    func testUnsignedLimitsAndUnknownStatisticsAreErrorsWithLocations() {
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: base + """

            regression:
              request_latency.p99: 5%
              request_latency.p98x: +5%
              alpha: 2
            """, file: "r.yaml")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("r.yaml:9:"), text)
            XCTAssertTrue(text.contains("regression.request_latency.p99"), text)
            XCTAssertTrue(text.contains("the sign says which way is worse"), text)
            XCTAssertTrue(text.contains("r.yaml:10:"), text)
            XCTAssertTrue(text.contains("'.p98x'"), text)
            XCTAssertTrue(text.contains("regression.alpha"), text)
        }
    }

    func testThresholdsFileWithOrWithoutTheRegressionKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-thresholds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let nested = dir.appendingPathComponent("nested.yaml").path
        try "regression:\n  request_latency.p99: +10%\n".write(toFile: nested, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ScenarioLoader.regression(path: nested).rules.map(\.key), ["request_latency.p99"])
        let flat = dir.appendingPathComponent("flat.yaml").path
        try "error_rate.mean: +1%\nalpha: 0.1\n".write(toFile: flat, atomically: true, encoding: .utf8)
        let spec = try ScenarioLoader.regression(path: flat)
        XCTAssertEqual(spec.rules.map(\.key), ["error_rate.mean"])
        XCTAssertEqual(spec.alpha, 0.1)
        XCTAssertThrowsError(try ScenarioLoader.regression(path: dir.appendingPathComponent("missing.yaml").path))
    }
}
