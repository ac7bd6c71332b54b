/// Scripted three-broker scenarios through the public API: steady replication, ack policies,
/// minISR, ISR shrink/expand, fencing, failover, and the known-bug reproductions (KIP-101,
/// KIP-279, fsync interval + power loss).
import Replication
import XCTest

final class ReplicationScenarioTests: XCTestCase {
    private let b1: BrokerID = 1
    private let b2: BrokerID = 2
    private let b3: BrokerID = 3

    // MARK: - Steady state

    func testSteadyReplicationAdvancesHighWatermarkEverywhere() {
        let c = Cluster()
        XCTAssertEqual(c.leader, b1)
        XCTAssertEqual(c.replica(b1).role, .leader)
        XCTAssertEqual(c.replica(b2).role, .follower(leader: b1, phase: .fetching))
        for id in UInt64(0)..<5 { c.publish(id) }
        c.advance(by: 100_000_000)

        XCTAssertEqual(c.acked, [0: 0, 1: 1, 2: 2, 3: 3, 4: 4])
        for id in c.ids {
            XCTAssertEqual(c.sequences(id), [0, 1, 2, 3, 4], "\(id)")
            XCTAssertEqual(c.replica(id).highWatermark, 5, "\(id)")
            XCTAssertEqual(c.disks[id]!.durable.count, 5, "fsync .always makes every entry durable on \(id)")
            XCTAssertEqual(c.disks[id]!.highWatermarkCheckpoint, 5, "\(id)")
            XCTAssertEqual(c.replica(id).epochCache.entries, [EpochStart(epoch: c.partition.leaderEpoch, startOffset: 0)])
        }
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
    }

    func testPublishToFollowerIsRejectedWithLeaderHint() {
        let c = Cluster()
        c.publish(9, to: b2)
        XCTAssertEqual(c.rejected[9], .notLeader(leader: b1))
        XCTAssertTrue(c.replica(b2).log.isEmpty)
    }

    // MARK: - Ack policies

    func testAckPolicyNoneAcknowledgesBeforeAnyWrite() {
        let c = Cluster(ackPolicy: .none)
        c.holdDisk = [b1]
        c.isolated = [b2, b3]
        c.publish(1)
        XCTAssertEqual(c.acked[1], 0)
        XCTAssertEqual(c.replica(b1).writtenEnd, 0)
    }

    func testAckPolicyLeaderWaitsForLocalWriteAndFsyncUnderAlways() {
        let c = Cluster(ackPolicy: .leader)
        c.holdDisk = [b1]
        c.isolated = [b2, b3]
        c.publish(1)
        XCTAssertNil(c.acked[1])
        c.releaseDisk(b1, appends: true, fsyncs: false)
        XCTAssertNil(c.acked[1], "fsync .always: the write alone is not enough")
        c.releaseDisk(b1)
        XCTAssertEqual(c.acked[1], 0, "no follower needed for .leader")
        XCTAssertEqual(c.replica(b1).highWatermark, 0, "but nothing is committed without the ISR")
    }

    func testAckPolicyLeaderWithoutFsyncWaitsOnlyForTheWrite() {
        let c = Cluster(ackPolicy: .leader, fsync: .never)
        c.holdDisk = [b1]
        c.isolated = [b2, b3]
        c.publish(1)
        XCTAssertNil(c.acked[1])
        c.releaseDisk(b1, appends: true, fsyncs: false)
        XCTAssertEqual(c.acked[1], 0)
        XCTAssertTrue(c.disks[b1]!.durable.isEmpty, ".never issues no fsync")
    }

