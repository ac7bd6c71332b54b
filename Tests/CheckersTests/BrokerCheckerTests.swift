import Checkers
import XCTest

final class BrokerCheckerTests: XCTestCase {
    func entry(_ offset: UInt64, _ epoch: UInt64, _ producer: UInt32, _ seq: UInt64) -> ObservedEntry {
        ObservedEntry(offset: offset, leaderEpoch: epoch, message: MessageID(producer: producer, sequence: seq))
    }

    func testAcknowledgedLossFindsMissingMessages() {
        var checker = AcknowledgedLossChecker(streams: 1)
        checker.acknowledged(stream: 0, message: MessageID(producer: 1, sequence: 0), offset: 0, at: 5)
        checker.acknowledged(stream: 0, message: MessageID(producer: 1, sequence: 1), offset: 1, at: 6)
        let intact = checker.verify(streamNames: ["s"], committed: [[entry(0, 1, 1, 0), entry(1, 1, 1, 1)]], at: 10)
        XCTAssertTrue(intact.0.passed)
        let truncated = checker.verify(streamNames: ["s"], committed: [[entry(0, 1, 1, 0)]], at: 10)
        XCTAssertFalse(truncated.0.passed)
        XCTAssertEqual(truncated.lost, 1)
        XCTAssertTrue(truncated.0.violations[0].description.contains("p1#1"))
        // A retried message found at another offset is not lost.
        let moved = checker.verify(streamNames: ["s"], committed: [[entry(0, 1, 1, 0), entry(1, 2, 2, 0), entry(2, 2, 1, 1)]], at: 10)
        XCTAssertTrue(moved.0.passed)
        XCTAssertEqual(checker.verify(streamNames: ["s"], committed: [nil], at: 10).lost, 2)
    }

    func testReplicasAgreeComparesOnlyCommittedPrefixes() {
        let a = ReplicaSnapshot(node: 0, nodeName: "n1", alive: true, highWatermark: 2, log: [entry(0, 1, 1, 0), entry(1, 1, 1, 1), entry(2, 1, 1, 2)])
        var b = ReplicaSnapshot(node: 1, nodeName: "n2", alive: true, highWatermark: 2, log: [entry(0, 1, 1, 0), entry(1, 1, 1, 1), entry(2, 2, 9, 9)])
        XCTAssertTrue(ReplicasAgreeChecker.verify(streamNames: ["s"], replicas: [[a, b]], at: 0).passed)
        b.log[1] = entry(1, 2, 9, 9)
        let report = ReplicasAgreeChecker.verify(streamNames: ["s"], replicas: [[a, b]], at: 0)
        XCTAssertFalse(report.passed)
        XCTAssertTrue(report.violations[0].description.contains("offset 1"))
        b.alive = false
        XCTAssertTrue(ReplicasAgreeChecker.verify(streamNames: ["s"], replicas: [[a, b]], at: 0).passed)
    }

    func testHighWatermarkMayOnlyDropAcrossARestart() {
        var checker = HighWatermarkMonotonicChecker(streams: 1, nodes: 2)
        checker.observe(stream: 0, node: 0, incarnation: 0, highWatermark: 5, at: 1, streamName: "s", nodeName: "n1")
        checker.observe(stream: 0, node: 0, incarnation: 1, highWatermark: 2, at: 2, streamName: "s", nodeName: "n1")
        XCTAssertTrue(checker.verify().passed)
        checker.observe(stream: 0, node: 0, incarnation: 1, highWatermark: 1, at: 3, streamName: "s", nodeName: "n1")
        XCTAssertFalse(checker.verify().passed)
    }

    func testOneLeaderPerEpoch() {
        var checker = OneLeaderPerEpochChecker(streams: 1)
        checker.becameLeader(stream: 0, node: 0, epoch: 3, at: 0, describe: { "n\($0)" }, streamName: "s")
        checker.becameLeader(stream: 0, node: 0, epoch: 3, at: 1, describe: { "n\($0)" }, streamName: "s")
        checker.becameLeader(stream: 0, node: 1, epoch: 7, at: 2, describe: { "n\($0)" }, streamName: "s")
        XCTAssertTrue(checker.verify().passed)
        checker.becameLeader(stream: 0, node: 2, epoch: 7, at: 3, describe: { "n\($0)" }, streamName: "s")
        checker.becameLeader(stream: 0, node: 2, epoch: 5, at: 4, describe: { "n\($0)" }, streamName: "s")
        XCTAssertEqual(checker.verify().violations.count, 2)
    }

