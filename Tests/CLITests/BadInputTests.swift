import Foundation
import XCTest

/// Bad scenarios exit 2 with file:line:col, the key and what was expected — never a crash.
final class BadInputTests: XCTestCase {
    let valid = """
        name: probe
        duration: 2s
        cluster: { nodes: 1 }
        stations:
          - { name: svc, node: n1, servers: 1, service: { exponential: 1ms } }
        workload:
          - requests: { station: svc, rate: 100/s }
        """

    func check(_ yaml: String, mentions expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try CLI.temporaryDirectory()
        let path = try CLI.write(yaml, to: "probe.yaml", in: dir)
        for command in [["validate", path], ["run", path, "--out", dir.appendingPathComponent("o").path]] {
            let result = try CLI.run(command)
            XCTAssertEqual(result.status, 2, "\(command[0]): \(result.stdout) \(result.stderr)", file: file, line: line)
            for fragment in expected {
                XCTAssertTrue(result.stderr.contains(fragment), "\(command[0]) stderr lacks '\(fragment)': \(result.stderr)", file: file, line: line)
            }
        }
    }

    func testTypoedKeySuggestsTheRightOne() throws {
        try check(valid.replacingOccurrences(of: "servers: 1", with: "sevrers: 1"),
                  mentions: ["probe.yaml:5:", "sevrers", "servers"])
    }

    func testMissingUnit() throws {
        try check(valid.replacingOccurrences(of: "duration: 2s", with: "duration: 2"),
                  mentions: ["probe.yaml:2:11", "duration"])
    }

    func testNegativeRate() throws {
        try check(valid.replacingOccurrences(of: "rate: 100/s", with: "rate: -100/s"),
                  mentions: ["probe.yaml:7:", "rate"])
    }

    func testMalformedYAML() throws {
        try check(valid + "\n  - { broken: [1, 2 }\n", mentions: ["probe.yaml:"])
    }

    func testUnknownNodeInFault() throws {
        try check(valid + "\nfaults: [ { at: 1s, crash: n9 } ]\n", mentions: ["probe.yaml:8:", "n9"])
    }

    func testMissingFile() throws {
        let result = try CLI.run(["validate", "/nonexistent/scenario.yaml"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("/nonexistent/scenario.yaml"))
    }

    func testBadOverride() throws {
        let dir = try CLI.temporaryDirectory()
        let path = try CLI.write(valid, to: "probe.yaml", in: dir)
        let result = try CLI.run(["validate", path, "--set", "cluster.nodes=-1"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("--set"), result.stderr)
    }
}