    func testAckPolicyAllWaitsForTheWholeISR() {
        let c = Cluster(ackPolicy: .all)
        c.isolated = [b3]
        c.publish(1)
        c.advance(by: 200_000_000)
        XCTAssertNil(c.acked[1], "b3 is in the ISR and has not fetched the entry")
        XCTAssertEqual(c.replica(b1).highWatermark, 0)
        c.isolated = []
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.acked[1], 0)
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
    }

    func testFollowersCountTowardsTheHighWatermarkOnlyOnceTheirFsyncCompletes() {
        let c = Cluster(ackPolicy: .all, fsync: .always)
        c.holdDisk = [b2, b3]
        c.publish(1)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.sequences(b2), [1], "fetched and written")
        XCTAssertNil(c.acked[1], "but not durable on the followers yet")
        XCTAssertEqual(c.replica(b1).highWatermark, 0)
        c.holdDisk = []
        c.releaseDisk(b2)
        c.releaseDisk(b3)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[1], 0)
    }

    // MARK: - ISR and minISR

    func testLaggingFollowerIsShrunkOutOfTheISRAndReexpandedAfterCatchingUp() {
        let c = Cluster(minISR: 2)
        c.isolated = [b3]
        c.publish(1)
        c.advance(by: 500_000_000)
        XCTAssertNil(c.acked[1])
        c.advance(by: 1_000_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2], "b3 lagged longer than replicaLagMax")
        XCTAssertEqual(c.acked[1], 0, "committed by the shrunk ISR, which still meets minISR")
        XCTAssertTrue(c.metadataHistory.contains { cmd, result in
            cmd == .shrinkISR(stream: "orders", replica: 3, leader: 1, leaderEpoch: c.partition.leaderEpoch)
                && result.isAccepted
        })

        c.publish(2)
        c.isolated = []
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2, b3], "b3 caught up with the HW and was re-admitted")
        XCTAssertEqual(c.sequences(b3), [1, 2])
        XCTAssertEqual(c.replica(b3).highWatermark, 2)
    }

    func testMinISRRejectsAllPublishesWhileTheISRIsTooSmall() {
        let c = Cluster(minISR: 3)
        c.isolated = [b3]
        c.advance(by: 1_500_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2])
        c.publish(1)
        XCTAssertEqual(c.rejected[1], .notEnoughReplicas)
        XCTAssertTrue(c.replica(b1).log.isEmpty, "a refused publish is never appended")

        c.isolated = []
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
        c.publish(2)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[2], 0)
    }

    func testMinISRFreezesTheHighWatermarkForLeaderAcks() {
        let c = Cluster(minISR: 3, ackPolicy: .leader)
        c.isolated = [b3]
        c.advance(by: 1_500_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2])
        c.publish(1)
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.acked[1], 0, ".leader acks after the local write")
        XCTAssertEqual(c.sequences(b2), [1], "replication continues")
        XCTAssertEqual(c.replica(b1).highWatermark, 0, "but nothing commits below minISR")
        XCTAssertEqual(c.replica(b2).highWatermark, 0)

        c.isolated = []
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
        XCTAssertEqual(c.replica(b1).highWatermark, 1)
    }

    // MARK: - Fencing

    func testDeposedLeaderCannotCommitAndTruncatesItsZombieEntry() {
        let c = Cluster(minISR: 2)
        c.publish(0)
        c.advance(by: 100_000_000)
        let firstEpoch = c.partition.leaderEpoch

        // b1 loses contact with everyone, including the metadata group, and is replaced.
        c.isolated = [b1]
        c.metadataCutOff = [b1]
        XCTAssertTrue(c.propose(.changeLeader(stream: "orders", newLeader: b2, expectedLeaderEpoch: firstEpoch)).isAccepted)
        c.run()
        XCTAssertEqual(c.replica(b1).role, .leader, "b1 has not heard")

        // The zombie accepts a publish, but the followers fetch with the new epoch (KIP-320).
        c.publish(1, to: b1)
        c.isolated = []
        c.network.append((b1, .fetchRequest(FetchRequest(stream: "orders", from: b3, fetchOffset: 1, leaderEpoch: c.partition.leaderEpoch))))
        c.advance(by: 300_000_000)
        XCTAssertNil(c.acked[1])
        XCTAssertTrue(c.trace.contains { $0.contains("unknownLeaderEpoch") })

        // b2 cannot commit either until the silent b1 is dropped from the ISR.
        c.publish(2, to: b2)
        c.advance(by: 100_000_000)
        XCTAssertNil(c.acked[2])
        c.advance(by: 1_000_000_000)
        XCTAssertEqual(c.partition.isr, [b2, b3])
        XCTAssertEqual(c.acked[2], 1)
        XCTAssertNil(c.acked[1], "the zombie never commits")

        c.deliverMetadata(to: b1)
        XCTAssertEqual(c.rejected[1], .leadershipChanged)
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.sequences(b1), [0, 2], "the zombie entry was truncated away")
        XCTAssertFalse(c.diverged(b1, b2))
    }

    func testStaleFollowerIsFencedByTheNewLeader() {
        let c = Cluster()
        let oldEpoch = c.partition.leaderEpoch
        XCTAssertTrue(c.propose(.changeLeader(stream: "orders", newLeader: b2, expectedLeaderEpoch: oldEpoch)).isAccepted)
        c.run()
        c.network.append((b2, .fetchRequest(FetchRequest(stream: "orders", from: b3, fetchOffset: 0, leaderEpoch: oldEpoch))))
        c.run()
        XCTAssertTrue(c.trace.contains { $0.contains("fencedLeaderEpoch") })
    }

    // MARK: - Failover

    func testLeaderFailureNeedsWitnessesAndElectsLowestISRMember() {
        let c = Cluster()
        c.publish(0)
        c.advance(by: 100_000_000)
        let epoch = c.partition.leaderEpoch
        c.crash(b1)
        c.advance(by: 2_500_000_000)

        let reports = c.metadataHistory.filter {
            if case .reportLeaderFailure = $0.0 { return true }
            return false
        }
        XCTAssertGreaterThanOrEqual(reports.count, 2)
        XCTAssertEqual(reports[0].1, .accepted(.recorded), "one witness is not enough")
        XCTAssertEqual(c.leader, b2)
        XCTAssertGreaterThan(c.partition.leaderEpoch, epoch)
        XCTAssertEqual(c.partition.isr, [b2, b3], "the failed leader left the ISR")
        XCTAssertEqual(c.replica(b2).role, .leader)

        c.publish(1)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[1], 1)
        XCTAssertEqual(c.sequences(b3), [0, 1])

        // A late report about the old leadership is stale.
        let late = c.propose(.reportLeaderFailure(stream: "orders", witness: b3, leader: b1, leaderEpoch: epoch))
        XCTAssertEqual(late, .rejected(.staleLeaderEpoch(currentLeader: b2, currentLeaderEpoch: c.partition.leaderEpoch)))

        c.restart(b1)
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
        XCTAssertEqual(c.sequences(b1), [0, 1])
    }

    func testFailoverSkipsOutOfSyncReplicaEvenWithLowerID() {
        let c = Cluster()
        c.isolated = [b2]
        c.advance(by: 1_500_000_000)
        XCTAssertEqual(c.partition.isr, [b1, b3])
        c.publish(0)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[0], 0)

        c.crash(b1)
        c.advance(by: 2_500_000_000)
        XCTAssertEqual(c.leader, b3, "b2 is out of sync, so b3 leads despite its higher id")
        XCTAssertEqual(c.partition.isr, [b3])
        XCTAssertEqual(c.sequences(b3), [0])
    }

    func testUncleanElectionIsOffByDefault() {
        let c = Cluster()
        c.isolated = [b2, b3]
        c.advance(by: 1_500_000_000)
        XCTAssertEqual(c.partition.isr, [b1])
        c.crash(b1)
        c.isolated = []
        c.advance(by: 2_500_000_000)
        XCTAssertNil(c.leader, "no ISR member left: the stream goes offline rather than lose data")
        XCTAssertEqual(c.partition.isr, [b1])
        XCTAssertEqual(c.replica(b2).role, .offline)

        let unclean = Cluster(metadataConfig: MetadataConfig(uncleanElection: true))
        unclean.isolated = [b2, b3]
        unclean.advance(by: 1_500_000_000)
        unclean.crash(b1)
        unclean.isolated = []
        unclean.advance(by: 2_500_000_000)
        XCTAssertEqual(unclean.leader, b2)
        let election = unclean.metadataHistory.compactMap { entry -> PartitionState? in
            if case .reportLeaderFailure = entry.0, case .accepted(.updated(let state)) = entry.1 { return state }
            return nil
        }
        XCTAssertEqual(election.map(\.isr), [[b2]], "an unclean leader starts with an ISR of one")
    }

    // MARK: - KIP-101

    /// KIP-101 scenario 1: the follower's HW trails the leader's by a fetch round trip. A
    /// follower that restarts then truncates to its HW drops an entry the leader already
    /// acknowledged; if the leader dies before the follower refetches, the follower becomes
    /// leader without it. The old leader later returns with the entry: replicas diverge.
    private func kip101(_ truncation: TruncationMode) -> Cluster {
        let c = Cluster(minISR: 2, ackPolicy: .all, truncation: truncation)
        c.publish(0)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.replica(b2).highWatermark, 1)

        c.publish(1)
        c.advance(by: 100_000_000, until: { c.acked[1] != nil })
        XCTAssertEqual(c.acked[1], 1, "m1 is acknowledged: the whole ISR fetched it")
        XCTAssertEqual(c.replica(b1).highWatermark, 2)
        XCTAssertEqual(c.replica(b2).highWatermark, 1, "b2 has not yet learnt the new HW")
        XCTAssertEqual(c.sequences(b2), [0, 1])

        c.crash(b2)
        c.restart(b2)
        c.crash(b1)  // before b2 could talk to it
        c.run()
        c.advance(by: 2_500_000_000)
        XCTAssertEqual(c.leader, b2)

        c.publish(2)
        c.advance(by: 100_000_000)
        XCTAssertNotNil(c.acked[2])
        c.restart(b1)
        c.advance(by: 300_000_000)
        return c
    }

    func testKIP101HighWatermarkTruncationLosesAcknowledgedEntryAndDiverges() {
        let c = kip101(.highWatermark)
        XCTAssertNotNil(c.acked[1])
        XCTAssertFalse(c.holds(b2, sequence: 1), "acknowledged m1 is gone from the new leader")
        XCTAssertFalse(c.holds(b3, sequence: 1))
        XCTAssertEqual(c.sequences(b2), [0, 2])
        XCTAssertEqual(c.sequences(b1), [0, 1], "the old leader kept m1 where others have m2")
        XCTAssertTrue(c.diverged(b1, b2))
        XCTAssertEqual(c.replica(b1).highWatermark, 2, "and counts the diverged offset as committed")
    }

    func testKIP101LeaderEpochTruncationKeepsAcknowledgedEntry() {
        let c = kip101(.leaderEpoch)
        for id in c.ids {
            XCTAssertEqual(c.sequences(id), [0, 1, 2], "\(id)")
        }
        XCTAssertFalse(c.diverged(b1, b2))
        XCTAssertEqual(c.partition.isr, [b1, b2, b3])
    }

    // MARK: - KIP-279

    /// KIP-279: b1 leads epoch A and writes m1 that b2 never gets. Leadership moves to b2
    /// (epoch B), which writes m2 at the same offset; b1 has not truncated yet when leadership
    /// moves straight back to it (epoch C). b2 asks where epoch B ends: b1 never saw B.
    /// KIP-101 answers with a bare offset (start of C = 2), b2 keeps m2, and the logs differ
    /// at offset 1. KIP-279 answers (A, 2); b2 sees A ends at 1 in its own log and truncates.
    private func kip279(_ truncation: TruncationMode) -> Cluster {
        let c = Cluster(brokers: 2, minISR: 1, ackPolicy: .leader, truncation: truncation)
        c.publish(0)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.sequences(b2), [0])

        c.isolated = [b2]
        c.publish(1)
        XCTAssertEqual(c.acked[1], 1)

        c.isolated = [b1]
        let epochA = c.partition.leaderEpoch
        XCTAssertTrue(c.propose(.changeLeader(stream: "orders", newLeader: b2, expectedLeaderEpoch: epochA)).isAccepted)
        c.run()
        c.publish(2)
        XCTAssertEqual(c.acked[2], 1)

        let epochB = c.partition.leaderEpoch
        XCTAssertTrue(c.propose(.changeLeader(stream: "orders", newLeader: b1, expectedLeaderEpoch: epochB)).isAccepted)
        c.run(includingNetwork: false)
        c.isolated = []
        c.run()
        c.advance(by: 200_000_000)
        XCTAssertEqual(c.replica(b1).role, .leader)
        return c
    }

    func testKIP279BackToBackLeaderChangesDivergeWithKIP101Truncation() {
        let c = kip279(.leaderEpochV1)
        XCTAssertEqual(c.sequences(b1), [0, 1])
        XCTAssertEqual(c.sequences(b2), [0, 2])
        XCTAssertTrue(c.diverged(b1, b2))
        XCTAssertEqual(c.replica(b1).highWatermark, 2, "the diverged offset even counts as committed")
    }

    func testKIP279EpochAwareTruncationConverges() {
        let c = kip279(.leaderEpoch)
        XCTAssertEqual(c.sequences(b1), [0, 1])
        XCTAssertEqual(c.sequences(b2), [0, 1])
        XCTAssertFalse(c.diverged(b1, b2))
        XCTAssertEqual(c.replica(b1).highWatermark, 2)
    }

    // MARK: - Fsync and power loss

    private func powerLoss(_ fsync: FsyncPolicy) -> Cluster {
        let c = Cluster(minISR: 2, ackPolicy: .all, fsync: fsync)
        c.publish(0)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[0], 0)
        for id in c.ids { c.crash(id) }
        for id in c.ids { c.restart(id) }
        c.advance(by: 300_000_000)
        return c
    }

    func testFsyncIntervalLosesAcknowledgedEntryWhenEveryReplicaLosesPower() {
        let c = powerLoss(.interval(nanoseconds: 10_000_000_000))
        for id in c.ids {
            XCTAssertFalse(c.holds(id, sequence: 0), "\(id)")
        }
    }

    func testFsyncAlwaysKeepsAcknowledgedEntryThroughPowerLoss() {
        let c = powerLoss(.always)
        for id in c.ids {
            XCTAssertEqual(c.sequences(id), [0], "\(id)")
        }
    }

    func testFsyncIntervalFlushesOnSchedule() {
        let c = Cluster(fsync: .interval(nanoseconds: 50_000_000))
        c.publish(0)
        c.advance(by: 30_000_000)
        XCTAssertEqual(c.acked[0], 0, "acks do not wait for the fsync")
        XCTAssertTrue(c.disks[b1]!.durable.isEmpty)
        c.advance(by: 100_000_000)
        for id in c.ids { XCTAssertEqual(c.disks[id]!.durable.count, 1, "\(id)") }
    }

    // MARK: - Determinism

    func testSameScriptProducesTheSameTrace() {
        XCTAssertEqual(kip101(.highWatermark).trace, kip101(.highWatermark).trace)
        XCTAssertEqual(kip279(.leaderEpoch).trace, kip279(.leaderEpoch).trace)
    }
}
