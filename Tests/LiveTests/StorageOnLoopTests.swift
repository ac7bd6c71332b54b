import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import LiveBroker
import LiveClient
import LogStore
import Replication
import Wire
import XCTest

/// Batches that only append (every batch of `fsync: interval` under load) run on the node's event
/// loop instead of taking two thread hops through the storage thread; anything that fsyncs,
/// replaces a checkpoint, reads or writes Raft still goes to the storage thread.
final class StorageOnLoopTests: XCTestCase {
    private func entry(_ offset: UInt64) -> LogEntry {
        LogEntry(offset: offset, leaderEpoch: 1, payload: LogPayload(producerID: 1, sequence: offset, data: [1, 2, 3]))
    }

    func testOnlyBatchesOfAppendsRunOnTheLoop() {
        XCTAssertTrue(NodeStorage.runsOnLoop([.append(stream: "s", [entry(0)])]))
        XCTAssertTrue(NodeStorage.runsOnLoop([.append(stream: "s", [entry(0)]), .append(stream: "t", [entry(0), entry(1)])]))
        let needsThread: [StorageOp] = [
            .fsync(stream: "s"), .checkpointHighWatermark(stream: "s", 1), .persistEpochCache(stream: "s", []),
            .read(stream: "s", from: 0, count: 1), .truncate(stream: "s", from: 0), .openStream(name: "s"),
            .deleteStream(name: "s"), .raft(truncateFrom: nil, entries: [], hardState: nil),
        ]
        for op in needsThread {
            XCTAssertFalse(NodeStorage.runsOnLoop([.append(stream: "s", [entry(0)]), op]), "\(op)")
            XCTAssertFalse(NodeStorage.runsOnLoop([op]), "\(op)")
        }
    }

    /// `fsync: 2m`: the leader's and followers' appends run on their loops; every publish is
    /// acknowledged in order once the whole ISR has it, and survives the leader's crash.
    func testLazyFsyncAppendsOnTheLoopAckInOrderAndSurviveALeaderCrash() async throws {
        let replica = ReplicaConfig(brokerID: 0, ackPolicy: .all, fsync: .interval(nanoseconds: 120_000_000_000),
                                    replicaLagMaxNanos: 1_000_000_000, leaderTimeoutNanos: 300_000_000,
                                    fetchIntervalNanos: 2_000_000, fetchWaitNanos: 100_000_000, requestTimeoutNanos: 150_000_000,
                                    hwCheckpointIntervalNanos: 100_000_000, maxFetchBatch: 1024, maxFetchBytes: 4 << 20)
        try await InProcessCluster.with(size: 3, replica: replica) { cluster in
            try await cluster.createStream("lazy")
            let leader = try await cluster.waitForLeader("lazy")
            let outcomes = try await cluster.publish(Array(0..<300), to: leader, stream: "lazy")
            XCTAssertEqual(outcomes, (0..<300).map { PublishOutcome.acked(offset: UInt64($0)) })

            for i in 0..<3 {
                let port = try XCTUnwrap(cluster.configs[i].metricsPort)
                let (body, _) = try await HTTP.get(port: port, path: "/metrics")
                let line = try XCTUnwrap(body.split(separator: "\n").first { $0.hasPrefix("faultline_broker_storage_batches_on_loop_total") })
                XCTAssertGreaterThan(Double(line.split(separator: " ").last!) ?? 0, 0, "n\(i + 1): \(line)")
            }

            try await cluster.crash(leader)
            _ = try await cluster.waitForLeader("lazy", excluding: leader)
            let entries = try await cluster.readAll("lazy")
            XCTAssertEqual(entries.map(\.offset), Array(0..<300))
            XCTAssertEqual(entries.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<300).map { "m\($0)" })
        }
    }

    /// The NATS ingestion's reply bodies: byte for byte what they were before the per-stream prefix.
    func testNATSReplyBodiesAreTheSameJSONForEveryAck() {
        var prefixes: [String: [UInt8]] = [:]
        func body(_ stream: String, _ status: AckStatus, _ offset: UInt64?) -> String {
            String(decoding: NATSIngestion.answerBody(stream: stream, status: status, offset: offset, prefixes: &prefixes), as: UTF8.self)
        }
        XCTAssertEqual(body("events", .ok, 0), #"{"stream":"events","offset":0}"#)
        XCTAssertEqual(body("events", .ok, 18_446_744_073_709_551_615), #"{"stream":"events","offset":18446744073709551615}"#)
        XCTAssertEqual(body(#"a"b\c"#, .ok, 7), #"{"stream":"a\"b\\c","offset":7}"#)
        XCTAssertEqual(body(#"a"b\c"#, .ok, 8), #"{"stream":"a\"b\\c","offset":8}"#)
        // Errors as before: the status's description with its double quotes made single.
        for status in [AckStatus.rejected(reason: #"say "no""#), .streamNotFound, .notLeader(leaderHint: "n2")] {
            let described = String(describing: status).replacingOccurrences(of: "\"", with: "'")
            XCTAssertEqual(body("events", status, nil), #"{"stream":"events","error":""# + described + #""}"#)
        }
        XCTAssertEqual(prefixes.count, 2)
    }
}
