import Replication
import XCTest

/// A leader that restarts must not lead on in the epoch it led before: followers may hold
/// entries of that epoch it lost, and new entries under the same (offset, epoch) would be
/// invisible to epoch-based truncation (found by the simulator: lazy-fsync-power-loss with
/// fsync always, seed 8 diverged before this rule).
final class LeaderRenewalTests: XCTestCase {
    let state = PartitionState(name: "orders", subject: "orders", replicas: [1, 2], leader: 1, leaderEpoch: 5, epoch: 5,
                               isr: [1, 2], minISR: 1)

    func testRestartedLeaderAsksForANewEpochInsteadOfLeadingOn() {
        var replica = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 1))
        var recovered = RecoveredLog()
        recovered.session = 3
        _ = replica.handle(.restart(recovered), now: 0)
        let effects = replica.handle(.metadataChanged(state), now: 1)
        XCTAssertEqual(replica.role, .offline)
        XCTAssertTrue(effects.contains(.propose(.renewLeaderEpoch(stream: "orders", leader: 1, leaderEpoch: 5, session: 3))), "\(effects)")

        // Metadata replayed from an older log position names it leader of an old epoch: still no.
        var older = state
        older.leaderEpoch = 7
        older.epoch = 7
        let again = replica.handle(.metadataChanged(older), now: 2)
        XCTAssertEqual(replica.role, .offline)
        XCTAssertTrue(again.contains(.propose(.renewLeaderEpoch(stream: "orders", leader: 1, leaderEpoch: 7, session: 3))))
        let rejected = replica.handle(.publish(requestID: 7, payload: LogPayload(producerID: 1, sequence: 0, bytes: 1)), now: 2)
        XCTAssertTrue(rejected.contains { if case .reject(7, _) = $0 { return true } else { return false } })

        var renewed = state
        renewed.leaderEpoch = 9
        renewed.epoch = 9
        renewed.leaderSession = 3
        _ = replica.handle(.metadataChanged(renewed), now: 3)
        XCTAssertEqual(replica.role, .leader)
    }

    func testFreshLeaderLeadsAtOnce() {
        var replica = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 1))
        _ = replica.handle(.metadataChanged(state), now: 1)
        XCTAssertEqual(replica.role, .leader)
    }

    func testMetadataRenewsOnlyTheCurrentLeadersEpoch() {
        var metadata = MetadataStateMachine()
        let spec = StreamSpec(name: "orders", subject: "orders", replicationFactor: 2, minISR: 1, replicas: [1, 2])
        XCTAssertTrue(metadata.apply(.createStream(spec), index: 3).isAccepted)
        XCTAssertFalse(metadata.apply(.renewLeaderEpoch(stream: "orders", leader: 2, leaderEpoch: 3, session: 1), index: 4).isAccepted)
        XCTAssertFalse(metadata.apply(.renewLeaderEpoch(stream: "orders", leader: 1, leaderEpoch: 2, session: 1), index: 5).isAccepted)
        XCTAssertTrue(metadata.apply(.renewLeaderEpoch(stream: "orders", leader: 1, leaderEpoch: 3, session: 1), index: 6).isAccepted)
        XCTAssertEqual(metadata.stream(named: "orders")?.leaderEpoch, 6)
        XCTAssertEqual(metadata.stream(named: "orders")?.leaderSession, 1)
        XCTAssertEqual(metadata.stream(named: "orders")?.leader, 1)
    }

    func testAnISRMemberClaimsAVacantLeadership() {
        var vacant = state
        vacant.leader = nil
        vacant.isr = [2]
        var member = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 2))
        let effects = member.handle(.metadataChanged(vacant), now: 1)
        XCTAssertTrue(effects.contains(.propose(.changeLeader(stream: "orders", newLeader: 2, expectedLeaderEpoch: 5))), "\(effects)")
        var outsider = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 1))
        let none = outsider.handle(.metadataChanged(vacant), now: 1)
        XCTAssertFalse(none.contains { if case .propose = $0 { return true } else { return false } })
    }

    func testExpansionDecidedBeforeAnotherChangeIsRejected() {
        var metadata = MetadataStateMachine()
        let spec = StreamSpec(name: "orders", subject: "orders", replicationFactor: 3, minISR: 1, replicas: [1, 2, 3])
        XCTAssertTrue(metadata.apply(.createStream(spec), index: 1).isAccepted)
        XCTAssertTrue(metadata.apply(.shrinkISR(stream: "orders", replica: 2, leader: 1, leaderEpoch: 1), index: 2).isAccepted)
        XCTAssertTrue(metadata.apply(.shrinkISR(stream: "orders", replica: 3, leader: 1, leaderEpoch: 1), index: 3).isAccepted)
        // Decided when the state's epoch was 2; the shrink at index 3 came in between.
        XCTAssertFalse(metadata.apply(.expandISR(stream: "orders", replica: 2, leader: 1, leaderEpoch: 1, partitionEpoch: 2),
                                      index: 4).isAccepted)
        XCTAssertTrue(metadata.apply(.expandISR(stream: "orders", replica: 2, leader: 1, leaderEpoch: 1, partitionEpoch: 3),
                                     index: 5).isAccepted)
        XCTAssertEqual(metadata.stream(named: "orders")?.isr, [1, 2])
    }

    func testConsumersReadOnlyCommittedEntriesFromTheLeader() {
        var leader = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 1, fsync: .never))
        var single = state
        single.replicas = [1]
        single.isr = [1]
        _ = leader.handle(.metadataChanged(single), now: 0)
        for sequence in UInt64(0)..<3 {
            _ = leader.handle(.publish(requestID: sequence, payload: LogPayload(producerID: 1, sequence: sequence, bytes: 1)), now: 1)
        }
        // Appended but not yet written: nothing is committed, so nothing is readable.
        let early = leader.handle(.consume(requestID: 9, offset: 0, maxEntries: 10), now: 2)
        XCTAssertTrue(early.contains(.deliver(requestID: 9, entries: [], highWatermark: 0)), "\(early)")
        for upTo in UInt64(1)...3 { _ = leader.handle(.appendCompleted(upTo: upTo), now: 3) }  // one per append, in order
        let later = leader.handle(.consume(requestID: 10, offset: 1, maxEntries: 10), now: 4)
        guard case .deliver(10, let entries, let hw)? = later.first(where: { if case .deliver = $0 { true } else { false } }) else {
            return XCTFail("\(later)")
        }
        XCTAssertEqual(hw, 3)
        XCTAssertEqual(entries.map(\.offset), [1, 2])

        var follower = StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: 2))
        _ = follower.handle(.metadataChanged(state), now: 0)
        XCTAssertTrue(follower.handle(.consume(requestID: 5, offset: 0, maxEntries: 1), now: 1)
            .contains(.reject(requestID: 5, reason: .notLeader(leader: 1))))
    }
}
