import Scenario
import Sim
import SimCore
import Stats
import XCTest

/// Builds a scenario from YAML text (the same path the CLI takes) and runs seeds of it.
func loadScenario(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
    do {
        return try ScenarioLoader.parse(yaml: yaml, file: "test.yaml")
    } catch {
        XCTFail("scenario did not parse: \(error)", file: file, line: line)
        throw error
    }
}

func runSeeds(_ scenario: Scenario, seeds: ClosedRange<UInt64>) throws -> [RunOutcome] {
    try seeds.map { seed in
        var simulation = try Simulation(scenario: scenario, seed: seed)
        return simulation.run()
    }
}

/// A single-station queue with no network delay: the sojourn time the clients measure is
/// exactly the queueing model's response time.
func queueScenario(servers: Int, arrivalsPerSecond: Double, meanServiceMs: Double, duration: String, warmup: String) -> String {
    """
    name: fidelity
    duration: \(duration)
    warmup: \(warmup)
    cluster: { nodes: 1 }
    stations:
      - { name: queue, node: n1, servers: \(servers), service: { exponential: \(meanServiceMs)ms } }
    workload:
      - requests: { station: queue, rate: { poisson: \(arrivalsPerSecond)/s } }
    checks: [requests_accounted]
    """
}
