import Experiment
import LoadCore
import Scenario
import XCTest

final class HypothesisRunTests: XCTestCase {
    let here = SourceLocation(file: "t.yaml", line: 1, column: 1)
    let s: Int64 = 1_000_000_000

    func spec(during: Bool = false) -> HypothesisSpec {
        var h = HypothesisSpec(location: here)
        h.window = 2 * s
        h.every = s / 2
        h.recoverWithin = 3 * s
        h.steadyState = [ProbeSpec(name: "throughput_min", quantity: .throughput, bounds: [.atLeast(900)], location: here),
                         ProbeSpec(name: "publish_latency_p99", quantity: .publishLatency(quantile: 0.99), bounds: [.atMost(50)], location: here)]
        if during { h.during = [ProbeSpec(name: "publish_latency_max", quantity: .publishLatency(quantile: nil), bounds: [.atMost(1000)], location: h.location)] }
        return h
    }

    /// `rate` acks per second over `seconds`, each `latencyMs` late.
    func reading(rate: Int, seconds: Double = 2, latencyMs: Int64 = 5) -> ProbeReading {
        var w = LoadWindow(seconds: seconds)
        w.acks = Int(Double(rate) * seconds)
        w.latency.record(latencyMs * 1_000_000, count: UInt64(w.acks))
        return ProbeReading(load: w)
    }

    func testHoldingSteadyStateStartsTheMethodAndRecovers() {
        var run = HypothesisRun(spec(), methodStart: 10 * s)
        XCTAssertEqual(run.nextReading?.at, 10 * s)
        XCTAssertEqual(run.nextReading?.from, 8 * s)
        XCTAssertEqual(run.judge(reading(rate: 1000), at: 10 * s), .startMethod)
        XCTAssertNil(run.nextReading, "no during probes: nothing to read until the method ends")
        run.methodEnded(at: 15 * s)
        XCTAssertEqual(run.nextReading?.at, 15 * s + s / 2)
        XCTAssertEqual(run.nextReading?.from, 15 * s, "only load after the method counts towards recovery")
        XCTAssertEqual(run.judge(reading(rate: 400), at: 15 * s + s / 2), .proceed)
        XCTAssertEqual(run.judge(reading(rate: 1000), at: 16 * s), .recovered(after: s))
        XCTAssertEqual(run.recoveredAfter, s)
        XCTAssertFalse(run.aborted)
        XCTAssertTrue(run.checks.allSatisfy { $0.violations.isEmpty })
        XCTAssertEqual(run.checks.map(\.name), ["hypothesis_before", "hypothesis_after"])
    }

    func testMissingSteadyStateAbortsBeforeTheMethod() {
        var run = HypothesisRun(spec(), methodStart: 10 * s)
        XCTAssertEqual(run.judge(reading(rate: 1000, latencyMs: 80), at: 10 * s), .abortBeforeMethod)
        XCTAssertTrue(run.aborted)
        XCTAssertEqual(run.phase, .done)
        XCTAssertNil(run.nextReading)
        let before = run.checks.first { $0.name == "hypothesis_before" }
        XCTAssertEqual(before?.violations.count, 1)
        XCTAssertTrue(before?.violations.first?.description.contains("publish_latency_p99 80.0 ms > 50.0 ms") ?? false, "\(run.checks)")
    }

    func testDeviationDuringTheMethodAbortsIt() {
        var run = HypothesisRun(spec(during: true), methodStart: 10 * s)
        XCTAssertEqual(run.judge(reading(rate: 1000), at: 10 * s), .startMethod)
        XCTAssertEqual(run.nextReading?.at, 10 * s + s / 2)
        XCTAssertEqual(run.nextReading?.from, 10 * s, "during readings start at the method")
        XCTAssertEqual(run.judge(reading(rate: 1000, latencyMs: 200), at: 10 * s + s / 2), .proceed)
        XCTAssertEqual(run.judge(reading(rate: 1000, latencyMs: 2500), at: 11 * s), .abortMethod)
        XCTAssertTrue(run.aborted)
        XCTAssertNil(run.nextReading, "aborted: wait for the heal")
        run.methodEnded(at: 11 * s + 100_000_000)
        XCTAssertEqual(run.judge(reading(rate: 1000), at: 11 * s + 600_000_000), .recovered(after: s / 2))
        XCTAssertEqual(run.checks.first { $0.name == "hypothesis_during" }?.violations.count, 1)
    }

