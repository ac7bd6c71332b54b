import Foundation
import LogStore
import Raft
import Replication
import SimCore
import SimStorage
import XCTest

/// The live broker's log recovery (LogStore: CRC check, torn-tail truncation, index rebuild)
/// on the simulated disk through the storage seam, under the disk's crash faults. Entries carry
/// only a modelled size, as the simulator's do.
final class SimDiskFileSystemTests: XCTestCase {
    let directory = URL(fileURLWithPath: "/node/streams/orders", isDirectory: true)

    func entries(_ range: Range<Int>) -> [LogEntry] {
        range.map { LogEntry(offset: UInt64($0), leaderEpoch: 1, payload: LogPayload(producerID: 7, sequence: UInt64($0), bytes: 512)) }
    }

    func makeFiles(_ config: DiskConfig = DiskConfig(), seed: UInt64 = 1) -> SimDiskFileSystem {
        SimDiskFileSystem(disk: SimDisk(config: config, rng: SeededGenerator(seed: seed)))
    }

    func openStore(_ files: SimDiskFileSystem) throws -> (StreamLogStore, RecoveredLog) {
        let store = try StreamLogStore(directory: directory, segmentBytes: 2048, indexIntervalBytes: 256, files: files)
        let recovered = try store.recover()
        files.completeFsyncs()
        return (store, recovered)
    }

    /// Writes 100 records in batches of 10 (small segments, so several files), syncs after the
    /// first 60 and lets those fsyncs complete, then crashes the disk; returns what a restarted
    /// store recovers.
    func crashAfterWriting(_ files: SimDiskFileSystem) throws -> (RecoveredLog, cut: UInt64) {
        let (store, _) = try openStore(files)
        for batch in stride(from: 0, to: 100, by: 10) {
            try store.append(entries(batch..<(batch + 10)))
            if batch + 10 == 60 {
                try store.sync()
                files.completeFsyncs()
            }
        }
        files.disk.crash()
        let (restarted, recovered) = try openStore(files)
        return (recovered, restarted.bytesCutByRecovery)
    }

    func testCrashLosesExactlyTheUnsyncedTail() throws {
        let (recovered, cut) = try crashAfterWriting(makeFiles())
        XCTAssertEqual(recovered.entries, entries(0..<60))
        XCTAssertEqual(cut, 0, "without torn writes the durable log ends at a record boundary")
    }

    func testAnFsyncNotYetCompletedAtTheCrashIsLost() throws {
        let files = makeFiles(DiskConfig(fsyncLatency: .constant(1_000_000)))
        let (store, _) = try openStore(files)
        try store.append(entries(0..<10))
        try store.sync()
        XCTAssertEqual(files.tickets.count, 1, "the sync began one fsync, for the driver to complete")
        XCTAssertEqual(files.latency, 1_000_000, "and reports its latency")
        files.disk.crash()
        XCTAssertEqual(try openStore(files).1.entries, [])
    }

    func testTornWritesAreDetectedAndCutAtTheLastWholeRecord() throws {
        var lengths: Set<Int> = []
        var cuts = 0
        for seed in UInt64(1)...30 {
            let (recovered, cut) = try crashAfterWriting(makeFiles(DiskConfig(tornWrites: true), seed: seed))
            // Whatever survived is a prefix of what was written (a torn record fails its CRC
            // and is truncated with everything after it), and nothing synced is lost.
            XCTAssertGreaterThanOrEqual(recovered.entries.count, 60, "seed \(seed)")
            XCTAssertEqual(recovered.entries, entries(0..<recovered.entries.count), "seed \(seed)")
            lengths.insert(recovered.entries.count)
            if cut > 0 { cuts += 1 }
        }
        XCTAssertGreaterThan(lengths.count, 1, "torn tails of different lengths should survive across seeds")
        XCTAssertGreaterThan(cuts, 0, "some tails end inside a record, which recovery cuts")
    }

