import XCTest
@testable import Scenario

func scenarioErrors(_ yaml: String, file: String = "bad.yaml", overrides: [String] = [],
                    line: UInt = #line) -> [ScenarioError] {
    do {
        _ = try ScenarioLoader.parse(yaml: yaml, file: file, overrides: overrides)
        XCTFail("expected errors", line: line)
        return []
    } catch {
        return error.errors
    }
}

final class ScenarioErrorTests: XCTestCase {
    private let base = """
    duration: 10s
    cluster: {nodes: 3}
    stations:
      - name: tokeninfo
        node: n1
        servers: 2
        service: {exponential: 2ms}

    """

    func testDuplicateKeyIsReportedNotSilentlyOverwritten() {
        let errors = scenarioErrors("""
        duration: 10s
        stations:
          - name: tokeninfo
            servers: 2
            servers: 4
            service: 1ms
        """)
        // Yams rejects the second key while composing; the error keeps its position.
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].location.file, "bad.yaml")
        XCTAssertEqual(errors[0].location.line, 4)
        XCTAssertTrue(errors[0].found.contains("duplicate key 'servers'"), errors[0].found)
    }

    func testFsyncErrorIsADiskFaultThatTakesABool() throws {
        let s = try ScenarioLoader.parse(yaml: base + "faults: [{at: 1s, disk: {node: n2, fsync_error: true}, for: 2s}]", file: "ok.yaml")
        guard case .disk(.node("n2"), .fsyncError(true)) = s.faults[0].action else { return XCTFail("\(s.faults[0].action)") }
        XCTAssertEqual(s.faults[0].duration, 2_000_000_000)

        let errors = scenarioErrors(base + "faults: [{at: 1s, disk: {node: n2, fsync_error: sometimes}}]")
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].location.line, 8)
        XCTAssertTrue(errors[0].keyPath.contains("fsync_error"), errors[0].keyPath)
    }

    func testBandwidthIsALinkFaultWithARate() throws {
        let s = try ScenarioLoader.parse(yaml: base + "faults: [{at: 1s, bandwidth: {from: n1, to: [n2, n3], rate: 10Mbit/s}, for: 2s}]", file: "ok.yaml")
        guard case .bandwidth(let link, let rate) = s.faults[0].action else { return XCTFail("\(s.faults[0].action)") }
        XCTAssertEqual(link.from, [.node("n1")])
        XCTAssertEqual(link.to, [.node("n2"), .node("n3")])
        XCTAssertEqual(rate, 1.25e6)
        XCTAssertEqual(s.faults[0].action.keyword, "bandwidth")

        let zero = scenarioErrors(base + "faults: [{at: 1s, bandwidth: {between: [n1, n2], rate: 0MB/s}}]")
        XCTAssertEqual(zero.count, 1)
        XCTAssertTrue(zero[0].keyPath.contains("rate"), zero[0].keyPath)
        XCTAssertTrue(zero[0].expected.contains("positive bandwidth"), zero[0].expected)
        let missing = scenarioErrors(base + "faults: [{at: 1s, bandwidth: {between: [n1, n2]}}]")
        XCTAssertEqual(missing.count, 1)
    }

    func testTypoKeyWithDidYouMean() {
        let errors = scenarioErrors("""
        duration: 10s
        stations:
          - name: tokeninfo
            sevrers: 2
            service: 1ms
        """)
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 4, column: 5))
        XCTAssertEqual(errors[0].keyPath, "stations[0].sevrers")
        XCTAssertEqual(errors[0].found, "unknown key 'sevrers'")
        XCTAssertEqual(errors[0].hint, "did you mean 'servers'?")
        XCTAssertEqual(errors[0].description,
                       "bad.yaml:4:5: stations[0].sevrers: expected one of the keys name, node, servers, service, "
                       + "queue_limit, found unknown key 'sevrers' (did you mean 'servers'?)")
    }

    func testTopLevelTypo() {
        let errors = scenarioErrors("duraton: 10s\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:1:1: duraton: expected one of the keys name, description, duration, warmup, seeds, cluster, "
                + "broker, services, auth, organisation, accounts, stations, workload, faults, nemesis, checks, slos, compare, live, "
                + "hypothesis, rollbacks, regression, timeseries, found unknown key 'duraton' (did you mean 'duration'?)",
            "bad.yaml:1:1: duration: expected a positive duration such as 60s, found no 'duration' key ('duration' is required)",
        ])
    }


    func testMissingUnit() {
        let errors = scenarioErrors("duration: 10\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:1:11: duration: expected a duration with a unit such as 10ms, found '10' (units: ns, us, ms, s, m, h)",
        ])
    }

    func testNegativeRate() {
        let errors = scenarioErrors(base + """
        workload:
          - requests: {station: tokeninfo, rate: -5/s}
        """)
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors[0].description,
                       "bad.yaml:9:42: workload[0].requests.rate: expected a non-negative rate such as 2000/s, found '-5/s'")
        let zero = scenarioErrors(base + "workload: [{requests: {station: tokeninfo, rate: {poisson: 0/s}}}]")
        XCTAssertEqual(zero.first?.keyPath, "workload[0].requests.rate.poisson")
        XCTAssertEqual(zero.first?.expected, "a positive rate such as 2000/s")
    }

    func testMalformedYAML() {
        let errors = scenarioErrors("duration: 10s\nstations:\n  - name: [oops\n    node: n1\n")
        XCTAssertEqual(errors.count, 1)
        let text = errors[0].description
        XCTAssertTrue(text.hasPrefix("bad.yaml:"), text)
        XCTAssertTrue(text.contains("expected well-formed YAML, found"), text)
        XCTAssertGreaterThanOrEqual(errors[0].location.line, 3)

        let tab = scenarioErrors("duration: 10s\n\tname: x\n")
        XCTAssertEqual(tab.first?.location.line, 2)
        let duplicate = scenarioErrors("duration: 10s\nduration: 20s\n")
        XCTAssertTrue(duplicate.first?.description.contains("found duplicate key 'duration'") ?? false, "\(duplicate)")
        XCTAssertTrue(scenarioErrors("- just\n- a list\n").first?.description.contains("bad.yaml:1:1: expected a mapping of scenario keys") ?? false)
    }

    func testUnknownNodeInSelector() {
        let errors = scenarioErrors(base + """
        faults:
          - {at: 1s, crash: n7}
          - {at: 2s, partition: [[n1, n2], [nn3]]}
          - {at: 3s, crash: zone(z)}
          - {at: 4s, crash: station(tokenifo)}
          - {at: 5s, crash: randomnode}
        """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:9:21: faults[0].crash: expected a node of the cluster (n1, n2, n3) or a selector keyword, found unknown node 'n7' (did you mean 'n1'?)",
            "bad.yaml:10:37: faults[1].partition[1][0]: expected a node of the cluster (n1, n2, n3) or a selector keyword, found unknown node 'nn3' (did you mean 'n3'?)",
            "bad.yaml:11:21: faults[2].crash: expected a zone of the cluster (a), found unknown zone 'z'",
            "bad.yaml:12:21: faults[3].crash: expected a station (tokeninfo), found unknown station 'tokenifo' (did you mean 'tokeninfo'?)",
            "bad.yaml:13:21: faults[4].crash: expected a node of the cluster (n1, n2, n3) or a selector keyword, found unknown node 'randomnode' (did you mean 'random-node'?)",
        ])
    }

    func testStationOnUnknownNodeAndWrongTypes() {
        let errors = scenarioErrors("""
        duration: 10s
        seeds: many
        cluster: {nodes: 2}
        stations:
          - {name: a, node: n9, servers: -3, service: {exponential: 2ms}}
          - {name: b, service: 1ms, queue_limit: [1]}
        workload: {requests: {}}
        """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:2:8: seeds: expected a positive integer, found 'many'",
            "bad.yaml:5:21: stations[0].node: expected a node of the cluster (n1, n2), found 'n9' (did you mean 'n1'?)",
            "bad.yaml:5:34: stations[0].servers: expected a positive integer, found '-3'",
            "bad.yaml:6:42: stations[1].queue_limit: expected a non-negative integer, or unbounded, found a list",
            "bad.yaml:7:11: workload: expected a list of workload entries such as - requests: {…}, found a mapping",
        ])
    }

    func testForOnActionsThatCannotBeUndone() {
        let errors = scenarioErrors(base + """
        faults:
          - {at: 1s, restart: all, for: 5s}
          - {at: 2s, heal: , for: 5s}
          - {at: 3s, resume: paused, for: 1s}
          - {at: 4s, clock: {node: n1, jump: 1s}, for: 1s}
          - {at: 5s, pause: n1, for: 0s}
        """)
        XCTAssertEqual(errors.map(\.keyPath), ["faults[0].for", "faults[1].for", "faults[2].for", "faults[3].for", "faults[4].for"])
        XCTAssertEqual(errors[0].description,
                       "bad.yaml:9:33: faults[0].for: expected no 'for:' on restart (it cannot be undone), found '5s' "
                       + "(only crash, pause, partition, delay, loss, duplicate, bandwidth, clock, disk, slowdown, suspend, bad-change, "
                       + "compromise, region-outage and api-storm can be undone)")
        XCTAssertEqual(errors[4].expected, "a positive duration such as 10ms")
    }

    func testMultipleErrorsAreCollectedAndSorted() {
        let errors = scenarioErrors("""
        duration: 10s
        warmup: 20s
        cluster: {nodes: 2, zones: [a, b], network: {loss: 150%}}
        stations:
          - {name: s, node: n1, service: {uniform: [3ms, 1ms]}}
        workload:
          - requests: {station: t, rate: 100}
        checks: [requests_acounted]
        slos: {request_latncy_p99: 50ms, error_rate: 2}
        """)
        XCTAssertEqual(errors.map(\.location.line), [2, 3, 5, 7, 7, 8, 9, 9])
        let text = ScenarioErrors(errors).description
        XCTAssertTrue(text.contains("bad.yaml:2:9: warmup: expected a warm-up shorter than the duration (10000ms), found '20s'"), text)
        XCTAssertTrue(text.contains("cluster.network.loss: expected a probability between 0 and 1 or a percentage such as 1%, found '150%'"), text)
        XCTAssertTrue(text.contains("stations[0].service.uniform: expected low ≤ high, found low 3ms > high 1ms"), text)
        XCTAssertTrue(text.contains("workload[0].requests.station: expected a station from stations (s), found 't'"), text)
        XCTAssertTrue(text.contains("bad.yaml:7:34: workload[0].requests.rate: expected a rate with a time unit such as 2000/s, found '100' (write 100/s for per second)"), text)
        XCTAssertTrue(text.contains("checks[0]: expected one of the checks requests_accounted, liveness_after_heal, "), text)
        XCTAssertTrue(text.contains("found unknown check 'requests_acounted' (did you mean 'requests_accounted'?)"), text)
        XCTAssertTrue(text.contains("bad.yaml:9:8: slos.request_latncy_p99: expected a known metric"), text)
        XCTAssertTrue(text.contains("(did you mean 'request_latency'?)"), text)
        XCTAssertTrue(text.contains("slos.error_rate: expected a probability between 0 and 1"), text)
    }

    func testFaultShapeErrors() {
        let errors = scenarioErrors(base + """
        faults:
          - {crash: n1}
          - {at: 1s}
          - {at: 1s, crash: n1, pause: n2}
          - {at: 1s, partition: [[n1]]}
          - {at: 1s, loss: {between: [n1, n2], probability: 2}}
          - {at: 1s, slowdown: {station: tokeninfo, factor: 0}}
        """)
        XCTAssertEqual(errors.map(\.keyPath), [
            "faults[0].at", "faults[1]", "faults[2]", "faults[3].partition", "faults[4].loss.probability",
            "faults[5].slowdown.factor",
        ])
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 9, column: 5))
        XCTAssertEqual(errors[2].found, "'crash' and 'pause'")
    }

    func testNemesisErrors() {
        let errors = scenarioErrors(base + "nemesis: {interval: 0s, duration: 1s, actions: [crash, partiton], targets: zone(q)}")
        XCTAssertEqual(errors.map(\.keyPath), ["nemesis.interval", "nemesis.actions[1]", "nemesis.targets"])
        XCTAssertEqual(errors[1].hint, "did you mean 'partition'?")
    }

    func testGarbageNeverCrashes() {
        let inputs = ["{", "[", ":", "- - -", "a: &x [*x]", "k: *undefined", "\"unterminated", "a: b: c", "? [a]\n: b",
                      "", "# nothing\n", "duration: 1s\n---\nname: x\n", "\u{0}\u{1}", "duration: [1s]", "duration: {a: 1}",
                      "cluster: 7\nduration: 1s", "faults: [1, [2], {}]\nduration: 1s", "slos: [a]\nduration: 1s"]
        for input in inputs {
            let errors = scenarioErrors(input, file: "g.yaml")
            XCTAssertFalse(errors.isEmpty, input)
            XCTAssertTrue(errors.allSatisfy { $0.description.hasPrefix("g.yaml:") }, "\(errors)")
        }
        let alias = scenarioErrors("k: *undefined")
        XCTAssertEqual(alias.first?.description, "bad.yaml:1:4: expected well-formed YAML, found undefined alias")
    }

    func testAliasBombIsBounded() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
            yaml += "a\(i): &a\(i) [\(refs)]\n"
        }
        let errors = scenarioErrors(yaml)
        XCTAssertEqual(errors.first?.expected, "at most 1000000 YAML nodes")
    }
}

