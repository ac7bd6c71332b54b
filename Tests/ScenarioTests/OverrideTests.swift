import XCTest
import SimCore
@testable import Scenario

final class OverrideTests: XCTestCase {
    private let base = """
    duration: 10s
    cluster: {nodes: 3}
    stations:
      - {name: tokeninfo, node: n1, servers: 4, service: {exponential: 2ms}}
      - {name: db, node: n2, service: 1ms}
    workload:
      - requests: {station: tokeninfo, rate: 1500/s}
    """

    func testOverridesByIndexNameAndCreatedKey() throws {
        let s = try ScenarioLoader.parse(yaml: base, file: "o.yaml", overrides: [
            "cluster.nodes=5",
            "stations.0.servers=2",
            "stations.db.service={exponential: 1ms}",
            "workload.0.requests.rate=2000/s",
            "duration=5s",
            "warmup=1s",
            "cluster.network.latency=3ms",
        ])
        XCTAssertEqual(s.cluster.nodes.count, 5)
        XCTAssertEqual(s.stations[0].servers, 2)
        XCTAssertEqual(s.stations[1].service, .exponential(mean: 1e6))
        guard case .poisson(2000) = s.workload[0].arrivals else { return XCTFail("\(s.workload[0].arrivals)") }
        XCTAssertEqual(s.duration, 5 * Nanos.second)
        XCTAssertEqual(s.warmup, 1 * Nanos.second)
        XCTAssertEqual(s.cluster.network.latency, .constant(3e6))
    }

    func testBadValueReportsSetLocation() {
        let errors = scenarioErrors(base, overrides: ["duration=5s", "stations.0.servers=-2"])
        XCTAssertEqual(errors.map(\.description), [
            "--set:2:20: stations[0].servers: expected a positive integer, found '-2'",
        ])
        let nested = scenarioErrors(base, overrides: ["stations.tokeninfo.service={exponential: 2}"])
        XCTAssertEqual(nested.map(\.description), [
            "--set:1:42: stations[0].service.exponential: expected a duration with a unit such as 10ms, found '2' (units: ns, us, ms, s, m, h)",
        ])
    }

    func testUnknownCreatedKeyIsCaughtByValidation() {
        let errors = scenarioErrors(base, overrides: ["wamrup=1s"])
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].location, SourceLocation(file: "--set", line: 1, column: 1))
        XCTAssertEqual(errors[0].hint, "did you mean 'warmup'?")
    }

    func testMalformedOverrides() {
        XCTAssertEqual(scenarioErrors(base, overrides: ["noequals"]).map(\.description), [
            "--set:1:1: expected an override such as key.path=value, found 'noequals' (write e.g. cluster.nodes=5 or stations.0.servers=2)",
        ])
        XCTAssertEqual(scenarioErrors(base, overrides: ["stations.9.servers=1"]).map(\.description), [
            "--set:1:10: stations.9: expected an index below 2 or the name of an element, found '9'",
        ])
        let byName = scenarioErrors(base, overrides: ["stations.tokenifo.servers=1"])
        XCTAssertEqual(byName.first?.hint, "did you mean 'tokeninfo'?")
        XCTAssertEqual(scenarioErrors(base, overrides: ["duration.x=1"]).first?.keyPath, "duration.x")
        XCTAssertEqual(scenarioErrors(base, overrides: ["a..b=1"]).first?.expected, "a key path such as stations.0.servers")
        let yaml = scenarioErrors(base, overrides: ["stations.0.service={exponential: [1ms"])
        XCTAssertEqual(yaml.first?.location.file, "--set")
        XCTAssertEqual(yaml.first?.keyPath, "stations.0.service")
        XCTAssertEqual(yaml.first?.expected, "well-formed YAML")
    }

    func testOverrideErrorsComeAfterFileErrors() {
        let errors = scenarioErrors(base + "\nseeds: 0", overrides: ["noequals"])
        XCTAssertEqual(errors.map(\.location.file), ["bad.yaml", "--set"])
    }
}
