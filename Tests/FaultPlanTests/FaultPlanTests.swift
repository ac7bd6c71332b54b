import FaultPlan
import Sampling
import Scenario
import XCTest

final class FaultPlanTests: XCTestCase {
    /// Five nodes in zones a, a, b, b, c; n3 crashed, n4 paused; stream orders on n1 (leader), n2, n3.
    func cluster() -> ClusterSnapshot {
        ClusterSnapshot(names: ["n1", "n2", "n3", "n4", "n5"], zones: ["a", "a", "b", "b", "c"],
                        conditions: [.running, .running, .crashed, .paused, .running],
                        streamLeaders: ["orders": 0], streamReplicas: ["orders": [0, 1, 2]], metadataLeader: 4)
    }

    func resolve(_ selector: Selector, seed: UInt64 = 1) -> [Int] {
        var rng = SeededGenerator(seed: seed).stream("faults")
        return SelectorResolution.resolve(selector, in: cluster(), &rng)
    }

    func testSelectorsResolveAgainstTheClusterAsItIsNow() {
        XCTAssertEqual(resolve(.node("n2")), [1])
        XCTAssertEqual(resolve(.node("nope")), [])
        XCTAssertEqual(resolve(.zone("b")), [2, 3])
        XCTAssertEqual(resolve(.leader("orders")), [0])
        XCTAssertEqual(resolve(.follower("orders")), [1, 2])
        XCTAssertEqual(resolve(.metadataLeader), [4])
        XCTAssertEqual(resolve(.crashed), [2])
        XCTAssertEqual(resolve(.paused), [3])
        XCTAssertEqual(resolve(.all), [0, 1, 2, 3, 4])
        XCTAssertEqual(resolve(.minority).count, 2)
        XCTAssertEqual(resolve(.majority).count, 3)
    }

    func testRandomNodeIsReproducibleFromTheRunSeedAndVariesAcrossSeeds() {
        for seed in UInt64(1)...20 {
            XCTAssertEqual(resolve(.randomNode, seed: seed), resolve(.randomNode, seed: seed))
        }
        let picks = Set((UInt64(1)...40).map { resolve(.randomNode, seed: $0)[0] })
        XCTAssertGreaterThan(picks.count, 2, "forty seeds should not all pick the same node or two")
    }

    func testCrashHitsOnlyLiveNodesAndItsUndoRestartsExactlyThose() {
        var rng = SeededGenerator(seed: 1)
        let planned = FaultPlanner.plan(.crash(.zone("b")), in: cluster(), &rng)
        // n3 is already down: crashing it again is nothing to undo later.
        guard case .crash(let hit) = planned.operations.first else { return XCTFail("\(planned.operations)") }
        XCTAssertEqual(hit, [3])
        XCTAssertEqual(planned.undo, .restart([3]))
        let pause = FaultPlanner.plan(.pause(.all), in: cluster(), &rng)
        XCTAssertEqual(pause.undo, .resume([0, 1, 4]), "only running nodes can be paused")
        XCTAssertNil(FaultPlanner.plan(.restart(.crashed), in: cluster(), &rng).undo)
    }

    func testIsolatingCutsTheSelectionOffFromEveryoneElse() {
        var rng = SeededGenerator(seed: 1)
        let planned = FaultPlanner.plan(.partition(.isolate(.leader("orders"))), in: cluster(), &rng)
        guard case .partition(let groups) = planned.operations.first else { return XCTFail("\(planned.operations)") }
        XCTAssertEqual(groups, [[0], [1, 2, 3, 4]])
        XCTAssertEqual(planned.undo, .healPartitions)
    }

