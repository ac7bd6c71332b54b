import Foundation
import XCTest

/// Idempotent producers end to end in the simulator: the leader is killed under load, the
/// producers re-send what they did not see acknowledged, and the new leader answers re-sends of
/// stored messages with their original offsets — or, with `broker.idempotence=false`, stores
/// them again.
final class IdempotenceCommandTests: XCTestCase {
    private func replay(_ idempotence: Bool) throws -> (status: Int32, stdout: String) {
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/replication/leader-failover.yaml").path
        // Short enough for a debug build; the leader dies with messages in flight (seed 2 stores
        // 15 re-sends twice without idempotence).
        let run = try CLI.run(["replay", scenario, "--seed", "2", "--set", "duration=6s", "--set", "faults.0.at=3s",
                               "--set", "broker.idempotence=\(idempotence)"])
        return (run.status, run.stdout + run.stderr)
    }

    private func metric(_ name: String, in output: String) -> Double? {
        output.split(separator: "\n").lazy.compactMap { line -> Double? in
            let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " = ")
            return parts.count == 2 && parts[0] == name ? Double(parts[1]) : nil
        }.first
    }

    func testFailoverResendsAreNotStoredTwiceWithIdempotenceAndAreWithout() throws {
        let on = try replay(true)
        XCTAssertEqual(on.status, 0, on.stdout)
        XCTAssertTrue(on.stdout.contains("check no_duplicates: passed"), on.stdout)
        XCTAssertTrue(on.stdout.contains("check producer_order: passed"), on.stdout)
        XCTAssertEqual(metric("messages_duplicated", in: on.stdout), 0, on.stdout)
        XCTAssertEqual(metric("messages_lost", in: on.stdout), 0, on.stdout)
        XCTAssertGreaterThan(metric("publish_retries", in: on.stdout) ?? 0, 0, "the failover made producers re-send")

        let off = try replay(false)
        XCTAssertEqual(off.status, 0, "no_duplicates holds the broker only to idempotence it has on: \(off.stdout)")
        XCTAssertGreaterThan(metric("messages_duplicated", in: off.stdout) ?? 0, 0, "re-sends stored again: \(off.stdout)")
    }
}
