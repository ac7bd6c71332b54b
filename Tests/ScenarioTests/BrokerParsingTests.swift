import SimCore
import XCTest
@testable import Scenario

final class BrokerParsingTests: XCTestCase {
    let base = """
        duration: 30s
        cluster: { nodes: 5 }
        broker:
          streams:
            - { name: orders, replication_factor: 3, min_isr: 2 }
            - { name: audit, subject: audit.events, replicas: [n2, n4] }
          ack_policy: all
          truncation: high-watermark
          fsync: { interval: 50ms }
          replica_lag_max: 1s
          raft: { tick: 5ms, election_timeout: 100ms, heartbeat: 20ms }
        workload:
          - publish: { stream: orders, rate: 2000/s, size: 512B, timeout: 500ms, retries: 2 }
        faults:
          - { at: 10s, crash: leader(orders), for: 5s }
          - { at: 12s, pause: follower(audit), for: 1s }
          - { at: 14s, partition: { from: [metadata-leader], to: [all] }, for: 1s }
        checks: [no_acknowledged_loss, replicas_agree, liveness_after_heal]
        """

    func testBrokerSectionParses() throws {
        let s = try ScenarioLoader.parse(yaml: base, file: "b.yaml")
        let broker = try XCTUnwrap(s.broker)
        XCTAssertEqual(broker.streams, [
            StreamDefinition(name: "orders", subject: "orders", replicationFactor: 3, minISR: 2),
            StreamDefinition(name: "audit", subject: "audit.events", replicationFactor: 2, minISR: 1, replicas: ["n2", "n4"]),
        ])
        XCTAssertEqual(broker.ackPolicy, .all)
        XCTAssertEqual(broker.truncation, .highWatermark)
        XCTAssertEqual(broker.fsync, .interval(50 * Nanos.millisecond))
        XCTAssertEqual(broker.replicaLagMax, Nanos.second)
        XCTAssertEqual(broker.electionTimeout, 100 * Nanos.millisecond)
        XCTAssertEqual(s.publishes.count, 1)
        XCTAssertEqual(s.publishes[0].stream, "orders")
        XCTAssertEqual(s.publishes[0].retries, 2)
        XCTAssertEqual(s.faults.map(\.action.selectors.first), [.leader("orders"), .follower("audit"), .metadataLeader])
        XCTAssertEqual(s.checks, ["no_acknowledged_loss", "replicas_agree", "liveness_after_heal"])
    }

    func testOverridesReachBrokerSettings() throws {
        let s = try ScenarioLoader.parse(yaml: base, file: "b.yaml",
                                         overrides: ["broker.truncation=leader-epoch", "broker.fsync=always"])
        XCTAssertEqual(s.broker?.truncation, .leaderEpoch)
        XCTAssertEqual(s.broker?.fsync, .always)
    }

    func testBadBrokerValuesAreReportedWithPositions() {
        let errors = scenarioErrors(base
            .replacingOccurrences(of: "truncation: high-watermark", with: "truncation: high-watermak")
            .replacingOccurrences(of: "min_isr: 2 }", with: "min_isr: 4 }")
            .replacingOccurrences(of: "crash: leader(orders)", with: "crash: leader(ordres)"),
            file: "b.yaml")
        XCTAssertEqual(errors.count, 3, "\(errors)")
        XCTAssertTrue(errors.contains { $0.keyPath == "broker.truncation" && $0.hint == "did you mean 'high-watermark'?" })
        XCTAssertTrue(errors.contains { $0.keyPath == "broker.streams[0].min_isr" && $0.location.line == 5 })
        XCTAssertTrue(errors.contains { $0.keyPath == "faults[0].crash" && $0.found == "unknown stream 'ordres'" })
    }

    func testFetchWaitParsesAndDefaultsToTheDriver() throws {
        XCTAssertNil(try ScenarioLoader.parse(yaml: base, file: "b.yaml").broker?.fetchWait, "unset: the driver decides")
        let s = try ScenarioLoader.parse(yaml: base, file: "b.yaml", overrides: ["broker.fetch_wait=100ms"])
        XCTAssertEqual(s.broker?.fetchWait, 100 * Nanos.millisecond)
        let off = try ScenarioLoader.parse(yaml: base, file: "b.yaml", overrides: ["broker.fetch_wait=0ms"])
        XCTAssertEqual(off.broker?.fetchWait, 0)
    }

    func testBadFetchWaitIsReported() {
        let noUnit = scenarioErrors(base.replacingOccurrences(of: "replica_lag_max: 1s", with: "replica_lag_max: 1s\n  fetch_wait: 100"),
                                    file: "b.yaml")
        XCTAssertEqual(noUnit.count, 1, "\(noUnit)")
        XCTAssertEqual(noUnit.first?.keyPath, "broker.fetch_wait")
        XCTAssertEqual(noUnit.first?.location.line, 11)
        let tooLong = scenarioErrors(base.replacingOccurrences(of: "replica_lag_max: 1s", with: "replica_lag_max: 1s\n  fetch_wait: 2s"),
                                     file: "b.yaml")
        XCTAssertEqual(tooLong.count, 1, "\(tooLong)")
        XCTAssertEqual(tooLong.first?.keyPath, "broker.fetch_wait")
        XCTAssertTrue(tooLong.first?.expected.contains("below leader_timeout (300ms)") ?? false, "\(tooLong)")
        XCTAssertEqual(tooLong.first?.found, "2000ms")
    }

    func testIdempotenceDefaultsOnAndTakesABool() throws {
        XCTAssertEqual(try ScenarioLoader.parse(yaml: base, file: "b.yaml").broker?.idempotence, true, "on by default, as Kafka 3.0")
        let off = try ScenarioLoader.parse(yaml: base, file: "b.yaml", overrides: ["broker.idempotence=false"])
        XCTAssertEqual(off.broker?.idempotence, false)
        let bad = scenarioErrors(base.replacingOccurrences(of: "replica_lag_max: 1s", with: "replica_lag_max: 1s\n  idempotence: sometimes"),
                                 file: "b.yaml")
        XCTAssertEqual(bad.count, 1, "\(bad)")
        XCTAssertEqual(bad.first?.keyPath, "broker.idempotence")
        XCTAssertEqual(bad.first?.location.line, 11)
        XCTAssertEqual(bad.first?.found, "'sometimes'")
    }

    func testBrokerChecksNeedABroker() {
        let errors = scenarioErrors("""
            duration: 1s
            checks: [replicas_agree]
            """)
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].expected.contains("needs a broker"))
    }

    func testPublishToUnknownStream() {
        let errors = scenarioErrors(base.replacingOccurrences(of: "publish: { stream: orders", with: "publish: { stream: order"))
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].hint, "did you mean 'orders'?")
    }
}
