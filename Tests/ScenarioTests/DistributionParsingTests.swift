import XCTest
import SimCore
@testable import Scenario

/// Distributions are read through a station's `service:` so they go through the real loader.
final class DistributionParsingTests: XCTestCase {
    private func service(_ yaml: String) throws -> Distribution {
        let text = """
        duration: 10s
        stations:
          - name: s
            service: \(yaml)
        """
        return try ScenarioLoader.parse(yaml: text, file: "d.yaml").stations[0].service
    }

    private func serviceError(_ yaml: String) -> String {
        do {
            _ = try service(yaml)
            return ""
        } catch {
            return (error as? ScenarioErrors)?.description ?? "\(error)"
        }
    }

    func testConstant() throws {
        XCTAssertEqual(try service("2ms"), .constant(2_000_000))
        XCTAssertEqual(try service("{constant: 2ms}"), .constant(2_000_000))
    }

    func testUniform() throws {
        XCTAssertEqual(try service("{uniform: [1ms, 4ms]}"), .uniform(low: 1e6, high: 4e6))
        XCTAssertEqual(try service("{uniform: {low: 1ms, high: 4ms}}"), .uniform(low: 1e6, high: 4e6))
        XCTAssertTrue(serviceError("{uniform: [4ms, 1ms]}").contains("expected low ≤ high"))
    }

    func testExponential() throws {
        XCTAssertEqual(try service("{exponential: 2ms}"), .exponential(mean: 2e6))
        XCTAssertEqual(try service("{exponential: {mean: 2ms}}"), .exponential(mean: 2e6))
        XCTAssertTrue(serviceError("{exponential: 0s}").contains("stations[0].service.exponential: expected a positive mean"))
        XCTAssertTrue(serviceError("{exponential: 2}").contains("expected a duration with a unit such as 10ms, found '2'"))
    }

    func testNormal() throws {
        XCTAssertEqual(try service("{normal: {mean: 5ms, stddev: 1ms}}"), .normal(mean: 5e6, stddev: 1e6))
        XCTAssertTrue(serviceError("{normal: {mean: 5ms}}").contains("stations[0].service.normal.stddev"))
    }

    func testLognormal() throws {
        XCTAssertEqual(try service("{lognormal: {median: 0.4ms, p99: 2ms}}"), Distribution.lognormal(median: 4e5, p99: 2e6))
        XCTAssertEqual(try service("{lognormal: {mu: 12.9, sigma: 0.5}}"), .lognormal(mu: 12.9, sigma: 0.5))
        let error = serviceError("{lognormal: {median: 2ms, p99: 1ms}}")
        XCTAssertTrue(error.contains("d.yaml:4:45: stations[0].service.lognormal.p99: expected a p99 at least the median"), error)
        XCTAssertTrue(serviceError("{lognormal: {median: 1ms, sigma: 1}}").contains("either median and p99 or mu and sigma"))
    }

    func testPareto() throws {
        XCTAssertEqual(try service("{pareto: {scale: 1ms, shape: 1.5}}"), .pareto(scale: 1e6, shape: 1.5))
        XCTAssertTrue(serviceError("{pareto: {scale: 1ms, shape: 0}}").contains("stations[0].service.pareto.shape: expected a positive number, found '0'"))
        XCTAssertTrue(serviceError("{pareto: {scale: 0ms, shape: 2}}").contains("expected a positive scale"))
    }

    func testEmpirical() throws {
        XCTAssertEqual(try service("{empirical: [9ms, 1ms, 2ms, 2ms]}"), .empirical(sortedSamples: [1e6, 2e6, 2e6, 9e6]))
        XCTAssertTrue(serviceError("{empirical: []}").contains("expected a non-empty list"))
        XCTAssertTrue(serviceError("{empirical: [1ms, 2]}").contains("stations[0].service.empirical[1]: expected a duration with a unit"))
    }

    func testUnknownKindAndTwoKinds() {
        let typo = serviceError("{exponentail: 2ms}")
        XCTAssertTrue(typo.contains("stations[0].service.exponentail: expected one of the keys"), typo)
        XCTAssertTrue(typo.contains("(did you mean 'exponential'?)"), typo)
        XCTAssertTrue(serviceError("{constant: 1ms, exponential: 2ms}").contains("exactly one distribution key"))
        XCTAssertTrue(serviceError("[1ms]").contains("expected a distribution such as 2ms"))
    }
}
