import XCTest
import SimCore
@testable import Scenario

/// A scenario that uses every key; kept in step with the example in Scenarios/README.md.
let fullScenario = """
name: tokeninfo-overload
description: Tokeninfo under load with a slow node.
duration: 60s
warmup: 5s
seeds: 20
cluster:
  nodes: 3
  zones: [a, b]
  network:
    latency: {lognormal: {median: 0.4ms, p99: 2ms}}
    cross_zone: {add: 1ms}
    loss: 0.1%
    duplicate: 0.01
    bandwidth: 1Gbit/s
  disk: {write: 100us, fsync: {uniform: [1ms, 4ms]}, torn_writes: true, corruption: 1%}
  clients: {zone: b}
stations:
  - {name: tokeninfo, node: n1, servers: 4, service: {exponential: 2ms}, queue_limit: 100}
  - name: db
    node: n2
    service: {pareto: {scale: 1ms, shape: 1.5}}
workload:
  - requests: {station: tokeninfo, rate: 1500/s, timeout: 100ms, size: 512B, response_size: 1KiB, start: 0s, stop: 50s}
  - requests: {station: db, interarrival: {uniform: [1ms, 3ms]}}
  - requests: {station: db, rate: {constant: 100/s}}
faults:
  - {at: 40s, partition: [[n1, n2], [n3]], for: 10s}
  - {at: 20s, crash: station(tokeninfo), for: 5s}
  - {at: 20s, delay: {from: n1, to: zone(b), add: 10ms}}
  - {at: 30s, loss: {between: [n1, n2], probability: 10%}}
  - {at: 31s, clock: {node: n2, offset: -50ms}}
  - {at: 32s, clock: {node: n3, drift: 200ppm}}
  - {at: 33s, disk: {node: n1, slow_fsync: {exponential: 20ms}}, for: 2s}
  - {at: 34s, slowdown: {station: db, factor: 10x}, for: 5s}
  - {at: 35s, restart: crashed}
  - {at: 45s, partition: {from: [n1], to: [n2, n3]}}
  - {at: 46s, partition: minority, for: 1s}
  - {at: 47s, duplicate: {probability: 1%}}
  - {at: 48s, clock: {node: zone(a), jump: -1s}}
  - {at: 49s, pause: random-node, for: 1s}
  - {at: 50s, heal: }
  - {at: 51s, crash: station(tokeninfo)}
  - {at: 52s, crash: all}
nemesis: {interval: 10s, duration: 3s, start: 5s, stop: 50s, actions: [crash, partition], targets: minority}
checks: [requests_accounted, liveness_after_heal]
slos: {request_latency_p99: 50ms, error_rate: 1%, throughput_per_s_min: 900/s, timeout_rate_max: 0.5%}
"""

