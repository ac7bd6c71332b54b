import Scenario
import Sim
import SimCore
import XCTest

/// `rate: {ramp: …}` through the simulator: the arrivals it schedules follow the ramp, measured
/// from the workload's `start`, for station requests, publishes and mesh calls. Tolerances are
/// 4 Poisson standard deviations (√Λ) of the expected count Λ in each window.
final class RampArrivalsTests: XCTestCase {
    /// Keeps the times of one kind of event from the trace.
    final class ArrivalTimes: TraceSink {
        let kind: String
        var times: [Int64] = []
        init(kind: String) { self.kind = kind }

        func write(line: String) {
            guard line.contains("\"kind\":\"\(kind)\""),
                  let start = line.range(of: "\"t\":")?.upperBound,
                  let end = line[start...].firstIndex(of: ",")
            else { return }
            times.append(Int64(line[start..<end])!)
        }
    }

    let s = Nanos.second

    func arrivals(_ yaml: String, kind: String, seed: UInt64 = 1) throws -> (Scenario, [Int64]) {
        let scenario = try loadScenario(yaml)
        var simulation = try Simulation(scenario: scenario, seed: seed)
        let sink = ArrivalTimes(kind: kind)
        _ = simulation.run(trace: sink)
        return (scenario, sink.times)
    }

    func assertFollows(_ process: ArrivalProcess, start: Int64, _ times: [Int64], windows: [(Int64, Int64)],
                       line: UInt = #line) {
        for (from, to) in windows {
            let expected = process.expectedArrivals(by: to) - process.expectedArrivals(by: from)
            let observed = times.filter { $0 >= start + from && $0 < start + to }.count
            XCTAssertEqual(Double(observed), expected, accuracy: 4 * expected.squareRoot(),
                           "window \(Double(from) / 1e9)–\(Double(to) / 1e9) s after start", line: line)
        }
    }

    func testStationRequestsFollowTheRampFromTheirStart() throws {
        let (scenario, times) = try arrivals("""
        name: ramp
        duration: 14s
        cluster: { nodes: 1 }
        stations:
          - { name: api, node: n1, servers: 8, service: { constant: 50us } }
        workload:
          - requests: { station: api, rate: { ramp: { from: 100/s, to: 3000/s, over: 8s } }, start: 2s }
        """, kind: "arrival")
        let ramp = scenario.workload[0].arrivals
        XCTAssertEqual(times.filter { $0 < 2 * s }.count, 0)
        // Early, Λ = 640 (a rate measured from the run's start instead would give 1365); late 5 280.
        assertFollows(ramp, start: 2 * s, times, windows: [(0, 2 * s), (3 * s, 5 * s), (6 * s, 8 * s), (8 * s, 12 * s)])
        let early = times.filter { $0 < 4 * s }.count, late = times.filter { $0 >= 8 * s && $0 < 10 * s }.count
        XCTAssertGreaterThan(late, 4 * early)
    }

    func testPublishesFollowTheRamp() throws {
        let (scenario, times) = try arrivals("""
        name: ramp-publish
        duration: 3s
        cluster: { nodes: 3 }
        broker:
          streams: [ { name: orders, replication_factor: 3, min_isr: 2 } ]
        workload:
          - publish: { stream: orders, rate: { ramp: { from: 50/s, to: 1000/s, over: 2s } }, start: 500ms }
        """, kind: "publish")
        assertFollows(scenario.publishes[0].arrivals, start: 500 * Nanos.millisecond, times,
                      windows: [(0, Nanos.second), (Nanos.second, 2 * s), (2 * s, 2500 * Nanos.millisecond)])
    }

    func testMeshCallsFollowTheRamp() throws {
        let (scenario, times) = try arrivals("""
        name: ramp-calls
        duration: 6s
        services:
          list: [ { name: api, replicas: 1, servers: 16, work: { constant: 100us } } ]
        auth: { strategy: none }
        workload:
          - calls: { rate: { ramp: { from: 0/s, to: 800/s, over: 4s } } }
        """, kind: "mesh_arrival")
        assertFollows(scenario.meshWorkloads[0].arrivals, start: 0, times,
                      windows: [(0, 2 * s), (2 * s, 4 * s), (4 * s, 6 * s)])
    }

    func testSameSeedSameRampDifferentSeedDifferent() throws {
        let yaml = """
        name: ramp
        duration: 2s
        cluster: { nodes: 1 }
        stations: [ { name: api, node: n1, service: { constant: 10us } } ]
        workload: [ { requests: { station: api, rate: { ramp: { from: 10/s, to: 500/s, over: 1s } } } } ]
        """
        let a = try arrivals(yaml, kind: "arrival", seed: 3).1, b = try arrivals(yaml, kind: "arrival", seed: 3).1
        let c = try arrivals(yaml, kind: "arrival", seed: 4).1
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }
}
