import Foundation
import LogStore
import Replication
import Sim
import SimCore
import XCTest

/// The live broker's log recovery (LogStore: CRC check, torn-tail truncation, index rebuild)
/// running on the simulated disk through the storage seam, under the disk's crash faults.
final class SimDiskRecoveryTests: XCTestCase {
    let directory = URL(fileURLWithPath: "/node/streams/orders")

    func entries(_ range: Range<Int>) -> [LogEntry] {
        range.map { i in
            LogEntry(offset: UInt64(i), leaderEpoch: 1,
                     payload: LogPayload(producerID: 7, sequence: UInt64(i), data: (0..<64).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) }))
        }
    }

    /// Writes 100 records in batches of 10 (small segments, so several files), syncs after the
    /// first 60, then crashes the disk; returns what a restarted store recovers.
    func crashAfterWriting(_ config: DiskConfig, seed: UInt64) throws -> RecoveredLog {
        let files = SimDiskFileSystem(disk: SimDisk(config: config, rng: SeededGenerator(seed: seed)))
        let store = try StreamLogStore(directory: directory, segmentBytes: 2048, indexIntervalBytes: 256, files: files)
        _ = try store.recover()
        for batch in stride(from: 0, to: 100, by: 10) {
            try store.append(entries(batch..<(batch + 10)))
            if batch + 10 == 60 { try store.sync() }
        }
        files.disk.crash()
        let restarted = try StreamLogStore(directory: directory, segmentBytes: 2048, indexIntervalBytes: 256, files: files)
        return try restarted.recover()
    }

    func testCrashLosesExactlyTheUnsyncedTail() throws {
        let recovered = try crashAfterWriting(DiskConfig(), seed: 1)
        XCTAssertEqual(recovered.entries, entries(0..<60))
    }

    func testTornWritesAreCutAtTheLastWholeRecord() throws {
        var lengths: Set<Int> = []
        for seed in UInt64(1)...30 {
            let recovered = try crashAfterWriting(DiskConfig(tornWrites: true), seed: seed)
            // Whatever survived is a prefix of what was written (a torn record fails its CRC
            // and is truncated with everything after it), and nothing synced is lost.
            XCTAssertGreaterThanOrEqual(recovered.entries.count, 60, "seed \(seed)")
            XCTAssertEqual(recovered.entries, entries(0..<recovered.entries.count), "seed \(seed)")
            lengths.insert(recovered.entries.count)
        }
        XCTAssertGreaterThan(lengths.count, 1, "torn tails of different lengths should survive across seeds")
    }

    func testAFlippedBitIsDetectedAndNeverServed() throws {
        var truncated = 0
        for seed in UInt64(1)...30 {
            let recovered = try crashAfterWriting(DiskConfig(corruptionProbability: 1), seed: seed)
            // A record whose bit flipped fails its CRC: recovery stops before it, so what is
            // served is always a prefix of what was written, never a corrupted record.
            XCTAssertEqual(recovered.entries, entries(0..<recovered.entries.count), "seed \(seed)")
            if recovered.entries.count < 60 { truncated += 1 }
        }
        XCTAssertGreaterThan(truncated, 0, "some flips land in synced records and cut the log there")
    }
}
