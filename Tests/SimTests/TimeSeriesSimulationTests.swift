import Sim
import Stats
import XCTest

/// The simulator's time series and timeline, through a run (short: debug builds are slow).
final class TimeSeriesSimulationTests: XCTestCase {
    let failover = """
        name: failover-series
        duration: 4s
        timeseries: { window: 100ms }
        cluster:
          nodes: 3
          network: { latency: { lognormal: { median: 0.3ms, p99: 1ms } } }
          disk: { fsync: { uniform: [0.5ms, 2ms] } }
        broker:
          streams: [ { name: orders, replication_factor: 3, min_isr: 2 } ]
          ack_policy: all
          fsync: always
          leader_timeout: 300ms
          client_connection_reset: true
        workload:
          - publish: { stream: orders, rate: 1000/s, size: 256B, timeout: 2s, retries: 20 }
        faults: [ { at: 2s, crash: leader(orders), for: 1s } ]
        checks: [no_acknowledged_loss, liveness_after_heal]
        """

    func testLeaderCrashShowsAsAThroughputDipALeaderChangeAndAFaultBand() throws {
        var simulation = try Simulation(scenario: try loadScenario(failover), seed: 1)
        let outcome = simulation.run()
        XCTAssertTrue(outcome.passed, "\(outcome.checks.filter { !$0.passed })")
        let series = Dictionary(uniqueKeysWithValues: outcome.timeSeries.map { ($0.name, $0) })
        for name in ["publish_throughput", "publish_error_rate", "publish_latency.p50", "publish_latency.p99",
                     "leader.orders", "isr_size.orders", "hw_lag.orders"] {
            XCTAssertNotNil(series[name], name)
        }
        let throughput = try XCTUnwrap(series["publish_throughput"])
        XCTAssertEqual(throughput.windowNanos, 100_000_000)
        // Steady before the crash (1000/s), a window with (almost) nothing just after it.
        XCTAssertEqual(throughput.points[15] ?? 0, 1000, accuracy: 150)
        let afterCrash = throughput.points[20...23].compactMap { $0 }
        XCTAssertLessThan(afterCrash.min() ?? 1000, 300, "the failover must show as a dip: \(afterCrash)")
        // The stream's leader changes at the crash; the ISR shrinks while the old leader is down.
        let leader = try XCTUnwrap(series["leader.orders"])
        XCTAssertNotEqual(leader.points[15], leader.points[28])
        XCTAssertEqual(series["isr_size.orders"]?.points[15], 3)
        XCTAssertEqual(series["isr_size.orders"]?.points[28], 2)
        // The timeline: the crash as a band to its restart, the leader change after it.
        let fault = try XCTUnwrap(outcome.timeline.first { $0.kind == "fault" })
        XCTAssertEqual(fault.description, "crash leader(orders)")
        XCTAssertEqual(fault.atNanos, 2_000_000_000)
        XCTAssertEqual(fault.endNanos, 3_000_000_000)
        XCTAssertEqual(fault.nodes.count, 1)
        XCTAssertTrue(outcome.timeline.contains { $0.kind == "undo" && $0.atNanos == 3_000_000_000 })
        let changes = outcome.timeline.filter { $0.kind == "leader" }
        XCTAssertTrue(changes.first?.description.hasPrefix("orders: none → ") ?? false, "\(changes)")
        XCTAssertTrue(changes.contains { $0.atNanos > 2_000_000_000 && !$0.description.contains(fault.nodes[0] + " → " + fault.nodes[0]) },
                      "\(changes)")
    }

    func testSeriesAreDeterministic() throws {
        let scenario = try loadScenario(failover)
        var a = try Simulation(scenario: scenario, seed: 9), b = try Simulation(scenario: scenario, seed: 9)
        let first = a.run(), second = b.run()
        XCTAssertEqual(first.timeSeries, second.timeSeries)
        XCTAssertEqual(first.timeline, second.timeline)
        XCTAssertEqual(first.traceHash, second.traceHash)
    }

    func testTokeninfoSaturationShowsInItsSeries() throws {
        let yaml = """
            name: tokeninfo-series
            duration: 3s
            cluster: { zones: [a] }
            services:
              graph: { shape: tree, depth: 0, fanout: 1 }
              defaults: { servers: 10000, work: 0ms }
              latency: { same_zone: 100us }
            auth:
              strategy: central
              tokeninfo: { nodes: 1, servers: 1, service: { exponential: 1ms } }
              central: { timeout: 10s, retries: 0 }
            workload:
              - calls: { rate: { poisson: 1500/s } }
            """
        var simulation = try Simulation(scenario: try loadScenario(yaml), seed: 1)
        let outcome = simulation.run()
        let series = Dictionary(uniqueKeysWithValues: outcome.timeSeries.map { ($0.name, $0) })
        // 1500 validations/s against one server of 1 ms (ρ = 1.5): saturated, its queue growing.
        let utilization = try XCTUnwrap(series["tokeninfo.utilization"]).points.compactMap { $0 }
        XCTAssertGreaterThan(utilization.last ?? 0, 0.95, "\(utilization)")
        let queue = try XCTUnwrap(series["tokeninfo.queue"]).points.compactMap { $0 }
        XCTAssertGreaterThan(queue.last ?? 0, queue.dropFirst().first ?? 0, "\(queue)")
        XCTAssertNotNil(series["throughput"])
        XCTAssertNotNil(series["request_latency.p99"])
    }
}
