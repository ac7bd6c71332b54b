import XCTest
import SimCore
@testable import Scenario

/// `rate: {ramp: {from: …, to: …, over: …}}` for every open-loop workload kind, its errors, and
/// the arrival math it selects.
final class RampParsingTests: XCTestCase {
    private let base = """
    duration: 60s
    cluster: {nodes: 3}
    stations:
      - {name: api, node: n1, service: {exponential: 1ms}}

    """

    func testRampOnRequestsPublishAndCalls() throws {
        let s = try ScenarioLoader.parse(yaml: base + """
        workload:
          - requests: {station: api, rate: {ramp: {from: 100/s, to: 5000/s, over: 30s}}, start: 5s}
          - requests: {station: api, rate: {ramp: {from: 0/s, to: 2/ms, over: 1500ms}}}
        """, file: "ramp.yaml")
        guard case .ramp(let from, let to, let over) = s.workload[0].arrivals else { return XCTFail("\(s.workload[0].arrivals)") }
        XCTAssertEqual(from, 100)
        XCTAssertEqual(to, 5000)
        XCTAssertEqual(over, 30 * Nanos.second)
        XCTAssertEqual(s.workload[0].start, 5 * Nanos.second)
        guard case .ramp(0, 2000, 1_500_000_000) = s.workload[1].arrivals else { return XCTFail("\(s.workload[1].arrivals)") }

        let broker = try ScenarioLoader.parse(yaml: """
        duration: 10s
        cluster: {nodes: 3}
        broker: {streams: [{name: orders, replication_factor: 3}]}
        workload:
          - publish: {stream: orders, rate: {ramp: {from: 10/s, to: 1000/s, over: 5s}}}
        """, file: "broker.yaml")
        guard case .ramp(10, 1000, 5_000_000_000) = broker.publishes[0].arrivals else {
            return XCTFail("\(broker.publishes[0].arrivals)")
        }

        let mesh = try ScenarioLoader.parse(yaml: """
        duration: 10s
        services:
          list: [{name: api}]
        workload:
          - calls: {rate: {ramp: {from: 1/s, to: 50/s, over: 2s}}}
        """, file: "mesh.yaml")
        guard case .ramp(1, 50, 2_000_000_000) = mesh.meshWorkloads[0].arrivals else {
            return XCTFail("\(mesh.meshWorkloads[0].arrivals)")
        }
    }

    func testOverrideReachesIntoARamp() throws {
        let s = try ScenarioLoader.parse(yaml: base + """
        workload:
          - requests: {station: api, rate: {ramp: {from: 100/s, to: 5000/s, over: 30s}}}
        """, file: "ramp.yaml", overrides: ["workload.0.requests.rate.ramp.to=8000/s"])
        guard case .ramp(100, 8000, 30_000_000_000) = s.workload[0].arrivals else { return XCTFail("\(s.workload[0].arrivals)") }
    }

    func testErrorsNameTheFileLineColumnAndKey() {
        let missing = scenarioErrors(base + "workload: [{requests: {station: api, rate: {ramp: {from: 100/s, over: 30s}}}}]")
        XCTAssertEqual(missing.map(\.description), [
            "bad.yaml:5:51: workload[0].requests.rate.ramp.to: expected the final rate such as 5000/s, found no 'to' key ('to' is required)",
        ])

        let unit = scenarioErrors(base + """
        workload:
          - requests: {station: api, rate: {ramp: {from: 100, to: 5000/s, over: 30}}}
        """)
        XCTAssertEqual(unit.map(\.description), [
            "bad.yaml:6:50: workload[0].requests.rate.ramp.from: expected a rate with a time unit such as 2000/s, found '100' (write 100/s for per second)",
            "bad.yaml:6:73: workload[0].requests.rate.ramp.over: expected a duration with a unit such as 10ms, found '30' (units: ns, us, ms, s, m, h)",
        ])

        let zero = scenarioErrors(base + "workload: [{requests: {station: api, rate: {ramp: {from: 0/s, to: 0/s, over: 0s}}}}]")
        XCTAssertEqual(zero.map(\.keyPath), ["workload[0].requests.rate.ramp.to", "workload[0].requests.rate.ramp.over"])
        XCTAssertEqual(zero.map(\.expected), ["a positive rate such as 2000/s", "a positive duration such as 10ms"])

        let typo = scenarioErrors(base + "workload: [{requests: {station: api, rate: {ramp: {from: 1/s, too: 5/s, over: 1s}}}}]")
        XCTAssertEqual(typo.map(\.keyPath), ["workload[0].requests.rate.ramp.to", "workload[0].requests.rate.ramp.too"])
        XCTAssertEqual(typo.last?.hint, "did you mean 'to'?")

        let scalar = scenarioErrors(base + "workload: [{requests: {station: api, rate: {ramp: 100/s}}}]")
        XCTAssertEqual(scalar.map(\.description), [
            "bad.yaml:5:51: workload[0].requests.rate.ramp: expected a ramp such as {from: 100/s, to: 5000/s, over: 30s}, found '100/s'",
        ])

        let kind = scenarioErrors(base + "workload: [{requests: {station: api, rate: {rmap: {from: 1/s, to: 5/s, over: 1s}}}}]")
        XCTAssertEqual(kind.first?.hint, "did you mean 'ramp'?")
        XCTAssertTrue(kind.first?.expected.contains("ramp") ?? false, "\(kind)")

        let negative = scenarioErrors(base + "workload: [{requests: {station: api, rate: {ramp: {from: -1/s, to: 5/s, over: 1s}}}}]")
        XCTAssertEqual(negative.first?.expected, "a non-negative rate such as 2000/s")
    }

