import Foundation
import XCTest

/// `faultline compare` and `faultline baseline` end to end: exit codes, the JUnit XML read by an
/// independent parser (junitparser), and the refusals.
final class CompareCommandTests: XCTestCase {
    let scenario = """
        name: cmp-probe
        duration: 3s
        seeds: 8
        cluster: { nodes: 1 }
        stations:
          - { name: svc, node: n1, servers: 2, service: { exponential: 1ms } }
        workload:
          - requests: { station: svc, rate: 600/s, timeout: 1s }
        checks: [requests_accounted]
        slos: { request_latency_p99: 100ms }
        regression:
          request_latency.p99: +5%
          requests_accounted: must-hold
        """

    func results(_ dir: URL, _ name: String, _ sets: [String] = [], scenarioFile: String? = nil, junit: Bool = false) throws -> String {
        let path = try scenarioFile ?? CLI.write(scenario, to: "cmp.yaml", in: dir)
        let out = dir.appendingPathComponent(name).path
        var arguments = ["run", path, "--out", out, "--jobs", "2"]
        for s in sets { arguments += ["--set", s] }
        if junit { arguments += ["--junit", out + ".xml"] }
        let r = try CLI.run(arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    /// Parses JUnit XML with junitparser and returns (tests, failures, skipped, failure messages).
    func junitparser(_ path: String) throws -> (tests: Int, failures: Int, skipped: Int, messages: [String]) {
        let script = """
            import sys, json
            from junitparser import JUnitXml, Failure, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            tests = failures = skipped = 0
            messages = []
            for suite in xml:
                for case in suite:
                    tests += 1
                    for r in case.result:
                        if isinstance(r, Failure):
                            failures += 1
                            messages.append(r.message)
                        elif isinstance(r, Skipped):
                            skipped += 1
            print(json.dumps([tests, failures, skipped, messages]))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("junitparser could not read \(path) (pip install junitparser; scripts/test does): \(error)")
            return (0, 0, 0, [])
        }
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [Any])
        return (parsed[0] as! Int, parsed[1] as! Int, parsed[2] as! Int, parsed[3] as! [String])
    }

    func testSameSeedsTwiceIsUnchangedAndASlowdownRegresses() throws {
        let dir = try CLI.temporaryDirectory()
        let a = try results(dir, "a", junit: true)
        let b = try results(dir, "b")
        let same = try CLI.run(["compare", a, b, "--junit", dir.appendingPathComponent("same.xml").path])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        XCTAssertTrue(same.stdout.contains("no regression"), same.stdout)
        XCTAssertFalse(same.stdout.contains("**regressed**"))
        let sameJUnit = try junitparser(dir.appendingPathComponent("same.xml").path)
        XCTAssertGreaterThan(sameJUnit.tests, 5)
        XCTAssertEqual(sameJUnit.failures, 0)

        // The run's own JUnit: checks and SLOs as test cases.
        let runJUnit = try junitparser(a + ".xml")
        XCTAssertEqual(runJUnit.tests, 3, "runs, requests_accounted, request_latency_p99")
        XCTAssertEqual(runJUnit.failures, 0)

        // 20% slower service: the latency regresses (exit 1), the limit's numbers are in the JUnit failure.
        let slow = try results(dir, "slow", ["stations.0.service={exponential: 1.2ms}"])
        let xml = dir.appendingPathComponent("slow.xml").path
        let regressed = try CLI.run(["compare", a, slow, "--junit", xml, "--format", "json"])
        XCTAssertEqual(regressed.status, 1, regressed.stdout + regressed.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(regressed.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(json["metrics"] as? [[String: Any]])
        let p99 = try XCTUnwrap(rows.first { $0["metric"] as? String == "request_latency" && $0["statistic"] as? String == "p99" })
        XCTAssertEqual(p99["verdict"] as? String, "regressed")
        XCTAssertEqual(p99["limit"] as? String, "+5%")
        XCTAssertEqual(rows.first { $0["metric"] as? String == "throughput_per_s" }?["verdict"] as? String, "unchanged")
        let parsed = try junitparser(xml)
        XCTAssertGreaterThanOrEqual(parsed.failures, 1)
        XCTAssertTrue(parsed.messages.contains { $0.contains("regressed:") && $0.contains("limit +5%") }, "\(parsed.messages)")

        // Faster: improved, exit 0.
        let fast = try results(dir, "fast", ["stations.0.service={exponential: 0.8ms}"])
        let improved = try CLI.run(["compare", a, fast])
        XCTAssertEqual(improved.status, 0, improved.stdout + improved.stderr)
        XCTAssertTrue(improved.stdout.contains("**improved**"), improved.stdout)
    }

    func testBaselineSaveAndCheck() throws {
        let dir = try CLI.temporaryDirectory()
        let a = try results(dir, "a")
        let saved = try CLI.run(["baseline", "save", "main", a], in: dir)
        XCTAssertEqual(saved.status, 0, saved.stderr)
        let file = dir.appendingPathComponent("baselines/main.json").path
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        XCTAssertEqual(json["format"] as? String, "faultline-baseline/1")
        XCTAssertEqual(json["seeds"] as? [Int], Array(1...8))
        let properties = try XCTUnwrap(json["properties"] as? [String: String])
        XCTAssertEqual(properties["scenario_hash"]?.count, 16)
        XCTAssertNotNil(properties["faultline_version"])
        XCTAssertNotNil(properties["host"])
        XCTAssertTrue(properties["regression"]?.contains("request_latency") ?? false)

        let b = try results(dir, "b")
        let check = try CLI.run(["baseline", "check", "main", b], in: dir)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let missing = try CLI.run(["baseline", "check", "nope", b], in: dir)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no baseline 'nope'"), missing.stderr)

        // An edited scenario file is another experiment: refused (2) unless allowed.
        let edited = try CLI.write(scenario.replacingOccurrences(of: "seeds: 8", with: "seeds: 8 # edited"), to: "edited.yaml", in: dir)
        let c = try results(dir, "c", scenarioFile: edited)
        let refused = try CLI.run(["baseline", "check", "main", c], in: dir)
        XCTAssertEqual(refused.status, 2, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("--allow-scenario-change"), refused.stderr)
        let allowed = try CLI.run(["baseline", "check", "main", c, "--allow-scenario-change"], in: dir)
        XCTAssertEqual(allowed.status, 0, allowed.stdout + allowed.stderr)
    }

    func testDifferentScenariosAndBadInputExit2() throws {
        let dir = try CLI.temporaryDirectory()
        let a = try results(dir, "a")
        let other = try CLI.write(scenario.replacingOccurrences(of: "name: cmp-probe", with: "name: other"), to: "other.yaml", in: dir)
        let b = try results(dir, "b", scenarioFile: other)
        let r = try CLI.run(["compare", a, b])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("different scenarios"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cmp-probe") && r.stderr.contains("other"), r.stderr)
        let nothing = try CLI.run(["compare", a, dir.appendingPathComponent("nothing").path])
        XCTAssertEqual(nothing.status, 2)
        let thresholds = try CLI.write("regression:\n  request_latency.p99: 5%\n", to: "t.yaml", in: dir)
        let badLimit = try CLI.run(["compare", a, a, "--thresholds", thresholds])
        XCTAssertEqual(badLimit.status, 2)
        XCTAssertTrue(badLimit.stderr.contains("t.yaml:2:"), badLimit.stderr)
        let unknown = try CLI.write("publish_latency.p99: +5%\n", to: "u.yaml", in: dir)
        let unknownMetric = try CLI.run(["compare", a, a, "--thresholds", unknown])
        XCTAssertEqual(unknownMetric.status, 2)
        XCTAssertTrue(unknownMetric.stderr.contains("publish_latency.p99"), unknownMetric.stderr)
    }
}
