/// Unit tests that drive one `StreamReplica` by hand: metadata ordering, restart recovery,
/// and the leader's answers to fetch and epoch-end-offset requests.
import Replication
import XCTest

final class StreamReplicaTests: XCTestCase {
    private func state(leader: BrokerID?, leaderEpoch: UInt64, epoch: UInt64, isr: [BrokerID] = [1, 2, 3]) -> PartitionState {
        PartitionState(
            name: "s", subject: "s", replicas: [1, 2, 3], leader: leader, leaderEpoch: leaderEpoch, epoch: epoch,
            isr: isr, minISR: 1)
    }

    private func entry(_ offset: UInt64, _ epoch: UInt64) -> LogEntry {
        LogEntry(offset: offset, leaderEpoch: epoch, payload: LogPayload(producerID: 1, sequence: offset, bytes: 1))
    }

    func testStaleMetadataIsIgnored() {
        var r = StreamReplica(stream: "s", config: ReplicaConfig(brokerID: 1))
        _ = r.handle(.metadataChanged(state(leader: 2, leaderEpoch: 5, epoch: 5)), now: 0)
        _ = r.handle(.metadataChanged(state(leader: 1, leaderEpoch: 3, epoch: 4)), now: 0)
        XCTAssertEqual(r.role, .follower(leader: 2, phase: .fetching))
        XCTAssertEqual(r.leaderEpoch, 5)
    }

    func testLeaderAnswersEpochEndOffsetPerVersionAndFencesEpochs() {
        // Led epoch 2 for offsets 0..<2, leads again in epoch 7 from offset 2.
        var r = StreamReplica(
            stream: "s", config: ReplicaConfig(brokerID: 1),
            recovered: RecoveredLog(entries: [entry(0, 2), entry(1, 2)], highWatermarkCheckpoint: 1))
        XCTAssertEqual(r.highWatermark, 1)
        let effects = r.handle(.metadataChanged(state(leader: 1, leaderEpoch: 7, epoch: 7)), now: 0)
        XCTAssertTrue(effects.contains(.persistEpochCache([EpochStart(epoch: 2, startOffset: 0), EpochStart(epoch: 7, startOffset: 2)])))

        func ask(_ version: EpochEndOffsetVersion, _ requested: UInt64, current: UInt64 = 7) -> EpochEndOffsetResponse? {
            let out = r.handle(.receive(.epochEndOffsetRequest(EpochEndOffsetRequest(
                stream: "s", from: 2, version: version, requestedEpoch: requested, leaderEpoch: current))), now: 0)
            for case .send(to: 2, .epochEndOffsetResponse(let response)) in out { return response }
            return nil
        }
        XCTAssertEqual(ask(.v2, 5)?.epoch, 2)
        XCTAssertEqual(ask(.v2, 5)?.endOffset, 2)
        XCTAssertNil(ask(.v1, 5)?.epoch, "KIP-101 answers a bare offset")
        XCTAssertEqual(ask(.v1, 5)?.endOffset, 2)
        XCTAssertEqual(ask(.v2, 1)?.epoch, nil)
        XCTAssertEqual(ask(.v2, 1)?.endOffset, 0)
        XCTAssertEqual(ask(.v2, 5, current: 6)?.error, .fencedLeaderEpoch)
        XCTAssertEqual(ask(.v2, 5, current: 8)?.error, .unknownLeaderEpoch)

        let out = r.handle(.receive(.fetchRequest(FetchRequest(stream: "s", from: 3, fetchOffset: 9, leaderEpoch: 7))), now: 0)
        XCTAssertTrue(out.contains {
            if case .send(to: 3, .fetchResponse(let response)) = $0 { return response.error == .offsetOutOfRange }
            return false
        })
    }

    func testRestartDiscardsEntriesAfterAGapAndResetsRole() {
        var r = StreamReplica(stream: "s", config: ReplicaConfig(brokerID: 2))
        _ = r.handle(.metadataChanged(state(leader: 1, leaderEpoch: 3, epoch: 3)), now: 0)
        let effects = r.handle(
            .restart(RecoveredLog(entries: [entry(0, 1), entry(1, 3), entry(3, 3)], highWatermarkCheckpoint: 9)), now: 5)
        XCTAssertEqual(r.log.map(\.offset), [0, 1])
        XCTAssertEqual(r.highWatermark, 2, "a checkpoint beyond the log is capped")
        XCTAssertEqual(r.role, .offline, "waits for metadata")
        XCTAssertEqual(r.epochCache.entries, [EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 3, startOffset: 1)])
        XCTAssertTrue(effects.contains(.persistEpochCache(r.epochCache.entries)))
        _ = r.handle(.metadataChanged(state(leader: 1, leaderEpoch: 3, epoch: 3)), now: 6)
        XCTAssertEqual(r.role, .follower(leader: 1, phase: .truncating), "KIP-101: ask the leader, don't trust the HW")
    }
}
