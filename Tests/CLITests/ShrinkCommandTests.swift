import Foundation
import XCTest

/// `faultline shrink`: a failing seed becomes a smaller scenario file that fails the same check
/// on a plain `faultline run`, the same file every time.
final class ShrinkCommandTests: XCTestCase {
    /// Lazy fsync and both replicas of a stream losing power: acknowledged messages are lost.
    /// The pause and the partition of the third node have nothing to do with it.
    private let scenario = CLIFixtures.lazyFsyncStream(name: "lossy", duration: "6s") + """
    faults:
      - { at: 1s, pause: n3, for: 500ms }
      - { at: 2500ms, crash: n1, for: 1s }
      - { at: 2500ms, crash: n2, for: 1s }
      - { at: 3s, partition: n3, for: 1s }
    checks: [no_acknowledged_loss, producer_order]
    """

    func testShrinksToAFileThatFailsOnAPlainRunAndIsDeterministic() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("lossy.yaml")
        try scenario.write(to: input, atomically: true, encoding: .utf8)
        let first = dir.appendingPathComponent("first.yaml").path
        let result = try CLI.run(["shrink", input.path, "--seed", "1", "--out", first])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("| 0 | original | — | 4 |"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fails no_acknowledged_loss"), result.stdout)

        let text = try String(contentsOfFile: first, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# Shrunk by `faultline shrink`"), text)
        XCTAssertTrue(text.contains("removed"), text)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        XCTAssertTrue(text.contains("removed {at: 1s, pause: n3, for: 500ms}") || text.contains("pause: n3, for: 500ms}, "), text)
        XCTAssertFalse(body.contains("pause: n3"), "the unrelated pause is removed:\n\(text)")
        XCTAssertFalse(body.contains("partition: n3"), "the unrelated partition is removed:\n\(text)")
        XCTAssertTrue(body.contains("crash: n1") && body.contains("crash: n2"), "the two crashes that lose data stay:\n\(text)")

        // A plain run of the file, in a fresh process, fails.
        let run = try CLI.run(["run", first, "--out", dir.appendingPathComponent("results").path])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)

        // Same input, same file — whatever the parallelism.
        let second = dir.appendingPathComponent("second.yaml").path
        XCTAssertEqual(try CLI.run(["shrink", input.path, "--seed", "1", "--out", second, "--jobs", "1"]).status, 0)
        XCTAssertEqual(text, try String(contentsOfFile: second, encoding: .utf8))
    }

    /// An SLO judged on the one seed (as the summary judges it over seeds) can be the target too:
    /// account-sizing's cells strategy misses its blast-radius SLO.
    func testShrinksAnSLOMissOfTheAccountsModel() throws {
        let dir = try CLI.temporaryDirectory()
        let scenario = CLI.packageRoot.appendingPathComponent("Scenarios/accounts/account-sizing.yaml").path
        let out = dir.appendingPathComponent("accounts.yaml").path
        let result = try CLI.run(["shrink", scenario, "--seed", "1", "--check", "blast_radius_mean", "--out", out])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("(seed 1 fails blast_radius_mean)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("| duration |"), "the run was cut short:\n\(result.stdout)")
        let run = try CLI.run(["run", out, "--out", dir.appendingPathComponent("results").path])
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
    }

    func testASeedThatPassesIsBadInput() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("safe.yaml")
        try scenario.replacingOccurrences(of: "fsync: { interval: 1s }", with: "fsync: always")
            .write(to: input, atomically: true, encoding: .utf8)
        let result = try CLI.run(["shrink", input.path, "--seed", "1", "--out", dir.appendingPathComponent("x.yaml").path])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("nothing to shrink"), result.stderr)
        let unknown = try CLI.run(["shrink", input.path, "--seed", "1", "--check", "no_such_check"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("no check or SLO 'no_such_check'"), unknown.stderr)
    }
}
