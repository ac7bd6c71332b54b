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
        /// Every clock file written: (node, offset ns, when: ns since the recorder was made).
        let clockWrites = NIOLockedValueBox<[(String, Int64, Int64)]>([])
        let made = NIODeadline.now()
        func clock(_ nodes: [String], _ clock: NodeClock) async throws {
            let t = Int64(NIODeadline.now().uptimeNanoseconds - made.uptimeNanoseconds)
            clockWrites.withLockedValue { for node in nodes { $0.append((node, clock.offset, t)) } }
        }
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

    func testADriftingClockMovesOnUntilItsFaultEnds() async throws {
        let environment = RecordingEnvironment()
        // 10% fast (100,000 ppm) from 50 ms for 400 ms: n2's clock gains about 40 ms, then the
        // undo puts it back on true time.
        let s = try scenario("  - { at: 50ms, clock: { node: n2, drift: 100000ppm }, for: 400ms }")
        let start = NIODeadline.now()
        let faults = LiveFaults(scenario: s, environment: environment, runStart: start, seed: 1, log: { _ in })
        let control = MethodControl()
        control.allowStart()
        let drifting = Task { await faults.keepClocksDrifting(until: 700_000_000) }
        _ = try await faults.run(control: control)
        await drifting.value
        let writes = environment.clockWrites.withLockedValue { $0 }
        XCTAssertTrue(writes.allSatisfy { $0.0 == "n2" }, "\(writes)")
        guard let undo = writes.lastIndex(where: { $0.1 == 0 }), undo > 2 else { return XCTFail("no undo after the drift: \(writes)") }
        let during = writes[1..<undo].map(\.1)
        XCTAssertGreaterThan(during.count, 3, "rewritten every 20 ms while drifting: \(writes)")
        XCTAssertEqual(during, during.sorted(), "a fast clock only gains")
        // Never more than 10% of the time since the fault began (plus a rounding nanosecond).
        let began = writes[0].2
        for (_, offset, at) in writes[1..<undo] { XCTAssertLessThanOrEqual(offset, (at - began) / 10 + 5_000_000) }
        XCTAssertGreaterThan(during.last!, 20_000_000, "about 40 ms gained over 400 ms")
        XCTAssertTrue(writes[(undo + 1)...].allSatisfy { $0.1 == 0 }, "the clock stays on true time after the undo: \(writes)")
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