    func testAFlippedBitIsDetectedAndNeverServed() throws {
        var truncated = 0
        for seed in UInt64(1)...30 {
            let (recovered, _) = try crashAfterWriting(makeFiles(DiskConfig(corruptionProbability: 1), seed: seed))
            // A record whose bit flipped fails its CRC: recovery stops before it, so what is
            // served is always a prefix of what was written, never a corrupted record.
            XCTAssertEqual(recovered.entries, entries(0..<recovered.entries.count), "seed \(seed)")
            if recovered.entries.count < 60 { truncated += 1 }
        }
        XCTAssertGreaterThan(truncated, 0, "some flips land in synced records and cut the log there")
    }

    func testAGarbledOrMissingIndexIsRebuiltOnRecovery() throws {
        let files = makeFiles()
        let (store, _) = try openStore(files)
        try store.append(entries(0..<30))
        try store.sync()
        files.completeFsyncs()
        let index = directory.path + "/00000000000000000000.index"
        let intact = files.disk.read(index)
        XCTAssertFalse(intact.isEmpty, "records 256 bytes apart are indexed")

        _ = files.disk.write(index, at: 0, [UInt8](repeating: 0xFF, count: intact.count + 5))
        var (reopened, recovered) = try openStore(files)
        XCTAssertEqual(recovered.entries.count, 30)
        XCTAssertEqual(files.disk.read(index), intact, "the garbled index is recomputed from the log")
        XCTAssertEqual(try reopened.read(from: 17, maxEntries: 1, maxBytes: 0), entries(17..<18))

        files.disk.remove(index)
        (reopened, recovered) = try openStore(files)
        XCTAssertEqual(files.disk.read(index), intact, "a missing index is written again")
        XCTAssertEqual(try reopened.read(from: 29, maxEntries: 1, maxBytes: 0), entries(29..<30))
    }

    /// A checkpoint is replaced by rename: a crash before its fsyncs complete leaves the old one
    /// whole, torn writes or not.
    func testACrashMidCheckpointKeepsThePreviousOne() throws {
        for seed in UInt64(1)...10 {
            let files = makeFiles(DiskConfig(tornWrites: true), seed: seed)
            let (store, _) = try openStore(files)
            try store.writeEpochCache([EpochStart(epoch: 1, startOffset: 0)])
            files.completeFsyncs()
            try store.writeEpochCache([EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 2, startOffset: 40)])
            XCTAssertGreaterThanOrEqual(files.tickets.count, 2, "the temporary file's fsync and the directory's")
            files.disk.crash()
            XCTAssertEqual(try openStore(files).1.epochCache, [EpochStart(epoch: 1, startOffset: 0)], "seed \(seed)")
        }
    }

    func testRaftHardStateAndLogSurviveACrashOnceSynced() throws {
        let files = makeFiles(DiskConfig(tornWrites: true), seed: 3)
        let raftDirectory = URL(fileURLWithPath: "/node/raft", isDirectory: true)
        let store = try RaftLogStore(directory: raftDirectory, files: files)
        _ = try store.recover()
        files.completeFsyncs()
        let synced = (1...3).map { RaftEntry<MetadataCommand>(term: 2, index: LogIndex($0), command: .deleteStream(name: "s\($0)")) }
        try store.append(synced)
        try store.setHardState(HardState(term: 2, votedFor: 1, commitIndex: 3))
        try store.sync()
        files.completeFsyncs()
        try store.append([RaftEntry(term: 2, index: 4, command: .deleteStream(name: "s4"))])
        try store.setHardState(HardState(term: 3, votedFor: 2, commitIndex: 4))
        try store.sync()  // never completed
        files.disk.crash()
        let recovered = try RaftLogStore(directory: raftDirectory, files: files).recover()
        XCTAssertEqual(recovered.hardState, HardState(term: 2, votedFor: 1, commitIndex: 3))
        XCTAssertEqual(Array(recovered.entries.prefix(3)), synced)
    }

    func testADirectorySyncMakesDurableOnlyItsOwnEntries() throws {
        let files = makeFiles()
        for path in ["/d/x", "/d/sub/y", "/dd/z", "/d/w"] { _ = try files.open(path, create: true, truncate: false, readOnly: false) }
        try files.syncDirectory("/d")
        files.completeFsyncs()
        files.disk.crash()
        // "/d/x" and "/d/w" are entries of /d; "/d/sub/y" is one of /d/sub and "/dd/z" of /dd.
        XCTAssertEqual(files.disk.files, ["/d/w", "/d/x"])
    }
}