    func testNotRecoveringInTimeFails() {
        var run = HypothesisRun(spec(), methodStart: 10 * s)
        _ = run.judge(reading(rate: 1000), at: 10 * s)
        run.methodEnded(at: 15 * s)
        var decisions: [HypothesisRun.Decision] = []
        while let next = run.nextReading { decisions.append(run.judge(reading(rate: 100), at: next.at)) }
        XCTAssertEqual(decisions.last, .notRecovered)
        XCTAssertEqual(decisions.count, 6, "read every 0.5 s for 3 s")
        XCTAssertEqual(run.checks.first { $0.name == "hypothesis_after" }?.violations.count, 1)
    }

    func testUnmeasurableValuesDoNotHold() {
        let probes = spec().steadyState + [ProbeSpec(name: "up", quantity: .scraped(metric: "up", labels: [], combine: .sum),
                                                     bounds: [.atLeast(1)], location: here)]
        let outcomes = SteadyState.judge(probes, ProbeReading(load: LoadWindow(seconds: 2), scraped: ["up": nil]))
        XCTAssertEqual(outcomes.map(\.held), [false, false, false])
        XCTAssertEqual(outcomes[1].description, "publish_latency_p99: no ack in the window")
        XCTAssertEqual(outcomes[2].description, "up: no running node exposes it")
    }

    func testRecentOutcomesWindows() {
        var recent = RecentOutcomes(keep: 3 * s)
        for i in 0..<10_000 { recent.acked(at: Int64(i) * 1_000_000, latency: Int64(i % 10) * 1_000_000) }
        recent.failed(at: 9 * s + 500_000_000)
        let w = recent.window(from: 8 * s, to: 10 * s)
        XCTAssertEqual(w.acks, 2000)
        XCTAssertEqual(w.failures, 1)
        XCTAssertEqual(w.throughput, 1000)
        XCTAssertEqual(w.latency.max, 9_000_000, accuracy: 10_000)
        XCTAssertEqual(recent.window(from: 0, to: 6 * s).acks, 0, "entries older than keep are gone")
    }

    func testPrometheusTextAndCombining() {
        let text = """
            # HELP faultline_broker_stream_isr_size In-sync replicas
            # TYPE faultline_broker_stream_isr_size gauge
            faultline_broker_stream_isr_size{node="n1",stream="orders"} 3
            faultline_broker_stream_isr_size{node="n2",stream="orders"} 2
            faultline_broker_stream_isr_size{node="n2",stream="audit"} 1
            weird{a="x\\"y,z}"} 7 1700000000
            up 1
            broken{a="1" 5
            """
        let samples = PrometheusText.parse(text)
        XCTAssertEqual(samples.count, 5)
        XCTAssertEqual(samples[3], PrometheusSample(name: "weird", labels: ["a": "x\"y,z}"], value: 7))
        let orders = [ProbeSpec.Label(name: "stream", value: "orders")]
        XCTAssertEqual(ProbeReading.combine(samples, metric: "faultline_broker_stream_isr_size", labels: orders, .min), 2)
        XCTAssertEqual(ProbeReading.combine(samples, metric: "faultline_broker_stream_isr_size", labels: orders, .sum), 5)
        XCTAssertEqual(ProbeReading.combine(samples, metric: "faultline_broker_stream_isr_size", labels: [], .max), 3)
        XCTAssertNil(ProbeReading.combine(samples, metric: "absent", labels: [], .sum))
    }
}
