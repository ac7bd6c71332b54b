import Foundation
import XCTest

/// `replay --explain`: the story of a failing seed, up to its violations, the entries about the
/// lost messages in bold.
final class ExplainTests: XCTestCase {
    /// Both replicas of the stream lose power with lazy fsync: acknowledged messages that were
    /// only in the page cache are gone.
    private let scenario = CLIFixtures.lazyFsyncStream(name: "power-loss", duration: "4s") + """
    faults:
      - { at: 2500ms, crash: n1, for: 500ms }
      - { at: 2500ms, crash: n2, for: 500ms }
    checks: [no_acknowledged_loss]
    """

    func testExplainsALossByTheCrashThatDroppedTheUnsyncedTail() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("power-loss.yaml")
        try scenario.write(to: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("why.md").path
        let result = try CLI.run(["replay", input.path, "--seed", "1", "--explain", "--explain-out", out])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# Why seed 1 fails `no_acknowledged_loss`"), text)
        XCTAssertTrue(text.contains("Violating offsets: orders "), text)
        // The acknowledgements of the lost offsets, and the crash that lost them (past its fsynced end), in bold.
        XCTAssertTrue(text.contains("| **ack** | **orders: offsets "), text)
        XCTAssertTrue(text.range(of: #"\| \*\*replica\*\* \| \*\*orders: n[12] crashed holding log end \d+, fsynced to \d+"#,
                                 options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("restarted, recovered log end"), text)
        XCTAssertTrue(text.contains("| fault | crash n1 |"), text)
        XCTAssertTrue(text.contains("| **violation** |"), text)
        // Observation only: the explained replay is the same run (same trace hash as a plain replay).
        let plain = try CLI.run(["replay", input.path, "--seed", "1"])
        let hash = plain.stdout.components(separatedBy: "trace hash ").dropFirst().first?.prefix(16)
        XCTAssertNotNil(hash)
        XCTAssertTrue(text.contains("trace hash \(hash ?? "")"), text)

        // The same story as an HTML page when the file asks for it.
        let page = dir.appendingPathComponent("why.html").path
        XCTAssertEqual(try CLI.run(["replay", input.path, "--seed", "1", "--explain", "--explain-out", page]).status, 1)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"), html)
        XCTAssertTrue(html.contains("<h1>Why seed 1 fails <code>no_acknowledged_loss</code></h1>"), html)
        XCTAssertTrue(html.contains("<tr class=\"involved\"><td>"), html)
        XCTAssertTrue(html.contains("<strong>replica</strong>"), html)
        XCTAssertFalse(html.contains("**"), "no Markdown left:\n\(html)")
    }

    func testExplainsASeedFromAResultsFolderAlone() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("power-loss.yaml")
        try scenario.write(to: input, atomically: true, encoding: .utf8)
        let results = dir.appendingPathComponent("results").path
        XCTAssertEqual(try CLI.run(["run", input.path, "--seeds", "2", "--out", results]).status, 1)
        // The scenario file is gone: the results hold its text.
        try FileManager.default.removeItem(at: input)
        let explained = try CLI.run(["explain", results, "--seed", "2"])
        XCTAssertEqual(explained.status, 0, explained.stdout + explained.stderr)
        XCTAssertTrue(explained.stdout.contains("# Why seed 2 fails `no_acknowledged_loss`"), explained.stdout)
        XCTAssertTrue(explained.stdout.contains("crashed holding log end"), explained.stdout)
        XCTAssertFalse(explained.stdout.contains("warning:"), "the re-run is the recorded run:\n\(explained.stdout)")
        let missing = try CLI.run(["explain", results, "--seed", "99"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no simulated run of seed 99"), missing.stderr)
    }

    /// OAuth fan-out: local validation knows a revocation only at its next poll, so hops accept
    /// a revoked token; the story shows the revocation and the hops, the token named in bold.
    func testExplainsAnAcceptedRevokedToken() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("revoked.yaml")
        try """
        name: revoked
        duration: 6s
        cluster: {nodes: 3, zones: [a, b]}
        services:
          list:
            - {name: api, replicas: 2, servers: 8, work: {exponential: 1ms}}
        auth:
          strategy: local
          local: {jwks_refresh: 30s, revocation_poll: 10s}
          tokens: {realm: services, clients: 5, lifetimes: {services: 1h}}
          revocations: 2/s
        workload:
          - calls: {entry: api, rate: 200/s, timeout: 1s}
        checks: [no_accepted_invalid]
        """.write(to: input, atomically: true, encoding: .utf8)
        let result = try CLI.run(["replay", input.path, "--seed", "1", "--explain"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let text = result.stdout
        XCTAssertTrue(text.contains("# Why seed 1 fails `no_accepted_invalid`"), text)
        let named = try XCTUnwrap(text.components(separatedBy: "Named in the violations: ").dropFirst().first?.prefix { $0 != "." })
        XCTAssertFalse(named.isEmpty)
        let token = String(named.split(separator: ",")[0])
        XCTAssertTrue(text.contains("| **revoke** | **token \(token) of client "), text)
        XCTAssertTrue(text.contains("| **accept** | **api accepted a revoked token (\(token)) verified locally** |"), text)
        XCTAssertTrue(text.contains("hops in all"), text)
        XCTAssertLessThan(text.split(separator: "\n").count, 200, "accepts are summarised, not listed one by one")
    }

    func testNothingToExplainForAPassingSeed() throws {
        let dir = try CLI.temporaryDirectory()
        let input = dir.appendingPathComponent("safe.yaml")
        try scenario.replacingOccurrences(of: "fsync: { interval: 1s }", with: "fsync: always")
            .write(to: input, atomically: true, encoding: .utf8)
        let result = try CLI.run(["replay", input.path, "--seed", "1", "--explain"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("nothing to explain"), result.stdout)
    }
}
