import XCTest
import Scenario
@testable import Shrink

/// The search, with a stand-in for the simulator: a candidate "fails" when a rule over its
/// validated scenario says so. The rule stands for a bug that needs two particular faults.
final class ShrinkerTests: XCTestCase {
    private let scenario = """
    name: shrink-me
    duration: 30s
    warmup: 1s
    cluster: {nodes: 5}
    broker:
      streams: [{name: orders, replication_factor: 3}]
    workload:
      - publish: { stream: orders, rate: 1000/s, size: 256B }
    faults:
      - { at: 3s, pause: n4, for: 2s }
      - { at: 5s, crash: n1, for: 4s }
      - { at: 6s, partition: n5, for: 1s }
      - { at: 7s, crash: n2, for: 3s }
      - { at: 9s, pause: n3, for: 2s }
      - { at: 12s, crash: n3, for: 1s }
      - { at: 15s, partition: n4, for: 1s }
      - { at: 20s, pause: n5, for: 1s }
    checks: [no_acknowledged_loss]
    """

    /// Fails when n1 and n2 are both crashed at some moment, each for at least 100 ms, with
    /// traffic, and at least 500 ms of run after the second crash.
    private func fails(_ source: ScenarioSource) -> Bool {
        guard let model = try? source.scenario(), model.publishes.first != nil else { return false }
        let crashes = model.faults.filter { $0.action.keyword == "crash" }
        func crash(_ node: String) -> FaultEvent? {
            crashes.first { if case .crash(.node(let n)) = $0.action { return n == node } else { return false } }
        }
        guard let a = crash("n1"), let b = crash("n2"), let da = a.duration, let db = b.duration,
              da >= 100_000_000, db >= 100_000_000 else { return false }
        let overlap = max(a.at, b.at) < min(a.at + da, b.at + db)
        return overlap && model.duration >= max(a.at, b.at) + 500_000_000
    }

    private func shrink() throws -> Shrinker.Result {
        let start = try ScenarioSource(yaml: scenario, file: "shrink-me.yaml")
        XCTAssertTrue(fails(start))
        var batches = 0
        var shrinker = Shrinker(start: start) { batch in
            batches += 1
            return batch.map { self.fails($0.source) }
        }
        let result = shrinker.run()
        XCTAssertGreaterThan(batches, 3)
        return result
    }

    func testShrinksToTheTwoFaultsThatMatterAndAShortRun() throws {
        let result = try shrink()
        let minimal = try result.minimal.scenario()
        XCTAssertTrue(fails(result.minimal), "the minimal scenario must still fail")
        XCTAssertEqual(minimal.faults.map(\.action.keyword), ["crash", "crash"])
        // n3…n5 named only by the faults removed: the cluster shrinks to the streams' need (RF 3).
        XCTAssertEqual(result.minimal.nodeCount, 3)
        XCTAssertEqual(result.removedFaults.count, 6)
        // Faults moved to the end of the warmup, the run cut to just after them.
        XCTAssertLessThanOrEqual(minimal.faults.map(\.at).min()!, 1_000_000_000 + 500_000_000)
        XCTAssertLessThan(minimal.duration, 10_000_000_000)
        XCTAssertLessThan(result.minimal.publishRates.first!, 1000)
        XCTAssertFalse(result.steps.isEmpty)
        XCTAssertTrue(result.steps.allSatisfy { !$0.change.isEmpty })
        // Each fault was shortened as far as the rule allows (≥ 100 ms), no further.
        for fault in minimal.faults { XCTAssertGreaterThanOrEqual(fault.duration!, 100_000_000) }
    }

    func testSameInputSameMinimalFile() throws {
        XCTAssertEqual(try shrink().minimal.yaml(), try shrink().minimal.yaml())
    }

    func testNothingToRemoveWhenEveryCandidatePasses() throws {
        let start = try ScenarioSource(yaml: scenario, file: "shrink-me.yaml")
        var shrinker = Shrinker(start: start) { batch in batch.map { _ in false } }
        let result = shrinker.run()
        XCTAssertTrue(result.steps.isEmpty)
        XCTAssertEqual(result.minimal.yaml(), start.yaml())
        XCTAssertGreaterThan(result.candidatesRun, 0)
    }
}