    func testMinISRCommit() {
        var checker = MinISRCommitChecker()
        checker.highWatermarkAdvanced(streamName: "s", leader: "n1", to: 4, isrSize: 2, minISR: 2, at: 0)
        XCTAssertTrue(checker.verify().passed)
        checker.highWatermarkAdvanced(streamName: "s", leader: "n1", to: 5, isrSize: 1, minISR: 2, at: 1)
        XCTAssertFalse(checker.verify().passed)
    }

    func testProducerOrderAllowsConcurrentReorderingButNotCausalInversion() {
        // #0 and #1 were in flight together; #2 was sent after #0 was acknowledged.
        let sent: [UInt64: Int64] = [0: 0, 1: 1, 2: 10]
        let acked: [UInt64: Int64] = [0: 5, 1: 6, 2: 12]
        func verify(_ log: [ObservedEntry]) -> CheckReport {
            ProducerOrderChecker.verify(streamNames: ["s"], committed: [log], at: 0,
                                        sentAt: { sent[$0.sequence] }, ackedAt: { acked[$0.sequence] })
        }
        XCTAssertTrue(verify([entry(0, 1, 1, 1), entry(1, 1, 1, 0), entry(2, 1, 1, 2)]).passed)
        // A retry's duplicate of #0 after #2 is not an inversion: the first copy counts.
        XCTAssertTrue(verify([entry(0, 1, 1, 0), entry(1, 1, 1, 2), entry(2, 1, 1, 0)]).passed)
        let inverted = verify([entry(0, 1, 1, 2), entry(1, 1, 1, 0), entry(2, 1, 1, 1)])
        XCTAssertFalse(inverted.passed)
        XCTAssertTrue(inverted.violations[0].description.contains("p1#2"), inverted.violations[0].description)
    }

    func testNoDuplicatesFailsOnASecondCopyOnlyWithIdempotenceOn() {
        let log = [entry(0, 1, 1, 0), entry(1, 1, 2, 0), entry(2, 1, 1, 1), entry(3, 2, 1, 0), entry(4, 2, 0, 5), entry(5, 2, 0, 5)]
        let on = NoDuplicatesChecker.verify(streamNames: ["s"], committed: [log], idempotence: true, at: 0)
        XCTAssertEqual(on.violations.count, 1, "anonymous producer 0 is never a duplicate")
        XCTAssertTrue(on.violations[0].description.contains("p1#0 stored at offset 0 and again at 3"), on.violations[0].description)
        XCTAssertTrue(NoDuplicatesChecker.verify(streamNames: ["s"], committed: [log], idempotence: false, at: 0).passed)
        XCTAssertTrue(NoDuplicatesChecker.verify(streamNames: ["s"], committed: [Array(log[..<3]), nil], idempotence: true, at: 0).passed)
    }

    func testRaftCheckers() {
        var safety = RaftElectionSafetyChecker()
        safety.leaderElected(term: 1, node: 0, at: 0, describe: { "n\($0)" })
        safety.leaderElected(term: 2, node: 1, at: 1, describe: { "n\($0)" })
        XCTAssertTrue(safety.verify().passed)
        safety.leaderElected(term: 2, node: 2, at: 2, describe: { "n\($0)" })
        XCTAssertFalse(safety.verify().passed)

        let good = RaftLogMatchingChecker.verify(logs: [
            ("n1", [(1, 10), (1, 11), (2, 12)]), ("n2", [(1, 10), (1, 11)]), ("n3", [(1, 10), (3, 99)]),
        ], at: 0)
        XCTAssertTrue(good.passed, "\(good.violations)")
        let bad = RaftLogMatchingChecker.verify(logs: [("n1", [(1, 10), (2, 12)]), ("n2", [(1, 77), (2, 12)])], at: 0)
        XCTAssertFalse(bad.passed)
    }
}