    func testInvalidScenarioExitsWithBadInput() {
        // ScenarioErrors is what the CLI maps to exit code 2.
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: base + "workload: [{requests: {station: api, rate: {ramp: {}}}}]",
                                                      file: "bad.yaml")) { error in
            XCTAssertTrue(error is ScenarioErrors)
        }
    }

    // MARK: The arrival math

    func testRampRateAndExpectedCount() {
        let ramp = ArrivalProcess.ramp(fromPerSecond: 100, toPerSecond: 5100, over: 10 * Nanos.second)
        XCTAssertEqual(ramp.rate(elapsed: 0), 100)
        XCTAssertEqual(ramp.rate(elapsed: 5 * Nanos.second), 2600)
        XCTAssertEqual(ramp.rate(elapsed: 10 * Nanos.second), 5100)
        XCTAssertEqual(ramp.rate(elapsed: 60 * Nanos.second), 5100)
        // Λ(10 s) = (100 + 5100) / 2 · 10 = 26 000; then 5100 a second.
        XCTAssertEqual(ramp.expectedArrivals(by: 10 * Nanos.second), 26_000, accuracy: 1e-6)
        XCTAssertEqual(ramp.expectedArrivals(by: 12 * Nanos.second), 36_200, accuracy: 1e-6)
        XCTAssertEqual(ramp.expectedArrivals(by: 2 * Nanos.second), (100 + 1100) / 2 * 2, accuracy: 1e-6)
    }

    /// The gap solves Λ(t₀ + τ) − Λ(t₀) = E exactly: on the ramp, across its end, and after it.
    func testRampGapInvertsTheIntegratedRate() {
        let (a, c, t) = (1e-7, 5e-6, 1e10)  // 100/s → 5000/s over 10 s, per ns
        func integral(_ x: Double) -> Double {
            x <= t ? a * x + (c - a) / t * x * x / 2 : (a + c) / 2 * t + c * (x - t)
        }
        for t0 in [0.0, 1e9, 5e9, 9.9e9, 1e10, 2e10] {
            for e in [1e-9, 0.01, 0.5, 1, 3, 40, 1e4] {
                let tau = ArrivalProcess.rampGap(unitExponential: e, from: a, to: c, over: t, elapsed: t0)
                XCTAssertGreaterThan(tau, 0)
                XCTAssertEqual(integral(t0 + tau) - integral(t0), e, accuracy: e * 1e-9 + 1e-10, "t0 \(t0) e \(e)")
            }
        }
        // From zero, and falling.
        let fromZero = ArrivalProcess.rampGap(unitExponential: 2, from: 0, to: 1e-6, over: 1e9, elapsed: 0)
        XCTAssertEqual(1e-6 / 1e9 * fromZero * fromZero / 2, 2, accuracy: 1e-9)
        let falling = ArrivalProcess.rampGap(unitExponential: 1, from: 1e-6, to: 1e-7, over: 1e9, elapsed: 0)
        XCTAssertEqual(1e-6 * falling - 9e-7 / 1e9 * falling * falling / 2, 1, accuracy: 1e-9)
        XCTAssertEqual(ArrivalProcess.rampGap(unitExponential: 0, from: 0, to: 1e-6, over: 1e9, elapsed: 0), 0)
    }

    /// The processes that existed before ramps draw exactly as before: one exponential for
    /// Poisson, nothing for constant, the distribution's draws for interarrival; `elapsed` is ignored.
    func testOlderProcessesIgnoreElapsedAndDrawAsBefore() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        for elapsed: Int64 in [0, 7, 3_000_000_000] {
            let gap = ArrivalProcess.poisson(perSecond: 2000).interarrival(elapsed: elapsed, &a)
            XCTAssertEqual(gap, max(1, Distribution.exponential(mean: 1e9 / 2000).sampleNanos(&b)))
            XCTAssertEqual(ArrivalProcess.constant(perSecond: 3).interarrival(elapsed: elapsed, &a), 333_333_333)
            let d = Distribution.uniform(low: 1e6, high: 3e6)
            XCTAssertEqual(ArrivalProcess.interarrival(d).interarrival(elapsed: elapsed, &a), max(1, d.sampleNanos(&b)))
        }
        XCTAssertEqual(a.next(), b.next())
    }
}
