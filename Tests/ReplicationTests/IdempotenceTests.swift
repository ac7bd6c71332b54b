/// Idempotent producers (KIP-98) through the replica's public API: re-sends answered with the
/// original offset, sequence gaps and stale epochs refused, the state following the log across
/// failover, truncation and restart.
import Replication
import XCTest

final class IdempotenceTests: XCTestCase {
    private let b1: BrokerID = 1
    private let b2: BrokerID = 2
    private let b3: BrokerID = 3

    private func payload(_ sequence: UInt64, producer: UInt64 = 7, epoch: UInt64 = 1) -> LogPayload {
        LogPayload(producerID: producer, producerEpoch: epoch, sequence: sequence, bytes: 100)
    }

    private func send(_ c: Cluster, _ requestID: UInt64, _ payload: LogPayload, to id: BrokerID? = nil) {
        c.input(id ?? c.leader!, .publish(requestID: requestID, payload: payload))
        c.run()
    }

    func testResendOnTheSameLeaderIsAnsweredWithTheOriginalOffset() {
        let c = Cluster()
        for s in UInt64(0)..<3 { send(c, 100 + s, payload(s)) }
        c.advance(by: 100_000_000)
        send(c, 200, payload(1))  // a re-send of sequence 1
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[200], 1, "the re-send gets the offset sequence 1 already has")
        XCTAssertEqual(c.sequences(b1), [0, 1, 2], "nothing stored twice")
        XCTAssertEqual(c.replica(b1).duplicatesSuppressed, 1)
    }

    /// A cluster whose replicas use `configure`d settings.
    private func cluster(_ configure: (inout ReplicaConfig) -> Void) -> Cluster {
        let c = Cluster()
        for id in c.ids {
            var config = c.configs[id]!
            configure(&config)
            c.configs[id] = config
            c.replicas[id] = StreamReplica(stream: c.stream, config: config)
            c.inbox.append((id, .metadataChanged(c.partition)))
        }
        c.run()
        return c
    }

    func testResendOlderThanTheWindowIsFoundInTheLog() {
        // The producer kept sending while sequence 1's answer was lost: its offset has left the
        // table's 2-offset window, and the leader finds it in the log instead.
        let c = cluster { $0.producerWindow = 2 }
        for s in UInt64(0)..<6 {
            send(c, 100 + s, payload(s))
            send(c, 200 + s, payload(s, producer: 8))  // interleaved: offsets are not sequences
        }
        c.advance(by: 100_000_000)
        send(c, 300, payload(1))
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[300], 2)
        XCTAssertEqual(c.replica(b1).logEndOffset, 12, "nothing stored twice")
    }

    func testWithIdempotenceOffTheResendIsStoredAgain() {
        let c = cluster { $0.idempotence = false }
        send(c, 100, payload(0))
        send(c, 101, payload(0))
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[101], 1)
        XCTAssertEqual(c.sequences(b1), [0, 0])
    }

    func testSequenceGapIsRefusedAndNothingIsWritten() {
        let c = Cluster()
        send(c, 100, payload(0))
        send(c, 101, payload(2))
        XCTAssertEqual(c.rejected[101], .outOfOrderSequence(expected: 1))
        XCTAssertEqual(c.rejected[101]?.name, "out_of_order_sequence")
        XCTAssertEqual(c.sequences(b1), [0])
        send(c, 102, payload(1))
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[102], 1, "the missing sequence is accepted")
    }

    func testOutOfOrderReasonCarriesTheExpectedSequenceThroughAnyWrapping() {
        let reason = PublishRejection.outOfOrderSequence(expected: 42).idempotenceReason!
        XCTAssertTrue(reason.hasPrefix("out_of_order_sequence"))
        XCTAssertEqual(PublishRejection.expectedSequence(in: reason), 42)
        XCTAssertEqual(PublishRejection.expectedSequence(in: "rejected(reason: '\(reason)')"), 42, "as NATS ingestion quotes it")
        XCTAssertNil(PublishRejection.expectedSequence(in: PublishRejection.fencedProducer(currentEpoch: 3).idempotenceReason!))
    }

    func testOlderProducerEpochIsFencedAndNewerOneStartsOver() {
        let c = Cluster()
        send(c, 100, payload(0, epoch: 5))
        send(c, 101, payload(1, epoch: 4))
        XCTAssertEqual(c.rejected[101], .fencedProducer(currentEpoch: 5))
        send(c, 102, payload(0, epoch: 6))  // a new incarnation starts its own sequences
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[102], 1)
        send(c, 103, payload(1, epoch: 5))
        XCTAssertEqual(c.rejected[103], .fencedProducer(currentEpoch: 6))
        XCTAssertEqual(c.replica(b1).log.map(\.payload.producerEpoch), [5, 6])
    }

    func testAnonymousProducerIsNeverDeduplicated() {
        let c = Cluster()
        send(c, 100, payload(3, producer: 0, epoch: 0))
        send(c, 101, payload(3, producer: 0, epoch: 0))
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.sequences(b1), [3, 3])
    }

    /// The acceptance case: the leader appends and replicates, then dies before its ack
    /// reaches the producer; the producer re-sends to the new leader, which answers with the
    /// original offset from the state it rebuilt from its copy of the log.
    func testResendAfterFailoverGetsTheOriginalOffsetFromTheNewLeader() {
        let c = Cluster()
        for s in UInt64(0)..<3 { send(c, 100 + s, payload(s)) }
        c.advance(by: 100_000_000)
        // Sequence 3 reaches every follower, but the producer never hears the ack.
        send(c, 103, payload(3))
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.sequences(b2), [0, 1, 2, 3])
        c.acked[103] = nil
        c.crash(b1)
        c.advance(by: 2_500_000_000)
        let newLeader = c.leader!
        XCTAssertNotEqual(newLeader, b1)
        send(c, 200, payload(3), to: newLeader)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[200], 3, "the new leader answers with the offset the old one gave")
        XCTAssertEqual(c.sequences(newLeader), [0, 1, 2, 3])
        send(c, 201, payload(4), to: newLeader)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.acked[201], 4, "and takes the next sequence")
    }

    func testTruncatedSequenceIsAppendedAgainWhenResent() {
        // The leader appends sequence 1 but no follower gets it; a new leader takes over and the
        // old one truncates the entry: the producer table must forget it there too.
        let c = Cluster()
        send(c, 100, payload(0))
        c.advance(by: 100_000_000)
        c.isolated = [b1]
        send(c, 101, payload(1))
        XCTAssertEqual(c.sequences(b1), [0, 1])
        let epoch = c.partition.leaderEpoch
        XCTAssertTrue(c.propose(.changeLeader(stream: "orders", newLeader: b2, expectedLeaderEpoch: epoch)).isAccepted)
        c.run()
        send(c, 200, payload(1), to: b2)
        c.isolated = []
        c.advance(by: 300_000_000)
        XCTAssertEqual(c.acked[200], 1)
        for id in c.ids { XCTAssertEqual(c.sequences(id), [0, 1], "\(id)") }
        XCTAssertEqual(c.replica(b1).producers.producer(7)?.lastSequence, 1)
        XCTAssertEqual(c.replica(b1).producers.producer(7)?.offset(of: 1), 1)
        XCTAssertEqual(c.replica(b1).log[1].leaderEpoch, c.partition.leaderEpoch, "b1 holds the new leader's copy")
    }

    func testRestartRebuildsProducersFromSnapshotAndLog() {
        let c = Cluster()
        for s in UInt64(0)..<4 { send(c, 100 + s, payload(s)) }
        c.advance(by: 1_500_000_000)  // past the snapshot interval: a snapshot is on disk
        let snapshot = try! XCTUnwrap(c.disks[b3]!.producerSnapshot)
        XCTAssertEqual(snapshot.producers.map(\.id), [7])
        XCTAssertTrue(snapshot.matches(c.disks[b3]!.durable[...]))
        for s in UInt64(4)..<6 { send(c, 100 + s, payload(s)) }
        c.advance(by: 100_000_000)
        c.crash(b3)
        c.restart(b3)
        c.advance(by: 100_000_000)
        XCTAssertEqual(c.replica(b3).producers.producer(7)?.lastSequence, 5, "snapshot plus the entries after it")
        XCTAssertEqual(c.replica(b3).producers.producer(7)?.offset(of: 2), 2)

        // A snapshot that does not match the log (a different epoch at its end) is ignored.
        let recovered = RecoveredLog(
            entries: c.disks[b3]!.durable, highWatermarkCheckpoint: 0, epochCache: [],
            producerSnapshot: ProducerSnapshot(endOffset: 2, lastEntryEpoch: 999, producers: [
                ProducerTable.Producer(id: 7, epoch: 1, lastSequence: 40, offsets: [1])]))
        let rebuilt = StreamReplica(stream: "orders", config: c.configs[b3]!, recovered: recovered)
        XCTAssertEqual(rebuilt.producers.producer(7)?.lastSequence, 5, "rebuilt from the log alone")
    }
}
