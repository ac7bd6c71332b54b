import Foundation
import LogStore
import Replication
import XCTest

/// The node storage both drivers share: the group-commit queue and the batch rule.
final class GroupCommitTests: XCTestCase {
    func testOperationsAskedForWhileABatchRunsFormTheNextBatch() {
        var queue = GroupCommit<String>()
        queue.submit(.fsync(stream: "a"), completion: "first")
        let first = queue.nextBatch()
        XCTAssertEqual(first?.count, 1)
        XCTAssertTrue(queue.isRunning)
        // While it runs nothing else starts; what arrives waits for the next batch.
        queue.submit(.append(stream: "a", []), completion: "second")
        queue.submit(.truncate(stream: "a", from: 0))
        queue.submit(.fsync(stream: "a"), completion: "third")
        XCTAssertNil(queue.nextBatch())
        XCTAssertEqual(queue.finish(), ["first"])
        let second = queue.nextBatch()
        XCTAssertEqual(second?.count, 3)
        XCTAssertEqual(queue.finish(), ["second", "third"])
        XCTAssertNil(queue.nextBatch(), "nothing queued")
        XCTAssertFalse(queue.isRunning)
    }
}

final class NodeStoreTests: TemporaryDirectoryTestCase {
    func entries(_ range: Range<UInt64>) -> [LogEntry] {
        range.map { LogEntry(offset: $0, leaderEpoch: 1, payload: LogPayload(producerID: 1, sequence: $0, data: [UInt8](repeating: 7, count: 32))) }
    }

    func testABatchSyncsEachStreamOnceHoweverManyFsyncsItAskedFor() throws {
        let store = try NodeStore(root: directory.path, files: PosixFileSystem())
        _ = try store.recoverRaft()
        _ = try store.run([.openStream(name: "orders"), .openStream(name: "audit")])
        let before = store.fsyncCount
        _ = try store.run([
            .append(stream: "orders", entries(0..<2)), .fsync(stream: "orders"),
            .append(stream: "orders", entries(2..<4)), .fsync(stream: "orders"),
            .append(stream: "audit", entries(0..<1)), .fsync(stream: "audit"),
            .raft(truncateFrom: nil, entries: [], hardState: nil),
        ])
        // One fsync per stream asked for, one for Raft.
        XCTAssertEqual(store.fsyncCount - before, 3)
        store.close()

        // Everything written is what a restarted node recovers.
        let reopened = try NodeStore(root: directory.path, files: PosixFileSystem())
        XCTAssertEqual(try reopened.storedStreams(), ["audit", "orders"])
        XCTAssertEqual(try reopened.recoverStream("orders").entries.map(\.offset), [0, 1, 2, 3])
        let reads = try reopened.run([.read(stream: "orders", from: 1, count: 2)])
        XCTAssertEqual(reads.map { $0.map(\.offset) }, [[1, 2]])
    }

    func testAStreamDeletedAndCreatedAgainStartsEmptyInTheSameBatch() throws {
        // The store remembers the stream it used last: a deletion must not leave it pointing at
        // the deleted stream's files.
        let store = try NodeStore(root: directory.path, files: PosixFileSystem())
        _ = try store.recoverRaft()
        _ = try store.run([.openStream(name: "orders"), .append(stream: "orders", entries(0..<3)), .fsync(stream: "orders")])
        let reads = try store.run([
            .deleteStream(name: "orders"), .openStream(name: "orders"), .append(stream: "orders", entries(0..<1)),
            .fsync(stream: "orders"), .read(stream: "orders", from: 0, count: 10),
        ])
        XCTAssertEqual(reads.map { $0.map(\.offset) }, [[0]])
        store.close()
        XCTAssertEqual(try NodeStore(root: directory.path, files: PosixFileSystem()).recoverStream("orders").entries.map(\.offset), [0])
    }

    func testADeletedStreamLeavesNothingARestartWouldRecover() throws {
        let store = try NodeStore(root: directory.path, files: PosixFileSystem())
        _ = try store.run([.openStream(name: "orders"), .append(stream: "orders", entries(0..<3)), .fsync(stream: "orders")])
        _ = try store.run([.deleteStream(name: "orders")])
        store.close()
        XCTAssertEqual(try NodeStore(root: directory.path, files: PosixFileSystem()).storedStreams(), [])
    }

    func testStreamDirectoriesEncodeAnyNameAndDecodeBack() {
        for name in ["orders", "../escape", "Orders", "ünïcode/ström", ""] {
            let encoded = "s-" + name.utf8.map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(NodeStore.streamName(directory: encoded), name)
        }
        XCTAssertNil(NodeStore.streamName(directory: "s-4"), "odd length")
        XCTAssertNil(NodeStore.streamName(directory: "s-zz"), "not hex")
        XCTAssertNil(NodeStore.streamName(directory: "raft"))
    }
}
