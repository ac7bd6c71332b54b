/// The producer table on its own: windows, eviction, expiry, snapshots.
import Replication
import XCTest

final class ProducerTableTests: XCTestCase {
    private func entry(_ offset: UInt64, producer: UInt64, sequence: UInt64, epoch: UInt64 = 1, leaderEpoch: UInt64 = 1) -> LogEntry {
        LogEntry(offset: offset, leaderEpoch: leaderEpoch,
                 payload: LogPayload(producerID: producer, producerEpoch: epoch, sequence: sequence, bytes: 1))
    }

    private func payload(producer: UInt64, sequence: UInt64, epoch: UInt64 = 1) -> LogPayload {
        LogPayload(producerID: producer, producerEpoch: epoch, sequence: sequence, bytes: 1)
    }

    func testWindowRemembersTheLastSequencesOffsets() {
        var table = ProducerTable(capacity: 10, window: 3, expiryNanos: .max)
        // Producer 1 interleaved with producer 2: offsets are not its sequences.
        for s in UInt64(0)..<5 {
            table.record(entry(2 * s, producer: 1, sequence: s), now: 0)
            table.record(entry(2 * s + 1, producer: 2, sequence: s), now: 0)
        }
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 4), now: 0), .duplicate(offset: 8))
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 2), now: 0), .duplicate(offset: 4))
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 1), now: 0), .duplicateOutsideWindow)
        XCTAssertEqual(table.verdict(for: payload(producer: 2, sequence: 3), now: 0), .duplicate(offset: 7))
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 5), now: 0), .append)
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 7), now: 0), .outOfOrder(expected: 5))
        XCTAssertEqual(table.verdict(for: payload(producer: 3, sequence: 7), now: 0), .append, "a new producer starts anywhere")
    }

    func testCapacityForgetsTheProducerThatWroteLongestAgo() {
        var table = ProducerTable(capacity: 2, window: 4, expiryNanos: .max)
        table.record(entry(0, producer: 1, sequence: 0), now: 0)
        table.record(entry(1, producer: 2, sequence: 0), now: 0)
        table.record(entry(2, producer: 1, sequence: 1), now: 0)
        table.record(entry(3, producer: 3, sequence: 0), now: 0)
        XCTAssertEqual(table.count, 2)
        XCTAssertNil(table.producer(2), "producer 2 last wrote at offset 1, before producer 1's offset 2")
        XCTAssertNotNil(table.producer(1))
        XCTAssertNotNil(table.producer(3))
    }

    func testIdleProducerExpires() {
        var table = ProducerTable(capacity: 10, window: 4, expiryNanos: 1_000)
        table.record(entry(0, producer: 1, sequence: 5), now: 100)
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 5), now: 1_100), .duplicate(offset: 0))
        XCTAssertEqual(table.verdict(for: payload(producer: 1, sequence: 5), now: 1_101), .append, "idle past the expiry: new")
        XCTAssertNil(table.producer(1))
    }

    func testSnapshotIsSortedAndRebuildMatchesAReplay() {
        var table = ProducerTable(capacity: 100, window: 8, expiryNanos: .max)
        var log: [LogEntry] = []
        for offset in UInt64(0)..<50 {
            let producer = [9, 3, 7][Int(offset % 3)] as UInt64
            log.append(entry(offset, producer: producer, sequence: offset / 3, leaderEpoch: 1 + offset / 20))
            table.record(log.last!, now: nil)
        }
        let snapshot = table.snapshot(endOffset: 30, lastEntryEpoch: log[29].leaderEpoch)
        XCTAssertEqual(snapshot.producers.map(\.id), [3, 7, 9])

        var fromSnapshot = ProducerTable(capacity: 100, window: 8, expiryNanos: .max)
        var atThirty = ProducerTable(capacity: 100, window: 8, expiryNanos: .max)
        atThirty.rebuild(from: log[..<30])
        fromSnapshot.rebuild(from: log[...], snapshot: atThirty.snapshot(endOffset: 30, lastEntryEpoch: log[29].leaderEpoch))
        XCTAssertEqual(fromSnapshot.snapshot(endOffset: 50, lastEntryEpoch: 3), table.snapshot(endOffset: 50, lastEntryEpoch: 3))

        XCTAssertTrue(snapshot.matches(log[...]))
        XCTAssertFalse(ProducerSnapshot(endOffset: 30, lastEntryEpoch: 1, producers: []).matches(log[...]), "epoch differs")
        XCTAssertFalse(ProducerSnapshot(endOffset: 51, lastEntryEpoch: 3, producers: []).matches(log[...]), "beyond the log")
    }

    /// Past 16 producers the table finds them by dictionary, and back under 16 by a scan: every
    /// producer stays findable across both changes, through eviction and expiry.
    func testManyProducersStayFindableAsTheTableGrowsAndShrinks() {
        var table = ProducerTable(capacity: 30, window: 2, expiryNanos: 1_000)
        var rng = SystemRandomNumberGenerator()
        var lastOffset: [UInt64: UInt64] = [:]
        var sequence: [UInt64: UInt64] = [:]
        var offset: UInt64 = 0
        // 40 producers into room for 30: the 10 that wrote longest ago are evicted.
        for round in 0..<3 {
            for producer in (UInt64(1)...40).shuffled(using: &rng) {
                let s = sequence[producer, default: 0]
                table.record(entry(offset, producer: producer, sequence: s), now: Int64(round))
                lastOffset[producer] = offset
                sequence[producer] = s + 1
                offset += 1
            }
        }
        XCTAssertEqual(table.count, 30)
        let kept = lastOffset.sorted { $0.value > $1.value }.prefix(30).map(\.key)
        for producer in kept {
            XCTAssertEqual(table.verdict(for: payload(producer: producer, sequence: sequence[producer]! - 1), now: 2),
                           .duplicate(offset: lastOffset[producer]!))
        }
        XCTAssertEqual(Set((UInt64(1)...40).filter { table.producer($0) != nil }), Set(kept))

        // Ten producers write later; the other twenty expire one by one as they are asked about.
        let active = Array(kept.prefix(10))
        for producer in active {
            table.record(entry(offset, producer: producer, sequence: sequence[producer]!), now: 900)
            lastOffset[producer] = offset
            sequence[producer]! += 1
            offset += 1
        }
        for producer in kept.dropFirst(10) {
            XCTAssertEqual(table.verdict(for: payload(producer: producer, sequence: 0), now: 1_500), .append)
            XCTAssertNil(table.producer(producer))
        }
        XCTAssertEqual(table.count, 10)
        for producer in active {
            XCTAssertEqual(table.verdict(for: payload(producer: producer, sequence: sequence[producer]!), now: 1_500), .append)
            XCTAssertEqual(table.producer(producer)?.lastOffset, lastOffset[producer])
        }
    }

    /// Equality is about which producers a table holds, not the order they arrived in.
    func testEqualityIgnoresTheOrderProducersArrivedIn() {
        var forward = ProducerTable(capacity: 50, window: 2, expiryNanos: .max)
        var backward = ProducerTable(capacity: 50, window: 2, expiryNanos: .max)
        for producer in UInt64(1)...20 { forward.record(entry(producer, producer: producer, sequence: 0), now: nil) }
        for producer in (UInt64(1)...20).reversed() { backward.record(entry(producer, producer: producer, sequence: 0), now: nil) }
        XCTAssertEqual(forward, backward)
        backward.record(entry(21, producer: 7, sequence: 1), now: nil)
        XCTAssertNotEqual(forward, backward)
    }
}
