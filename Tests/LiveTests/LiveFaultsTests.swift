import Clients
import FaultPlan
import Foundation
import Links
@testable import Live
import LiveBroker
import NIOConcurrencyHelpers
import NIOCore
import Sampling
import Scenario
import XCTest

/// The live fault runner against an environment that only records what it is asked to do: a
/// disk fault survives a restart of its node, and an aborted method heals everything it left.
final class LiveFaultsTests: XCTestCase {
    /// Three nodes; n1 leads `orders`. Records every call in order.
    final class RecordingEnvironment: LiveEnvironment, @unchecked Sendable {
        let calls = NIOLockedValueBox<[String]>([])
        private let running = NIOLockedValueBox<Set<String>>(["n1", "n2", "n3"])
        var nodeNames: [String] { ["n1", "n2", "n3"] }
        func record(_ call: String) { calls.withLockedValue { $0.append(call) } }

        func transport(stream: String, producer: UInt32, loop: EventLoop) async throws -> PublishTransport { fatalError("not used") }
        func readBack(stream: String) async throws -> [ReadBackEntry] { [] }
        func leader(of stream: String) async -> String? { "n1" }
        func replicas(of stream: String) async -> [String] { nodeNames }
        func metadataLeader() async -> String? { "n2" }
        func isRunning(node: String) -> Bool { running.withLockedValue { $0.contains(node) } }
        func crash(node: String) async throws { record("crash \(node)"); _ = running.withLockedValue { $0.remove(node) } }
        func restart(node: String) async throws { record("restart \(node)"); _ = running.withLockedValue { $0.insert(node) } }
        func pause(node: String) { record("pause \(node)") }
        func resume(node: String) { record("resume \(node)") }
        func network(_ operation: ClusterOperation) async throws { record("network \(operation)") }
        func networkStats() async -> NetworkStats? { nil }
        func disk(_ nodes: [String], _ settings: StorageFailpoints.Settings) async throws {
            record("disk \(nodes.filter(isRunning).joined(separator: ",")) \(settings.fsyncError ? "error" : settings.fsyncDelay == nil ? "off" : "slow")")
            // A broker whose fsync fails stops itself at its next sync.
            if settings.fsyncError { running.withLockedValue { for node in nodes { $0.remove(node) } } }
        }
        func residentBytes() -> [String: Int] { [:] }
        func stop() async {}
    }

    private func scenario(_ faults: String) throws -> Scenario {
        try ScenarioLoader.parse(yaml: """
            duration: 10s
            cluster: { nodes: 3 }
            broker: { streams: [{ name: orders, replication_factor: 3 }] }
            workload:
              - publish: { stream: orders, rate: 100/s }
            faults:
            \(faults)
            """, file: "f.yaml")
    }

    func testADiskFaultIsArmedAgainWhenItsNodeRestarts() async throws {
        let environment = RecordingEnvironment()
        let s = try scenario("""
              - { at: 20ms, disk: { node: n1, slow_fsync: 30ms }, for: 200ms }
              - { at: 60ms, crash: n1 }
              - { at: 100ms, restart: n1 }
            """)
        let faults = LiveFaults(scenario: s, environment: environment, runStart: .now(), seed: 1, log: { _ in })
        let control = MethodControl()
        control.allowStart()
        _ = try await faults.run(control: control)
        XCTAssertEqual(environment.calls.withLockedValue { $0 }, [
            "disk n1 slow", "crash n1", "restart n1", "disk n1 slow", "disk n1 off",
        ])
    }

    func testANodeThatStopsOnAFailedFsyncCountsAsCrashedAndFailsAgainUntilTheFaultEnds() async throws {
        let environment = RecordingEnvironment()
        let s = try scenario("""
              - { at: 20ms, disk: { node: leader(orders), fsync_error: true }, for: 200ms }
              - { at: 100ms, restart: crashed }
              - { at: 300ms, restart: crashed }
            """)
        let faults = LiveFaults(scenario: s, environment: environment, runStart: .now(), seed: 1, log: { _ in })
        let control = MethodControl()
        control.allowStart()
        let outcome = try await faults.run(control: control)
        // Restarted under the fault, n1's disk is armed again and it stops again; the undo
        // finds it down (nothing to disarm); restarted after the fault, it stays up.
        XCTAssertEqual(environment.calls.withLockedValue { $0 }, [
            "disk n1 error", "restart n1", "disk n1 error", "restart n1",
        ])
        let exits = outcome.fired.filter { $0.kind == "exit" }
        XCTAssertEqual(exits.map(\.nodes), [["n1"], ["n1"]])
        XCTAssertTrue(exits[0].leaderCrash, "n1 led orders: its exit starts a failover")
        XCTAssertEqual(outcome.fired.map(\.at), outcome.fired.map(\.at).sorted(), "the timeline is in time order")
        XCTAssertEqual(outcome.conditions, [.running, .running, .running])
    }

    func testAnAbortedMethodHealsEverythingItLeft() async throws {
        let environment = RecordingEnvironment()
        let s = try scenario("""
              - { at: 10ms, disk: { node: n3, slow_fsync: 30ms }, for: 5s }
              - { at: 20ms, crash: leader(orders) }
              - { at: 30ms, pause: n2, for: 5s }
              - { at: 5s, crash: n3 }
            """)
        let faults = LiveFaults(scenario: s, environment: environment, runStart: .now(), seed: 1, log: { _ in })
        let control = MethodControl()
        control.allowStart()
        let task = Task { try await faults.run(control: control) }
        try await Task.sleep(nanoseconds: 300_000_000)
        control.abort()
        let outcome = try await task.value
        let calls = environment.calls.withLockedValue { $0 }
        // Each fault's undo in file order (the disk back to normal, the crashed leader restarted,
        // n2 resumed), then every failpoint disarmed.
        XCTAssertEqual(calls, ["disk n3 slow", "crash n1", "pause n2", "disk n3 off", "restart n1", "resume n2", "disk n1,n2,n3 off"])
        XCTAssertEqual(outcome.fired.last?.kind, "abort")
        XCTAssertEqual(outcome.conditions, [.running, .running, .running])
        XCTAssertFalse(calls.contains("crash n3"), "the step after the abort never ran")
    }

    func testNoGoInjectsNothing() async throws {
        let environment = RecordingEnvironment()
        let faults = LiveFaults(scenario: try scenario("  - { at: 10ms, crash: n1 }"), environment: environment, runStart: .now(),
                                seed: 1, log: { _ in })
        let control = MethodControl()
        control.cancelStart()
        let outcome = try await faults.run(control: control)
        XCTAssertTrue(outcome.fired.isEmpty)
        XCTAssertEqual(environment.calls.withLockedValue { $0 }, [])
    }
}