final class SelectorTests: XCTestCase {
    func testTextForms() {
        let forms: [(String, Selector)] = [
            ("n1", .node("n1")), ("zone(a)", .zone("a")), ("random-node", .randomNode), ("minority", .minority),
            ("majority", .majority), ("all", .all), ("crashed", .crashed), ("paused", .paused),
            ("station(tokeninfo)", .station("tokeninfo")), ("leader(orders)", .leader("orders")),
            ("account(payments)", .account("payments")),
        ]
        for (text, selector) in forms {
            XCTAssertEqual(Selector(parsing: text), selector, text)
            XCTAssertEqual(selector.description, text)
        }
        for bad in ["zone()", "zon(a)", "[n1]", "n1, n2", ""] {
            XCTAssertNil(Selector(parsing: bad), bad)
        }
    }

    func testReservedNodeNames() {
        let errors = scenarioErrors("duration: 1s\ncluster: {nodes: [all, client, 'a b', ok]}")
        XCTAssertEqual(errors.map(\.keyPath), ["cluster.nodes[0]", "cluster.nodes[1]", "cluster.nodes[2]"])
    }
}

final class MisspeltActionTests: XCTestCase {
    func testMisspeltActionIsOneError() {
        let errors = scenarioErrors("duration: 1s\ncluster: {nodes: 2}\nfaults:\n  - {at: 1s, crsh: n1}\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:4:14: faults[0].crsh: expected one of the keys at, for, crash, restart, pause, resume, partition, "
                + "heal, delay, loss, duplicate, bandwidth, reset, clock, disk, slowdown, suspend, bad-change, compromise, region-outage, api-storm, "
                + "found unknown key 'crsh' (did you mean 'crash'?)",
        ])
    }
}

final class LiveSectionTests: XCTestCase {
    private func load(_ yaml: String) throws -> Scenario {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try ScenarioLoader.load(path: url.path)
    }

    func testLiveSettingsAreRead() throws {
        let s = try load("duration: 5s\nlive: { connections: 8, max_in_flight: 64, nats: true, jetstream_replicas: 1, drain: 2s }\n")
        XCTAssertEqual(s.live, LiveSpec(connections: 8, maxInFlight: 64, nats: true, jetstreamReplicas: 1, drain: 2_000_000_000))
        XCTAssertNil(try load("duration: 5s\n").live)
    }

    func testBadLiveSettingsAreReportedAtTheirKey() {
        XCTAssertThrowsError(try load("duration: 5s\nlive: { connections: 0, jetstream_replicas: 2, conections: 3 }\n")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("live.connections"), text)
            XCTAssertTrue(text.contains("live.jetstream_replicas: expected 1, 3 or 5"), text)
            XCTAssertTrue(text.contains("unknown key 'conections'"), text)
        }
    }
}