    func testLinkFaultOnNemesisTargetsCutsThemOffBothWays() {
        var rng = SeededGenerator(seed: 1)
        let everywhere = Link(from: [], to: [], bothWays: false)
        let planned = FaultPlanner.plan(.loss(everywhere, probability: 0.5), in: cluster(), &rng, targets: [1])
        guard case .loss(let pairs, 0.5) = planned.operations.first else { return XCTFail("\(planned.operations)") }
        XCTAssertEqual(pairs.count, 8, "n2 ↔ each of the four others")
        XCTAssertTrue(pairs.contains(LinkPair(from: 1, to: 4)) && pairs.contains(LinkPair(from: 4, to: 1)))
        XCTAssertEqual(planned.undo, .clearLinks(pairs))
    }

    func testClockAndDiskFaultsAreUndoneFromWhatTheDriverSaved() {
        var rng = SeededGenerator(seed: 1)
        let planned = FaultPlanner.plan(.clock(.node("n1"), .offset(5)), in: cluster(), &rng)
        XCTAssertEqual(planned.undo, .restoreSaved)
        XCTAssertNil(planned.undo?.operation, "the driver restores its own saved clock")
    }

    func testTimelineOrdersOverlappingFaultsAndTheirUndos() {
        let faults = [
            FaultEvent(at: 1_000, action: .crash(.node("n1")), duration: 3_000),   // undo at 4000
            FaultEvent(at: 2_000, action: .pause(.node("n2")), duration: 1_000),   // undo at 3000
            FaultEvent(at: 4_000, action: .crash(.node("n3"))),                    // same time as the first undo
        ]
        var timeline = FaultTimeline(faults)
        var order: [String] = []
        while let (at, step) = timeline.next() {
            switch step {
            case .fault(let index):
                order.append("\(at) fault \(index)")
                timeline.fired(index: index, at: at, leftUndo: true)
            case .undo(let index):
                order.append("\(at) undo \(index)")
            case .nemesisStrike, .nemesisHeal:
                XCTFail("no nemesis in this timeline")
            }
        }
        // At 4000 the scheduled fault comes first: it was scheduled before the undo was.
        XCTAssertEqual(order, ["1000 fault 0", "2000 fault 1", "3000 undo 1", "4000 fault 2", "4000 undo 0"])
    }

    func testNemesisStrikesEveryIntervalUntilItsStopAndEachHealsAfterItsDuration() {
        let spec = NemesisSpec(interval: 3_000, duration: 1_500, start: 1_000, stop: 8_000, actions: [.crash])
        var rng = SeededGenerator(seed: 1).stream("nemesis.swarm")
        let plan = NemesisPlan(spec, &rng)
        let strikes = plan.strikeTimes(spec, runDuration: 20_000)
        XCTAssertEqual(strikes, [1_000, 4_000, 7_000])
        XCTAssertEqual(plan.strikeTimes(spec, runDuration: 5_000), [1_000, 4_000], "the run's end stops the nemesis too")
        var timeline = FaultTimeline([FaultEvent(at: 4_000, action: .pause(.node("n1")))], nemesisStrikes: strikes)
        var order: [String] = []
        while let (at, step) = timeline.next() {
            switch step {
            case .fault(let index): order.append("\(at) fault \(index)")
            case .undo: XCTFail("no fault with for:")
            case .nemesisStrike(let tick):
                order.append("\(at) strike \(tick)")
                // The second strike hit nothing: nothing to heal.
                timeline.struck(tick: tick, at: at, healAfter: tick == 1 ? nil : plan.duration)
            case .nemesisHeal(let tick): order.append("\(at) heal \(tick)")
            }
        }
        XCTAssertEqual(order, ["1000 strike 0", "2500 heal 0", "4000 fault 0", "4000 strike 1", "7000 strike 2", "8500 heal 2"])
    }

    func testNoUndoIsScheduledWhenAFaultLeftNothingToUndo() {
        var timeline = FaultTimeline([FaultEvent(at: 1, action: .crash(.node("gone")), duration: 5)])
        guard let first = timeline.next(), case .fault(let index) = first.step else { return XCTFail("no fault") }
        let at = first.at
        timeline.fired(index: index, at: at, leftUndo: false)
        XCTAssertNil(timeline.next())
    }
}
