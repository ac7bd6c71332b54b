import Foundation
import Sampling
import XCTest
@testable import Scenario

/// `ScenarioSource` writes back what it read (every shipped scenario), and its edits mean what
/// they say once the text is validated again.
final class ScenarioSourceTests: XCTestCase {
    private var scenariosDirectory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scenarios")
    }

    func testEveryShippedScenarioRoundTripsThroughItsYAML() throws {
        let files = FileManager.default.enumerator(at: scenariosDirectory, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
        XCTAssertGreaterThan(files.count, 20)
        for url in files {
            let source = try ScenarioSource.load(path: url.path)
            let written = source.yaml()
            let original = try ScenarioLoader.load(path: url.path)
            let reread = try ScenarioLoader.parse(yaml: written, file: url.lastPathComponent)
            XCTAssertEqual(reread.name, original.name, url.lastPathComponent)
            XCTAssertEqual(reread.duration, original.duration, url.lastPathComponent)
            XCTAssertEqual(reread.faults.map(\.at), original.faults.map(\.at), url.lastPathComponent)
            XCTAssertEqual(reread.faults.map(\.action.keyword), original.faults.map(\.action.keyword), url.lastPathComponent)
            XCTAssertEqual(reread.checks, original.checks, url.lastPathComponent)
            XCTAssertEqual(reread.publishes.count, original.publishes.count, url.lastPathComponent)
            XCTAssertEqual(reread.nemesis != nil, original.nemesis != nil, url.lastPathComponent)
            // Writing is stable: what was written reads back to the same text.
            XCTAssertEqual(try ScenarioSource(yaml: written, file: "again").yaml(), written, url.lastPathComponent)
        }
    }

    private let base = """
    name: edits
    duration: 20s
    warmup: 1s
    cluster: {nodes: 3}
    broker:
      streams: [{name: orders, replication_factor: 2, replicas: [n1, n2]}]
    workload:
      - publish: { stream: orders, rate: 2000/s, size: 256B }
    faults:
      - { at: 8s, crash: n1, for: 2s }
      - { at: 9s, pause: n2, for: 1s }
      - { at: 12s, partition: n3 }
    checks: [no_acknowledged_loss]
    """

    func testEditsAreWhatTheValidatedScenarioSays() throws {
        let source = try ScenarioSource(yaml: base, file: "base.yaml")
        XCTAssertEqual(source.faults.map(\.at), [8_000_000_000, 9_000_000_000, 12_000_000_000])
        XCTAssertEqual(source.faults.map(\.duration), [2_000_000_000, 1_000_000_000, nil])
        XCTAssertEqual(source.publishRates, [2000])

        let edited = source.removingFaults([1]).shiftingFaults(earlierBy: 7_500_000_000)
            .settingFaultDuration(0, to: 250_000_000).with(duration: 6_000_000_000).scalingPublishRates(by: 0.25).with(seeds: 7)
        let scenario = try edited.scenario()
        XCTAssertEqual(scenario.faults.map(\.at), [500_000_000, 4_500_000_000])
        XCTAssertEqual(scenario.faults.map(\.duration), [250_000_000, nil])
        XCTAssertEqual(scenario.faults.map(\.action.keyword), ["crash", "partition"])
        XCTAssertEqual(scenario.duration, 6_000_000_000)
        XCTAssertEqual(scenario.seeds, 7)
        XCTAssertEqual(edited.publishRates, [500])
        // The original is untouched (edits return new values).
        XCTAssertEqual(try source.scenario().faults.count, 3)
    }

    func testStructuralEdits() throws {
        let two = base.replacingOccurrences(of: "streams: [{name: orders, replication_factor: 2, replicas: [n1, n2]}]",
                                            with: "streams: [{name: orders, replication_factor: 2, replicas: [n1, n2]}, {name: audit, replication_factor: 1}]")
            .replacingOccurrences(of: "  - publish: { stream: orders, rate: 2000/s, size: 256B }",
                                  with: "  - publish: { stream: orders, rate: 2000/s, size: 256B }\n  - publish: { stream: audit, rate: 10/s, size: 64B }")
        let source = try ScenarioSource(yaml: two, file: "two.yaml")
        XCTAssertEqual(source.streamNames, ["orders", "audit"])
        XCTAssertEqual(source.workloadCount, 2)
        XCTAssertEqual(source.nodeCount, 3)
        let noAudit = try source.removingStream("audit").scenario()
        XCTAssertEqual(noAudit.broker?.streams.map(\.name), ["orders"])
        XCTAssertEqual(noAudit.publishes.map(\.stream), ["orders"])
        XCTAssertEqual(try source.removingWorkload(0).scenario().publishes.map(\.stream), ["audit"])
        // n3 is named by a fault: two nodes no longer validate; without that fault they do.
        XCTAssertThrowsError(try source.withOneNodeFewer().scenario())
        XCTAssertEqual(try source.removingFaults([2]).withOneNodeFewer().scenario().cluster.nodes.count, 2)
    }

    func testCompareAxesCanBeDropped() throws {
        let source = try ScenarioSource(yaml: base + "\ncompare: {broker.ack_policy: [all, leader]}\n", file: "axes.yaml")
        XCTAssertTrue(source.hasCompareAxes)
        XCTAssertFalse(source.withoutCompareAxes().hasCompareAxes)
        XCTAssertTrue(try source.withoutCompareAxes().scenario().compare.isEmpty)
    }

    func testOverridesAreBakedIntoTheText() throws {
        let source = try ScenarioSource(yaml: base, file: "base.yaml", overrides: ["broker.truncation=high-watermark"])
        XCTAssertTrue(source.yaml().contains("truncation: high-watermark"))
        XCTAssertEqual(try source.scenario().broker?.truncation, .highWatermark)
    }

    func testBadInputIsTheLoadersError() {
        XCTAssertThrowsError(try ScenarioSource(yaml: "duration: ten\n", file: "bad.yaml")) { error in
            XCTAssertTrue("\(error)".contains("bad.yaml:1:"), "\(error)")
        }
    }

    func testNemesisStrikesBecomeExplicitFaults() throws {
        let withNemesis = base + """

        nemesis: {interval: 2s, duration: 1s, start: 2s, actions: [crash, partition], targets: random-node}
        """
        let source = try ScenarioSource(yaml: withNemesis, file: "nemesis.yaml")
        XCTAssertTrue(source.hasNemesis)
        let everywhere = Link(from: [], to: [], bothWays: true)
        let strikes = [
            MaterialisedFault(at: 2_000_000_000, action: .crash(.all), targets: ["n1", "n3"], others: ["n2"], duration: 1_000_000_000),
            MaterialisedFault(at: 4_000_000_000, action: .partition(.isolate(.all)), targets: ["n2"], others: ["n1", "n3"], duration: 1_000_000_000),
            MaterialisedFault(at: 6_000_000_000, action: .delay(everywhere, extra: .exponential(mean: 12_345_678.9)), targets: ["n1"],
                              others: ["n2", "n3"], duration: 1_000_000_000),
            MaterialisedFault(at: 8_000_000_000, action: .loss(everywhere, probability: 0.123456789), targets: ["n3"], others: ["n1", "n2"],
                              duration: 1_000_000_000),
            MaterialisedFault(at: 10_000_000_000, action: .clock(.all, .offset(-56_504_307)), targets: ["n2"], others: ["n1", "n3"],
                              duration: 1_000_000_000),
            MaterialisedFault(at: 12_000_000_000, action: .disk(.all, .slowFsync(.uniform(low: 2.5e6, high: 7.25e6))), targets: ["n1"],
                              others: ["n2", "n3"], duration: nil),
        ]
        let explicit = try XCTUnwrap(source.materialisingNemesis(strikes))
        XCTAssertFalse(explicit.hasNemesis)
        let scenario = try explicit.scenario()
        XCTAssertNil(scenario.nemesis)
        // The file's own 3 faults, then the crash as one entry per node, and one entry per other strike.
        XCTAssertEqual(scenario.faults.count, 3 + 2 + 5)
        let own: Set<String> = ["8000000000 crash", "9000000000 pause", "12000000000 partition"]
        let drawn = scenario.faults.filter { !own.contains("\($0.at) \($0.action.keyword)") }
        XCTAssertEqual(drawn.map(\.action.keyword), ["crash", "crash", "partition", "delay", "loss", "clock", "disk"])
        for fault in scenario.faults {
            switch fault.action {
            case .delay(let link, .exponential(let mean)):
                XCTAssertEqual(mean, 12_345_678.9)  // exact, not rounded
                XCTAssertTrue(link.bothWays)
            case .loss(_, let p): XCTAssertEqual(p, 0.123456789)
            case .clock(.node(let n), .offset(let offset)):
                XCTAssertEqual(n, "n2")
                XCTAssertEqual(offset, -56_504_307)
            case .disk(.node(let n), .slowFsync(.uniform(let low, let high))):
                XCTAssertEqual(n, "n1")
                XCTAssertEqual(low, 2.5e6)
                XCTAssertEqual(high, 7.25e6)
                XCTAssertNil(fault.duration)
            default: break
            }
        }
        // An action a nemesis never draws has no explicit form: nothing is written.
        let odd = MaterialisedFault(at: 1, action: .heal, targets: [], others: [], duration: nil)
        XCTAssertNil(source.materialisingNemesis([odd]))
    }
}
