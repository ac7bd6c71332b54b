import Foundation
import Live
import LiveHTTP
@testable import LivePaaS
import Mesh
import XCTest

/// The shared call rules on real sockets: a soft dependency that fails, and health-checked
/// balancing, as the simulator's mesh models them.
final class MeshRulesLiveTests: XCTestCase {
    /// A mesh scenario whose service list is `services` (YAML list entries, indented four spaces).
    static func meshYAML(_ name: String, _ services: String) -> String {
        """
        name: \(name)
        duration: 10s
        cluster: { zones: [a] }
        services:
          list:
        \(services)
          defaults: { replicas: 1, servers: 8, work: 0.2ms }
        auth:
          strategy: local
          tokens: { realm: services, clients: 2, lifetimes: { services: 1h, customers: 1h } }
        workload:
          - calls: { rate: 10/s }
        """
    }

    static let softYAML = meshYAML("soft-dependency", """
            - { name: api, calls: [orders, { to: ledger, soft: true, timeout: 50ms }] }
            - { name: orders }
            - { name: ledger, work: 2s }
        """)

    func testAFailedSoftDependencyDegradesTheAnswerInsteadOfFailingIt() async throws {
        let h = try await PaaSHarness(strategy: "local", yaml: Self.softYAML, services: ["api", "orders", "ledger"])
        do {
            let token = try await h.fetchToken()
            let reply = try await h.get(h.meshPorts["api"]!, "/", headers: [("Authorization", "Bearer " + token)])
            let body = String(decoding: reply.body, as: UTF8.self)
            // ledger never answers within 50 ms: api falls back, answers 200 and says so.
            XCTAssertEqual(reply.status, 200, body)
            XCTAssertEqual(MeshReplica.count("degraded", in: reply.body), 1, body)
            XCTAssertEqual(MeshReplica.count("validated", in: reply.body), 2, "api and orders validated: \(body)")
            // The same failure on a hard dependency fails the request (502).
            XCTAssertEqual(CallRules.afterAttempt(.timeout, retriesLeft: 0, soft: false), .failCaller(.badGateway))
        }
        await h.stop()
    }

    func testHealthChecksSteerCallsAwayFromADeadReplica() async throws {
        let h = try await PaaSHarness(strategy: "local")
        let dead = try Ports.free()  // nothing listens here
        let pools = [h.pool(h.meshPorts["orders"]!), h.pool(dead)]
        let health = ReplicaHealth(service: "orders", pools: pools, interval: .milliseconds(20), probeTimeout: .milliseconds(200))
        health.start()
        var settled = false
        for _ in 0..<100 where !settled {
            try await Task.sleep(nanoseconds: 20_000_000)
            settled = health.isUp(0) && !health.isUp(1)
        }
        health.stop()
        XCTAssertTrue(settled, "the live replica should be up and the dead one down after a few probes")
        let picks = (0..<10).map {
            CallRules.replica(count: 2, turn: UInt32($0), retryAfter: nil, healthChecks: true, isUp: health.isUp)
        }
        XCTAssertEqual(picks, Array(repeating: 0, count: 10), "every call goes to the healthy replica")
        // Without health checks, round-robin would send every other call to the dead one.
        XCTAssertEqual((0..<4).map { CallRules.replica(count: 2, turn: UInt32($0), retryAfter: nil, healthChecks: false, isUp: health.isUp) },
                       [0, 1, 0, 1])
        await h.stop()
    }

    static func retryYAML(retries: Int) -> String {
        meshYAML("retry-next-replica", """
                - { name: api, calls: [{ to: orders, retries: \(retries), timeout: 1s }] }
                - { name: orders }
            """)
    }

    /// A counter of the api replica from its `/metrics` text.
    private func apiCounter(_ h: PaaSHarness, _ name: String) async throws -> Double? {
        let text = String(decoding: try await h.get(h.meshPorts["api"]!, "/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { !$0.hasPrefix("#") && $0.contains("_" + name + "{") && $0.contains("api-r1") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// The hop core's retry rule through `MeshReplica` on real sockets: orders has a live replica
    /// and a dead one (nothing listens); the callee's round-robin turn sends every other first
    /// attempt to the dead one, whose refused connection is a 502, retried on the next replica.
    func testAFailedAttemptIsRetriedOnTheNextReplica() async throws {
        let h = try await PaaSHarness(strategy: "local", yaml: Self.retryYAML(retries: 1), services: ["api", "orders"],
                                      deadReplicas: [("orders", try Ports.free())])
        do {
            let token = try await h.fetchToken()
            for _ in 0..<6 {
                let reply = try await h.get(h.meshPorts["api"]!, "/", headers: [("Authorization", "Bearer " + token)])
                XCTAssertEqual(reply.status, 200, String(decoding: reply.body, as: UTF8.self))
                XCTAssertEqual(MeshReplica.count("validated", in: reply.body), 2, "api and the live orders replica validated")
            }
            let calls = try await apiCounter(h, "child_calls_total")
            let failures = try await apiCounter(h, "child_call_failures_total")
            XCTAssertEqual(calls, 9, "6 first attempts, 3 of them to the dead replica and retried")
            XCTAssertEqual(failures, 3)
        }
        await h.stop()
    }

    /// Without retries the same dead replica fails the request: a hard dependency's 502.
    func testWithoutRetriesADeadReplicaFailsEveryOtherRequestWith502() async throws {
        let h = try await PaaSHarness(strategy: "local", yaml: Self.retryYAML(retries: 0), services: ["api", "orders"],
                                      deadReplicas: [("orders", try Ports.free())])
        do {
            let token = try await h.fetchToken()
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await h.get(h.meshPorts["api"]!, "/", headers: [("Authorization", "Bearer " + token)]).status)
            }
            XCTAssertEqual(statuses, [200, 502, 200, 502], "turns alternate between the live and the dead replica")
            let calls = try await apiCounter(h, "child_calls_total")
            XCTAssertEqual(calls, 4)
        }
        await h.stop()
    }
}
