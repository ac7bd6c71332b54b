import XCTest
@testable import SimCore

final class NetworkTests: XCTestCase {
    let ms = Nanos.millisecond

    func makeNetwork(
        nodes: Int = 3, _ link: LinkConfig = LinkConfig(), seed: UInt64 = 42
    ) -> NetworkModel {
        NetworkModel(nodeCount: nodes, defaultLink: link, rng: SeededGenerator(seed: seed).stream("network"))
    }

    func testLocalMessagesAreInstantAndNeverDropped() {
        var net = makeNetwork(LinkConfig(latency: .constant(5e6), loss: 1))
        net.partition(groups: [[0], [1, 2]])
        let t = net.transmit(from: 1, to: 1, bytes: 100, now: 7)
        XCTAssertEqual(t, Transmission(first: 7))
        XCTAssertTrue(net.isReachable(from: 0, to: 0))
    }

    func testLatencyIsDrawnFromTheDistribution() {
        var net = makeNetwork(LinkConfig(latency: .exponential(mean: 2e6)))
        var total = 0.0
        let n = 20_000
        for _ in 0..<n {
            let t = net.transmit(from: 0, to: 1, bytes: 1, now: 1_000)
            total += Double(t.first! - 1_000)
        }
        // Standard error of the mean for an exponential is mean/sqrt(n) ≈ 0.7 %; allow 4 %.
        XCTAssertEqual(total / Double(n), 2e6, accuracy: 2e6 * 0.04)
    }