final class ScenarioLoaderTests: XCTestCase {
    func testFullScenarioRoundTrip() throws {
        let s = try ScenarioLoader.parse(yaml: fullScenario, file: "full.yaml")
        XCTAssertEqual(s.name, "tokeninfo-overload")
        XCTAssertEqual(s.description, "Tokeninfo under load with a slow node.")
        XCTAssertEqual(s.duration, 60 * Nanos.second)
        XCTAssertEqual(s.warmup, 5 * Nanos.second)
        XCTAssertEqual(s.seeds, 20)
        XCTAssertEqual(s.sourceFile, "full.yaml")

        let c = s.cluster
        XCTAssertEqual(c.nodes, [NodeSpec(name: "n1", zone: "a"), NodeSpec(name: "n2", zone: "b"), NodeSpec(name: "n3", zone: "a")])
        XCTAssertEqual(c.zones, ["a", "b"])
        XCTAssertEqual(c.clients, NodeSpec(name: "client", zone: "b"))
        XCTAssertEqual(c.network.latency, Distribution.lognormal(median: 400_000, p99: 2_000_000))
        XCTAssertEqual(c.network.crossZoneExtra, .constant(1_000_000))
        XCTAssertEqual(c.network.loss, 0.001, accuracy: 1e-12)
        XCTAssertEqual(c.network.duplicate, 0.01)
        XCTAssertEqual(c.network.bandwidthBytesPerSecond, 125e6)
        XCTAssertEqual(c.disk.write, .constant(100_000))
        XCTAssertEqual(c.disk.fsync, .uniform(low: 1e6, high: 4e6))
        XCTAssertTrue(c.disk.tornWrites)
        XCTAssertEqual(c.disk.corruption, 0.01)

        XCTAssertEqual(s.stations.count, 2)
        XCTAssertEqual(s.stations[0].name, "tokeninfo")
        XCTAssertEqual(s.stations[0].node, "n1")
        XCTAssertEqual(s.stations[0].servers, 4)
        XCTAssertEqual(s.stations[0].service, .exponential(mean: 2e6))
        XCTAssertEqual(s.stations[0].queueLimit, 100)
        XCTAssertEqual(s.stations[1].servers, 1)
        XCTAssertNil(s.stations[1].queueLimit)
        XCTAssertEqual(s.stations[1].service, .pareto(scale: 1e6, shape: 1.5))

        XCTAssertEqual(s.workload.count, 3)
        let w = s.workload[0]
        XCTAssertEqual(w.station, "tokeninfo")
        guard case .poisson(let rate) = w.arrivals else { return XCTFail("\(w.arrivals)") }
        XCTAssertEqual(rate, 1500)
        XCTAssertEqual(w.timeout, 100 * Nanos.millisecond)
        XCTAssertEqual(w.requestBytes, 512)
        XCTAssertEqual(w.responseBytes, 1024)
        XCTAssertEqual(w.start, 0)
        XCTAssertEqual(w.stop, 50 * Nanos.second)
        guard case .interarrival(.uniform(low: 1e6, high: 3e6)) = s.workload[1].arrivals else { return XCTFail() }
        guard case .constant(perSecond: 100) = s.workload[2].arrivals else { return XCTFail() }
        XCTAssertNil(s.workload[1].timeout)
        XCTAssertNil(s.workload[1].stop)

        // Sorted by time, stable for equal times (crash before delay at 20s).
        XCTAssertEqual(s.faults.map { $0.at / Nanos.second }, [20, 20, 30, 31, 32, 33, 34, 35, 40, 45, 46, 47, 48, 49, 50, 51, 52])
        XCTAssertEqual(s.faults.map(\.action.keyword), [
            "crash", "delay", "loss", "clock", "clock", "disk", "slowdown", "restart", "partition", "partition",
            "partition", "duplicate", "clock", "pause", "heal", "crash", "crash",
        ])
        guard case .crash(.station("tokeninfo")) = s.faults[0].action else { return XCTFail() }
        XCTAssertEqual(s.faults[0].duration, 5 * Nanos.second)
        XCTAssertEqual(s.faults[0].location, SourceLocation(file: "full.yaml", line: 28, column: 5))
        guard case .delay(let link, .constant(1e7)) = s.faults[1].action else { return XCTFail() }
        XCTAssertEqual(link.from, [.node("n1")])
        XCTAssertEqual(link.to, [.zone("b")])
        XCTAssertFalse(link.bothWays)
        guard case .loss(let lossLink, let p) = s.faults[2].action else { return XCTFail() }
        XCTAssertEqual(lossLink.from, [.node("n1")])
        XCTAssertEqual(lossLink.to, [.node("n2")])
        XCTAssertTrue(lossLink.bothWays)
        XCTAssertEqual(p, 0.1, accuracy: 1e-12)
        guard case .clock(.node("n2"), .offset(-50_000_000)) = s.faults[3].action else { return XCTFail() }
        guard case .clock(.node("n3"), .drift(ppm: 200)) = s.faults[4].action else { return XCTFail() }
        guard case .disk(.node("n1"), .slowFsync(.exponential(mean: 2e7))) = s.faults[5].action else { return XCTFail() }
        guard case .slowdown(station: "db", factor: 10) = s.faults[6].action else { return XCTFail() }
        guard case .restart(.crashed) = s.faults[7].action else { return XCTFail() }
        guard case .partition(.groups(let groups)) = s.faults[8].action else { return XCTFail() }
        XCTAssertEqual(groups, [[.node("n1"), .node("n2")], [.node("n3")]])
        XCTAssertEqual(s.faults[8].duration, 10 * Nanos.second)
        guard case .partition(.oneWay(from: [.node("n1")], to: [.node("n2"), .node("n3")])) = s.faults[9].action else {
            return XCTFail()
        }
        guard case .partition(.isolate(.minority)) = s.faults[10].action else { return XCTFail() }
        guard case .duplicate(let all, 0.01) = s.faults[11].action, all.from == [.all], all.bothWays else { return XCTFail() }
        guard case .clock(.zone("a"), .jump(-1_000_000_000)) = s.faults[12].action else { return XCTFail() }
        guard case .pause(.randomNode) = s.faults[13].action else { return XCTFail() }
        guard case .heal = s.faults[14].action else { return XCTFail() }
        XCTAssertNil(s.faults[14].duration)
        guard case .crash(.station("tokeninfo")) = s.faults[15].action else { return XCTFail() }
        guard case .crash(.all) = s.faults[16].action else { return XCTFail() }

        let n = try XCTUnwrap(s.nemesis)
        XCTAssertEqual(n.interval, 10 * Nanos.second)
        XCTAssertEqual(n.duration, 3 * Nanos.second)
        XCTAssertEqual(n.start, 5 * Nanos.second)
        XCTAssertEqual(n.stop, 50 * Nanos.second)
        XCTAssertEqual(n.actions, [.crash, .partition])
        XCTAssertEqual(n.targets, .minority)

        XCTAssertEqual(s.checks, ["requests_accounted", "liveness_after_heal"])
        XCTAssertEqual(s.slos, [
            SLOSpec(name: "request_latency_p99", metric: "request_latency", statistic: "p99", limit: 50),
            SLOSpec(name: "error_rate", metric: "error_rate", statistic: "mean", limit: 0.01),
            SLOSpec(name: "throughput_per_s_min", metric: "throughput_per_s", statistic: "min", limit: 900),
            SLOSpec(name: "timeout_rate_max", metric: "timeout_rate", statistic: "max", limit: 0.005),
        ])
    }

