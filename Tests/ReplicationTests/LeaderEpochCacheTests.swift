/// Unit tests of the leader-epoch cache (KIP-101/KIP-279 lookups) and message coding.
import Replication
import XCTest

final class LeaderEpochCacheTests: XCTestCase {
    private func entries(_ epochs: [UInt64]) -> [LogEntry] {
        epochs.enumerated().map {
            LogEntry(offset: UInt64($0.offset), leaderEpoch: $0.element, payload: LogPayload(producerID: 1, sequence: UInt64($0.offset), bytes: 1))
        }
    }

    func testLookupsFollowKIP101AndKIP279() {
        // Epoch 1 at 0..<2, epoch 4 at 2..<5, log end 5.
        let cache = LeaderEpochCache(rebuiltFrom: entries([1, 1, 4, 4, 4]), persisted: [])
        XCTAssertEqual(cache.entries, [EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 4, startOffset: 2)])
        XCTAssertTrue(cache.endOffset(forEpoch: 1, logEndOffset: 5)! == (1, 2))
        XCTAssertTrue(cache.endOffset(forEpoch: 3, logEndOffset: 5)! == (1, 2), "KIP-279: largest epoch ≤ 3 is 1")
        XCTAssertTrue(cache.endOffset(forEpoch: 9, logEndOffset: 5)! == (4, 5))
        XCTAssertNil(cache.endOffset(forEpoch: 0, logEndOffset: 5))
        XCTAssertEqual(cache.firstOffsetAfterEpoch(3, logEndOffset: 5), 2, "KIP-101: the bare start of epoch 4")
        XCTAssertEqual(cache.firstOffsetAfterEpoch(4, logEndOffset: 5), 5)
        XCTAssertEqual(cache.firstOffsetAfterEpoch(0, logEndOffset: 5), 0)
    }

    func testRebuildKeepsOnlyAnEmptyLeaderEpochAtTheLogEndFromThePersistedCache() {
        let log = entries([1, 1])
        let led = LeaderEpochCache(rebuiltFrom: log, persisted: [EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 3, startOffset: 2)])
        XCTAssertEqual(led.latestEpoch, 3)
        // The persisted cache is ahead of the durable log (entries of epoch 3 were lost).
        let ahead = LeaderEpochCache(rebuiltFrom: log, persisted: [EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 3, startOffset: 5)])
        XCTAssertEqual(ahead.latestEpoch, 1)
    }

    func testReplicationMessagesRoundTripThroughCodable() throws {
        let messages: [ReplicationMessage] = [
            .fetchRequest(FetchRequest(stream: "s", from: 1, fetchOffset: 3, leaderEpoch: 2)),
            .fetchResponse(FetchResponse(stream: "s", from: 2, leaderEpoch: 2, fetchOffset: 3, highWatermark: 3, logEndOffset: 4, entries: entries([2, 2, 2, 2]), error: nil)),
            .fetchResponse(FetchResponse(stream: "s", from: 2, leaderEpoch: 5, fetchOffset: 3, highWatermark: 3, logEndOffset: 4, entries: [], error: .fencedLeaderEpoch)),
            .epochEndOffsetRequest(EpochEndOffsetRequest(stream: "s", from: 1, version: .v2, requestedEpoch: 2, leaderEpoch: 5)),
            .epochEndOffsetResponse(EpochEndOffsetResponse(stream: "s", from: 2, leaderEpoch: 5, requestedEpoch: 2, epoch: 1, endOffset: 7, error: nil)),
        ]
        let data = try JSONEncoder().encode(messages)
        XCTAssertEqual(try JSONDecoder().decode([ReplicationMessage].self, from: data), messages)
    }
}