    func testConstantLatency() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(3 * ms))))
        XCTAssertEqual(net.transmit(from: 0, to: 2, bytes: 10, now: 100).first, 100 + 3 * ms)
    }

    func testLossRateMatchesConfiguration() {
        var net = makeNetwork(LinkConfig(loss: 0.2))
        var lost = 0
        let n = 20_000
        for _ in 0..<n {
            let t = net.transmit(from: 0, to: 1, bytes: 1, now: 0)
            if t.dropReason == .lost { lost += 1; XCTAssertNil(t.first) }
        }
        XCTAssertEqual(Double(lost) / Double(n), 0.2, accuracy: 0.015)
        XCTAssertEqual(net.stats.lost, UInt64(lost))
        XCTAssertEqual(net.stats.sent, UInt64(n))
        XCTAssertEqual(net.stats.deliveriesScheduled, UInt64(n - lost))
    }

    func testDuplicatesProduceTwoIndependentArrivals() {
        var net = makeNetwork(LinkConfig(latency: .uniform(low: 1e6, high: 9e6), duplicate: 1))
        var differing = 0
        for _ in 0..<100 {
            let t = net.transmit(from: 0, to: 1, bytes: 1, now: 0)
            XCTAssertNotNil(t.first)
            XCTAssertNotNil(t.second)
            XCTAssertEqual(t.arrivalCount, 2)
            if t.first != t.second { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 90, "the copy draws its own latency")
        XCTAssertEqual(net.stats.duplicated, 100)
        XCTAssertEqual(net.stats.deliveriesScheduled, 200)

        var rare = makeNetwork(LinkConfig(duplicate: 0.1))
        var copies = 0
        for _ in 0..<10_000 where rare.transmit(from: 0, to: 1, bytes: 1, now: 0).second != nil { copies += 1 }
        XCTAssertEqual(Double(copies) / 10_000, 0.1, accuracy: 0.015)
    }

    func testReorderingEmergesFromWideLatencyOnly() {
        func outOfOrder(_ latency: Distribution) -> Int {
            var net = makeNetwork(LinkConfig(latency: latency))
            var previous: VirtualTime = -1
            var inversions = 0
            for i in 0..<1_000 {
                let arrival = net.transmit(from: 0, to: 1, bytes: 1, now: VirtualTime(i) * 100_000).first!
                if arrival < previous { inversions += 1 }
                previous = arrival
            }
            return inversions
        }
        XCTAssertGreaterThan(outOfOrder(.exponential(mean: 1e6)), 0)
        XCTAssertEqual(outOfOrder(.constant(1e6)), 0)
    }

    func testSymmetricPartitionGroups() {
        var net = makeNetwork(nodes: 5)
        net.partition(groups: [[0, 1], [2, 3]])
        XCTAssertTrue(net.isReachable(from: 0, to: 1))
        XCTAssertTrue(net.isReachable(from: 3, to: 2))
        XCTAssertFalse(net.isReachable(from: 0, to: 2))
        XCTAssertFalse(net.isReachable(from: 2, to: 0))
        XCTAssertFalse(net.isReachable(from: 1, to: 3))
        // Node 4 is in no group: it keeps talking to everyone.
        for other in 0..<4 {
            XCTAssertTrue(net.isReachable(from: 4, to: other))
            XCTAssertTrue(net.isReachable(from: other, to: 4))
        }
        let t = net.transmit(from: 0, to: 3, bytes: 1, now: 0)
        XCTAssertEqual(t, .dropped(.partitioned))
        XCTAssertEqual(net.stats.partitioned, 1)

        net.healPartitions()
        XCTAssertTrue(net.isReachable(from: 0, to: 2))
        XCTAssertNotNil(net.transmit(from: 0, to: 3, bytes: 1, now: 0).first)
    }

    func testOverlappingPartitionsAndANodeInTwoGroups() {
        var net = makeNetwork(nodes: 5)
        // Node 1 sits in both groups: it is cut off from 0 and from 2, but not from itself.
        net.partition(groups: [[0, 1], [1, 2]])
        XCTAssertFalse(net.isReachable(from: 1, to: 0))
        XCTAssertFalse(net.isReachable(from: 1, to: 2))
        XCTAssertFalse(net.isReachable(from: 0, to: 2))
        XCTAssertTrue(net.isReachable(from: 1, to: 1))
        XCTAssertTrue(net.isReachable(from: 3, to: 1))
        // A second partition adds to the first.
        net.partition(groups: [[3], [4]])
        XCTAssertFalse(net.isReachable(from: 4, to: 3))
        XCTAssertFalse(net.isReachable(from: 0, to: 2))
        XCTAssertTrue(net.isReachable(from: 0, to: 3))
        net.healPartitions()
        XCTAssertTrue(net.isReachable(from: 4, to: 3))
        XCTAssertTrue(net.isReachable(from: 0, to: 2))
    }

    func testLargeNetworksCostMemoryByNodesNotByLinks() {
        // 200,000 processes (a big call graph): a dense link matrix would need 4·10^10 entries.
        let n = 200_000
        var net = makeNetwork(nodes: n, LinkConfig(latency: .constant(Double(ms))))
        net.partition(groups: [[0], Array(1..<n)])
        net.addDelay(from: 5, to: n - 1, extra: .constant(Double(ms)))
        XCTAssertEqual(net.transmit(from: 0, to: n - 1, bytes: 1, now: 0).dropReason, .partitioned)
        XCTAssertEqual(net.transmit(from: 5, to: n - 1, bytes: 1, now: 0).first, 2 * ms)
        XCTAssertEqual(net.transmit(from: 6, to: n - 1, bytes: 1, now: 0).first, ms)
    }

    func testOneWayBlockAndHeal() {
        var net = makeNetwork(nodes: 3)
        net.block(from: [0], to: [1, 2])
        XCTAssertFalse(net.isReachable(from: 0, to: 1))
        XCTAssertFalse(net.isReachable(from: 0, to: 2))
        XCTAssertTrue(net.isReachable(from: 1, to: 0))
        XCTAssertTrue(net.isReachable(from: 2, to: 0))
        XCTAssertTrue(net.isReachable(from: 1, to: 2))
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).dropReason, .partitioned)
        XCTAssertNotNil(net.transmit(from: 1, to: 0, bytes: 1, now: 0).first)

        // In-flight check at arrival time.
        XCTAssertFalse(net.admitArrival(from: 0, to: 2))
        XCTAssertEqual(net.stats.droppedInFlight, 1)
        net.healPartitions()
        XCTAssertTrue(net.admitArrival(from: 0, to: 2))
    }

    func testDelayFaultStacksAndClears() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(ms))))
        net.addDelay(from: 0, to: 1, extra: .constant(Double(10 * ms)))
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).first, 11 * ms)
        XCTAssertEqual(net.transmit(from: 1, to: 0, bytes: 1, now: 0).first, ms, "one direction only")
        net.addDelay(from: 0, to: 1, extra: .constant(Double(5 * ms)))
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).first, 16 * ms)
        net.clearLinkFaults(from: 0, to: 1)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).first, ms)

        net.addDelay(from: 2, to: 1, extra: .constant(Double(ms)))
        net.clearAllLinkFaults()
        XCTAssertEqual(net.transmit(from: 2, to: 1, bytes: 1, now: 0).first, ms)
        XCTAssertEqual(net.link(from: 2, to: 1), LinkConfig(latency: .constant(Double(ms))))
    }

    func testFaultLossAndDuplicate() {
        var net = makeNetwork()
        net.setFaultLoss(from: 0, to: 1, probability: 1)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).dropReason, .lost)
        XCTAssertNotNil(net.transmit(from: 0, to: 2, bytes: 1, now: 0).first)
        net.clearLinkFaults(from: 0, to: 1)
        net.setFaultDuplicate(from: 0, to: 1, probability: 1)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).arrivalCount, 2)
        net.clearAllLinkFaults()
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).arrivalCount, 1)
    }

    func testPerLinkOverride() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(ms))))
        net.setLink(between: 0, and: 2, LinkConfig(latency: .constant(Double(3 * ms))))
        net.setLink(from: 1, to: 0, LinkConfig(latency: .constant(Double(7 * ms))))
        XCTAssertEqual(net.transmit(from: 0, to: 2, bytes: 1, now: 0).first, 3 * ms)
        XCTAssertEqual(net.transmit(from: 2, to: 0, bytes: 1, now: 0).first, 3 * ms)
        XCTAssertEqual(net.transmit(from: 1, to: 0, bytes: 1, now: 0).first, 7 * ms)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1, now: 0).first, ms)
    }

    func testBandwidthSerialisesMessagesOnALink() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(ms)), bandwidthBytesPerSecond: 1_000_000))
        let a = net.transmit(from: 0, to: 1, bytes: 1_000_000, now: 0).first!
        let b = net.transmit(from: 0, to: 1, bytes: 1_000_000, now: 0).first!
        XCTAssertEqual(a, Nanos.second + ms)
        XCTAssertGreaterThanOrEqual(b - a, Nanos.second)
        // Other links are not busy.
        XCTAssertEqual(net.transmit(from: 1, to: 0, bytes: 1_000_000, now: 0).first!, Nanos.second + ms)
        // A message sent after the link drained starts at `now`.
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1_000, now: 10 * Nanos.second).first!,
                       10 * Nanos.second + ms + ms)
    }

    func testABandwidthFaultSerialisesUntilCleared() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(ms))))
        // Unlimited: a megabyte arrives after the latency alone.
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1_000_000, now: 0).first!, ms)
        net.setFaultBandwidth(from: 0, to: 1, bytesPerSecond: 1_000_000)
        let a = net.transmit(from: 0, to: 1, bytes: 500_000, now: 0).first!
        let b = net.transmit(from: 0, to: 1, bytes: 500_000, now: 0).first!
        XCTAssertEqual(a, Nanos.second / 2 + ms)
        XCTAssertEqual(b, Nanos.second + ms, "queued behind the first")
        XCTAssertEqual(net.transmit(from: 1, to: 0, bytes: 1_000_000, now: 0).first!, ms, "one direction only")
        net.clearLinkFaults(from: 0, to: 1)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 1_000_000, now: 2 * Nanos.second).first!, 2 * Nanos.second + ms)

        // The tighter of the link's own limit and the fault's applies.
        var slow = makeNetwork(LinkConfig(latency: .constant(0), bandwidthBytesPerSecond: 1_000))
        slow.setFaultBandwidth(from: 0, to: 1, bytesPerSecond: 1_000_000)
        XCTAssertEqual(slow.transmit(from: 0, to: 1, bytes: 1_000, now: 0).first!, Nanos.second)
    }

    func testAResetLosesWhatIsInFlightAndWhatIsSentBeforeTheRedialIsThrough() {
        var net = makeNetwork(LinkConfig(latency: .constant(Double(10 * ms))))
        let before = net.transmit(from: 0, to: 1, bytes: 100, now: 0)
        let otherLink = net.transmit(from: 1, to: 0, bytes: 100, now: 0)
        net.reset(from: 0, to: 1, at: 5 * ms)
        XCTAssertEqual(before.first, 10 * ms, "the send itself is not refused")
        XCTAssertFalse(net.admitArrival(from: 0, to: 1, sentAt: 0), "in flight at the reset: lost")
        XCTAssertTrue(net.admitArrival(from: 1, to: 0, sentAt: 0), "the reverse link was not reset")
        XCTAssertEqual(otherLink.first, 10 * ms)
        // The sender's next message finds the connection broken and starts the redial, which
        // takes a round trip (20 ms here); what it sends meanwhile is lost too.
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 100, now: 6 * ms).dropReason, .reset)
        XCTAssertEqual(net.transmit(from: 0, to: 1, bytes: 100, now: 25 * ms).dropReason, .reset)
        XCTAssertEqual(net.transmit(from: 1, to: 0, bytes: 100, now: 25 * ms).first, 35 * ms, "other links unaffected")
        let after = net.transmit(from: 0, to: 1, bytes: 100, now: 26 * ms)
        XCTAssertEqual(after.first, 36 * ms, "reconnected")
        XCTAssertTrue(net.admitArrival(from: 0, to: 1, sentAt: 26 * ms))
        XCTAssertEqual(net.stats.droppedByReset, 3)
        // Without a send time (models that do not track it) an arrival is not judged by resets.
        XCTAssertTrue(net.admitArrival(from: 0, to: 1))

        // The live proxy's model: the nodes redial themselves; only what was in flight is lost.
        var proxy = makeNetwork(LinkConfig(latency: .constant(Double(10 * ms))))
        proxy.reset(from: 0, to: 1, at: 5 * ms, redial: false)
        XCTAssertEqual(proxy.transmit(from: 0, to: 1, bytes: 100, now: 6 * ms).first, 16 * ms)
        XCTAssertFalse(proxy.admitArrival(from: 0, to: 1, sentAt: 4 * ms))
    }

    func testSameSeedSameArrivals() {
        func run(seed: UInt64) -> [VirtualTime?] {
            var net = makeNetwork(nodes: 4, LinkConfig(latency: .lognormal(median: 4e5, p99: 2e6), loss: 0.05, duplicate: 0.05), seed: seed)
            net.addDelay(from: 1, to: 2, extra: .uniform(low: 0, high: 1e6))
            var out: [VirtualTime?] = []
            for i in 0..<2_000 {
                let t = net.transmit(from: i % 4, to: (i / 4) % 4, bytes: 100, now: VirtualTime(i) * 1_000)
                out.append(t.first)
                out.append(t.second)
            }
            return out
        }
        XCTAssertEqual(run(seed: 7), run(seed: 7))
        XCTAssertNotEqual(run(seed: 7), run(seed: 8))
    }

    /// Every message takes the same draws in the same order — loss, duplication, then two
    /// latencies (each with its stacked delay faults) — whether it is lost, sent once or
    /// duplicated, so a run's later draws do not depend on what happened to earlier messages.
    /// The network's arrivals equal a reference that computes every draw, on the default link
    /// and on a faulty, overridden one.
    func testEveryMessageTakesTheSameDrawsUsedOrNot() {
        let latency = Distribution.lognormal(median: 2e5, p99: 2e6)
        let extra = Distribution.exponential(mean: 1e6)
        var net = makeNetwork(LinkConfig(latency: latency, loss: 0.2, duplicate: 0.3), seed: 7)
        var reference = SeededGenerator(seed: 7).stream("network")
        func expected(_ link: Distribution, extras: [Distribution], loss: Double, duplicate: Double) -> Transmission {
            let lossDraw = reference.nextUnit(), duplicateDraw = reference.nextUnit()
            func draw() -> Int64 { extras.reduce(link.sampleNanos(&reference)) { $0 + $1.sampleNanos(&reference) } }
            let first = draw(), second = draw()
            if lossDraw < loss { return .dropped(.lost) }
            return Transmission(first: 100 + first, second: duplicateDraw < duplicate ? 100 + second : nil)
        }
        var kinds = Set<Int>()
        for _ in 0..<2_000 {
            let t = net.transmit(from: 0, to: 1, bytes: 1, now: 100)
            XCTAssertEqual(t, expected(latency, extras: [], loss: 0.2, duplicate: 0.3))
            kinds.insert(t.arrivalCount)
        }
        net.setLink(from: 1, to: 2, LinkConfig(latency: .normal(mean: 3e6, stddev: 1e6), loss: 0.1))
        net.addDelay(from: 1, to: 2, extra: extra)
        net.setFaultDuplicate(from: 1, to: 2, probability: 0.4)
        for _ in 0..<2_000 {
            let t = net.transmit(from: 1, to: 2, bytes: 1, now: 100)
            XCTAssertEqual(t, expected(.normal(mean: 3e6, stddev: 1e6), extras: [extra], loss: 0.1, duplicate: 0.4))
            kinds.insert(t.arrivalCount)
        }
        XCTAssertEqual(kinds, [0, 1, 2], "lost, single and duplicated messages all occurred")
    }
}

