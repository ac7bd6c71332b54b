import XCTest
@testable import Scenario

final class HypothesisParsingTests: XCTestCase {
    let base = """
        duration: 30s
        cluster: { nodes: 3 }
        broker:
          streams: [{ name: orders, replication_factor: 3 }]
        workload:
          - publish: { stream: orders, rate: 1000/s }
        faults:
          - { at: 10s, crash: leader(orders), for: 5s }
        hypothesis:
          window: 2s
          every: 500ms
          recover_within: 8s
          steady_state:
            throughput_min: 900/s
            error_rate: 1%
            publish_latency_p99: 250ms
            leader_present: true
            isr_size_min: 3
            metrics:
              - { metric: 'faultline_broker_stream_isr_size{stream="orders"}', of: min, min: 3 }
          during:
            publish_latency_max: 3s
        rollbacks:
          - restart: crashed
          - heal: all
        """

    func testHypothesisAndRollbacksParse() throws {
        let s = try ScenarioLoader.parse(yaml: base, file: "h.yaml")
        let h = try XCTUnwrap(s.hypothesis)
        XCTAssertEqual(h.window, 2_000_000_000)
        XCTAssertEqual(h.every, 500_000_000)
        XCTAssertEqual(h.recoverWithin, 8_000_000_000)
        XCTAssertEqual(h.steadyState.map(\.name), ["throughput_min", "error_rate", "publish_latency_p99", "leader_present", "isr_size_min",
                                                   "min(faultline_broker_stream_isr_size{stream=\"orders\"})"])
        XCTAssertEqual(h.steadyState[0].bounds, [.atLeast(900)])
        XCTAssertEqual(h.steadyState[1].bounds, [.atMost(0.01)])
        XCTAssertEqual(h.steadyState[2].quantity, .publishLatency(quantile: 0.99))
        XCTAssertEqual(h.steadyState[2].bounds, [.atMost(250)])
        XCTAssertEqual(h.steadyState[5].quantity, .scraped(metric: "faultline_broker_stream_isr_size",
                                                           labels: [.init(name: "stream", value: "orders")], combine: .min))
        XCTAssertEqual(h.during.map(\.quantity), [.publishLatency(quantile: nil)])
        XCTAssertEqual(s.rollbacks.map(\.action.keyword), ["restart", "heal"])
        XCTAssertEqual(s.methodSpan?.start, 10_000_000_000)
        XCTAssertEqual(s.methodSpan?.end, 15_000_000_000)
    }

    func testBadProbesAreReportedWithPositions() {
        let errors = scenarioErrors(base
            .replacingOccurrences(of: "throughput_min: 900/s", with: "throughput_mn: 900/s")
            .replacingOccurrences(of: "of: min", with: "of: median")
            .replacingOccurrences(of: "restart: crashed", with: "crash: n1"),
            file: "h.yaml")
        XCTAssertEqual(errors.count, 3, "\(errors)")
        XCTAssertTrue(errors.contains { $0.keyPath == "hypothesis.steady_state.throughput_mn" && $0.hint == "did you mean 'throughput_min'?" })
        XCTAssertTrue(errors.contains { $0.keyPath == "hypothesis.steady_state.metrics[0].of" && $0.location.line == 20 })
        XCTAssertTrue(errors.contains { $0.keyPath == "rollbacks[0].crash" })
    }

    func testHypothesisMustFitAroundTheMethod() {
        // The window reaches back before time zero; recovery runs past the run's end.
        let errors = scenarioErrors(base
            .replacingOccurrences(of: "window: 2s", with: "window: 12s")
            .replacingOccurrences(of: "recover_within: 8s", with: "recover_within: 20s"),
            file: "h.yaml")
        XCTAssertEqual(errors.map(\.keyPath), ["hypothesis.window", "hypothesis.recover_within"], "\(errors)")
        XCTAssertEqual(errors.first?.location.line, 10)
        let noFaults = scenarioErrors(base.replacingOccurrences(of: "  - { at: 10s, crash: leader(orders), for: 5s }\n", with: "  []\n")
            .replacingOccurrences(of: "faults:\n  []", with: "faults: []"), file: "h.yaml")
        XCTAssertTrue(noFaults.contains { $0.keyPath == "hypothesis" && $0.found == "no faults and no nemesis" }, "\(noFaults)")
    }

    func testMetricSelectors() {
        XCTAssertEqual(ScenarioBuilder.metricSelector("up")?.0, "up")
        XCTAssertEqual(ScenarioBuilder.metricSelector("a_b{x=\"1\", y=\"two\"}")?.1, [.init(name: "x", value: "1"), .init(name: "y", value: "two")])
        XCTAssertNil(ScenarioBuilder.metricSelector("a{x=1}"))
        XCTAssertNil(ScenarioBuilder.metricSelector("a b"))
        XCTAssertNil(ScenarioBuilder.metricSelector("9lives"))
    }
}