    func testDefaults() throws {
        let s = try ScenarioLoader.parse(yaml: "duration: 10s\n", file: "scenarios/minimal.yaml")
        XCTAssertEqual(s.name, "minimal")
        XCTAssertEqual(s.description, "")
        XCTAssertEqual(s.warmup, 0)
        XCTAssertEqual(s.seeds, 10)
        XCTAssertEqual(s.cluster.nodes, [NodeSpec(name: "n1", zone: "a")])
        XCTAssertEqual(s.cluster.zones, ["a"])
        XCTAssertEqual(s.cluster.clients, NodeSpec(name: "client", zone: "a"))
        XCTAssertEqual(s.cluster.network.latency, .constant(0))
        XCTAssertNil(s.cluster.network.crossZoneExtra)
        XCTAssertNil(s.cluster.network.bandwidthBytesPerSecond)
        XCTAssertEqual(s.cluster.disk.fsync, .constant(0))
        XCTAssertTrue(s.stations.isEmpty && s.workload.isEmpty && s.faults.isEmpty && s.checks.isEmpty && s.slos.isEmpty)
        XCTAssertNil(s.nemesis)
    }

    func testNamedNodesAndZones() throws {
        let s = try ScenarioLoader.parse(yaml: """
        duration: 1s
        cluster:
          nodes: [{name: db1, zone: b}, {name: db2}, db3]
          zones: [a, b]
        stations: [{name: s, node: db3, service: 1ms}]
        """, file: "n.yaml")
        XCTAssertEqual(s.cluster.nodes, [NodeSpec(name: "db1", zone: "b"), NodeSpec(name: "db2", zone: "b"), NodeSpec(name: "db3", zone: "a")])
        XCTAssertEqual(s.stations[0].node, "db3")
        let derived = try ScenarioLoader.parse(yaml: "duration: 1s\ncluster: {nodes: [{name: x, zone: east}, {name: y, zone: west}]}",
                                               file: "z.yaml")
        XCTAssertEqual(derived.cluster.zones, ["east", "west"])
    }

    func testLoadFromFileAndMissingFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("full.yaml").path
        try fullScenario.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try ScenarioLoader.load(path: path)
        XCTAssertEqual(s.sourceFile, path, "errors and results name the file as the user wrote it")
        XCTAssertEqual(s.faults.count, 17)

        let missing = dir.appendingPathComponent("nope.yaml").path
        XCTAssertThrowsError(try ScenarioLoader.load(path: missing)) { error in
            let text = (error as? ScenarioErrors)?.description ?? ""
            XCTAssertTrue(text.contains("nope.yaml:1:1: expected a readable scenario file, found no such file"), text)
        }
    }
}

/// The examples in Scenarios/README.md must stay valid.
final class ReadmeExampleTests: XCTestCase {
    private func yamlBlocks() throws -> [String] {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let readme = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scenarios/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        return text.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
    }

    func testReadmeExamplesParse() throws {
        let blocks = try yamlBlocks()
        XCTAssertGreaterThanOrEqual(blocks.count, 5)
        let full = try ScenarioLoader.parse(yaml: blocks[0], file: "README.md")
        XCTAssertEqual(full.faults.count, 9)
        XCTAssertEqual(full.slos.count, 3)
        // The other blocks are fragments: check each in a scenario that defines what they refer to.
        let context = """
        duration: 60s
        cluster: {nodes: 3, zones: [a, b]}
        stations: [{name: tokeninfo, service: 1ms}, {name: db, service: 1ms}]

        """
        for block in blocks.dropFirst() {
            if block.hasPrefix("name:") {
                // A complete scenario, parsed as it stands.
                XCTAssertNoThrow(try ScenarioLoader.parse(yaml: block, file: "README.md"), block)
            } else if block.hasPrefix("broker:") {
                XCTAssertNoThrow(try ScenarioLoader.parse(yaml: "duration: 1s\ncluster: {nodes: 5}\n" + block, file: "README.md"), block)
            } else if block.hasPrefix("hypothesis:") {
                // Checked around a method: a fault schedule with room before and after it.
                let method = "duration: 30s\ncluster: {nodes: 3}\nbroker: {streams: [{name: orders, replication_factor: 3}]}\n"
                    + "faults: [{at: 5s, crash: n1, for: 3s}]\n"
                XCTAssertNoThrow(try ScenarioLoader.parse(yaml: method + block, file: "README.md"), block)
            } else if block.hasPrefix("cluster:") {
                XCTAssertNoThrow(try ScenarioLoader.parse(yaml: "duration: 1s\n" + block, file: "README.md"), block)
            } else if block.hasPrefix("stations:") {
                XCTAssertNoThrow(try ScenarioLoader.parse(yaml: "duration: 1s\n" + block, file: "README.md"), block)
            } else {
                do {
                    _ = try ScenarioLoader.parse(yaml: context + block, file: "README.md")
                } catch {
                    XCTFail("\(error)\n\(block)")
                }
            }
        }
    }
}
