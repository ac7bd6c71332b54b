import Foundation
import LogStore
import Replication
import XCTest

/// Throughput of the append path, printed, not asserted (it depends on the disk). 100k
/// entries of 512 bytes in batches of 64, as a leader's appends would arrive.
final class StreamLogStoreBenchmarkTests: TemporaryDirectoryTestCase {
    func testAppendThroughput() throws {
        let count = 100_000
        let batchSize = 64
        let data = (0..<512).map { UInt8(truncatingIfNeeded: $0) }
        let batches = stride(from: 0, to: count, by: batchSize).map { start in
            (start..<min(start + batchSize, count)).map {
                LogEntry(offset: UInt64($0), leaderEpoch: 1,
                         payload: LogPayload(producerID: 1, sequence: UInt64($0), bytes: data.count, data: data))
            }
        }
        for syncEveryBatch in [false, true] {
            let directory = self.directory.appendingPathComponent(syncEveryBatch ? "synced" : "unsynced")
            let store = try StreamLogStore(directory: directory)
            _ = try store.recover()
            let start = Date()
            for batch in batches {
                try store.append(batch)
                if syncEveryBatch { try store.sync() }
            }
            try store.sync()
            let seconds = Date().timeIntervalSince(start)
            store.close()

            let recoveryStart = Date()
            let reopened = try StreamLogStore(directory: directory)
            let recovered = try reopened.recover()
            let recoverySeconds = Date().timeIntervalSince(recoveryStart)
            XCTAssertEqual(recovered.entries.count, count)
            let readStart = Date()
            var offset: UInt64 = 0
            while offset < UInt64(count) {
                offset += UInt64(try reopened.read(from: offset, maxEntries: 500, maxBytes: 1 << 20).count)
            }
            let readSeconds = Date().timeIntervalSince(readStart)
            reopened.close()

            let megabytes = Double(count * 512) / 1_000_000
            print(String(format: "LogStore benchmark (%@): append %.0f entries/s, %.1f MB/s, %.2f s; recover %.2f s; read %.0f entries/s",
                         syncEveryBatch ? "fsync per 64-entry batch" : "no fsync until the end",
                         Double(count) / seconds, megabytes / seconds, seconds, recoverySeconds,
                         Double(count) / readSeconds))
        }
    }
}
