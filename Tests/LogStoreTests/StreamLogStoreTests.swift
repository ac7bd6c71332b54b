import Foundation
@testable import LogStore
import Replication
import XCTest

/// The top bit of a producer id: a hashed `Nats-Msg-Id` (see `MessageIdentity`).
private enum MessageIDBit { static let value: UInt64 = 1 << 63 }

final class StreamLogStoreTests: TemporaryDirectoryTestCase {
    /// Ten 20-byte records fill a segment exactly.
    let tenRecords = 10 * recordSize(20)

    func open(segmentBytes: Int? = nil, indexIntervalBytes: Int = 4096) throws -> (StreamLogStore, RecoveredLog) {
        let store = try StreamLogStore(
            directory: directory, segmentBytes: segmentBytes ?? tenRecords, indexIntervalBytes: indexIntervalBytes)
        return (store, try store.recover())
    }

    func appendBatches(_ store: StreamLogStore, _ entries: [LogEntry], batch: Int) throws {
        for start in stride(from: 0, to: entries.count, by: batch) {
            try store.append(Array(entries[start..<min(start + batch, entries.count)]))
        }
    }

    func testCRC32CMatchesTheCastagnoliCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let split = long[..<333].withUnsafeBytes { CRC32C.checksum($0) }
        XCTAssertEqual(long[333...].withUnsafeBytes { CRC32C.checksum($0, continuing: split) }, CRC32C.checksum(long))
    }

    func testHardwareAndTableCRC32CAgree() {
        // Every length up to three 8-byte words past a boundary, at odd starting offsets, and
        // continued from a previous CRC: the instruction's path must give the table's values.
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        bytes.withUnsafeBytes { raw in
            for start in [0, 1, 3, 7] {
                for count in 0..<(raw.count - start) where count < 40 || count % 37 == 0 {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<start + count])
                    XCTAssertEqual(CRC32C.checksum(slice), CRC32C.tableChecksum(slice), "start \(start), count \(count)")
                    XCTAssertEqual(CRC32C.checksum(slice, continuing: 0xDEAD_BEEF), CRC32C.tableChecksum(slice, continuing: 0xDEAD_BEEF))
                }
            }
        }
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32C.tableChecksum($0) }, 0xE306_9283)
    }

    func testNewDirectoryRecoversEmpty() throws {
        let (store, recovered) = try open()
        XCTAssertEqual(recovered, RecoveredLog.empty)
        XCTAssertEqual(store.endOffset, 0)
        XCTAssertEqual(try store.read(from: 0, maxEntries: 10, maxBytes: 1000), [])
        XCTAssertEqual(try files(withSuffix: ".log"), ["00000000000000000000.log"])
    }

    func testRoundTripAcrossSegmentRolls() throws {
        let entries = makeEntries(from: 0, count: 100)
        do {
            let (store, _) = try open()
            try appendBatches(store, entries, batch: 7)
            try store.sync()
            XCTAssertEqual(store.endOffset, 100)
            store.close()
        }
        XCTAssertEqual(try files(withSuffix: ".log"), stride(from: 0, to: 100, by: 10).map { Segment.logName(UInt64($0)) })
        for name in try files(withSuffix: ".log") { XCTAssertEqual(try fileSize(name), tenRecords) }

        let (store, recovered) = try open()
        XCTAssertEqual(recovered.entries, entries)
        XCTAssertEqual(store.endOffset, 100)
        try store.append(makeEntries(from: 100, count: 3, epoch: 2))
        store.close()
        XCTAssertEqual(try open().1.entries, entries + makeEntries(from: 100, count: 3, epoch: 2))
    }

    func testModelledSizeWithoutDataRoundTrips() throws {
        let simulated = (0..<5).map {
            LogEntry(offset: UInt64($0), leaderEpoch: 4, payload: LogPayload(producerID: 1, sequence: UInt64($0), bytes: 512))
        }
        let (store, _) = try open()
        try store.append(simulated)
        store.close()
        XCTAssertEqual(try open().1.entries, simulated)
    }

    func testTruncateThenAppendThenRecover() throws {
        let entries = makeEntries(from: 0, count: 100)
        do {
            let (store, _) = try open()
            try appendBatches(store, entries, batch: 10)
            try store.truncate(from: 35)
            XCTAssertEqual(store.endOffset, 35)
            XCTAssertEqual(try files(withSuffix: ".log"), [0, 10, 20, 30].map { Segment.logName($0) })
            XCTAssertEqual(try fileSize(Segment.logName(30)), 5 * recordSize(20))
            try store.truncate(from: 500) // past the end: nothing to do
            try store.append(makeEntries(from: 35, count: 8, epoch: 2))
            try store.sync()
            store.close()
        }
        do {
            let (store, recovered) = try open()
            XCTAssertEqual(recovered.entries, Array(entries[..<35]) + makeEntries(from: 35, count: 8, epoch: 2))
            // Truncating at a segment's base leaves that segment empty but in place.
            try store.truncate(from: 30)
            XCTAssertEqual(try files(withSuffix: ".log"), [0, 10, 20, 30].map { Segment.logName($0) })
            XCTAssertEqual(try fileSize(Segment.logName(30)), 0)
            try store.append(makeEntries(from: 30, count: 1, epoch: 3))
            store.close()
        }
        do {
            let (store, recovered) = try open()
            XCTAssertEqual(recovered.entries, Array(entries[..<30]) + makeEntries(from: 30, count: 1, epoch: 3))
            try store.truncate(from: 0)
            XCTAssertEqual(try files(withSuffix: ".log"), [Segment.logName(0)])
            try store.append(makeEntries(from: 0, count: 2, epoch: 9))
            store.close()
        }
        XCTAssertEqual(try open().1.entries, makeEntries(from: 0, count: 2, epoch: 9))
    }

    func testAppendRefusesGapsAndEpochsGoingBackwards() throws {
        let (store, _) = try open()
        try store.append(makeEntries(from: 0, count: 3, epoch: 2))
        XCTAssertThrowsError(try store.append(makeEntries(from: 4, count: 1, epoch: 2))) {
            XCTAssertEqual($0 as? LogStoreError, .nonContiguousAppend(expected: 3, found: 4))
        }
        XCTAssertThrowsError(try store.append(makeEntries(from: 3, count: 1, epoch: 1))) {
            XCTAssertEqual($0 as? LogStoreError, .epochWentBackwards(position: 3, epoch: 1, previous: 2))
        }
        // A refused append writes nothing and leaves the store usable.
        try store.append(makeEntries(from: 3, count: 1, epoch: 5))
        try store.truncate(from: 3)
        try store.append(makeEntries(from: 3, count: 1, epoch: 3)) // epoch 5 is gone with offset 3
        XCTAssertEqual(try store.read(from: 0, maxEntries: 10, maxBytes: 10_000),
                       makeEntries(from: 0, count: 3, epoch: 2) + makeEntries(from: 3, count: 1, epoch: 3))
    }

    func testReadAcrossSegmentsWithLimits() throws {
        let entries = makeEntries(from: 0, count: 100)
        let (store, _) = try open(indexIntervalBytes: 100)
        try appendBatches(store, entries, batch: 13)
        for from in [0, 1, 9, 10, 11, 37, 90, 99] {
            let got = try store.read(from: UInt64(from), maxEntries: 25, maxBytes: 1 << 20)
            XCTAssertEqual(got, Array(entries[from..<min(from + 25, 100)]), "from \(from)")
        }
        XCTAssertEqual(try store.read(from: 5, maxEntries: 100, maxBytes: 3 * recordSize(20)), Array(entries[5..<8]))
        XCTAssertEqual(try store.read(from: 5, maxEntries: 100, maxBytes: 3 * recordSize(20) - 1), Array(entries[5..<7]))
        XCTAssertEqual(try store.read(from: 42, maxEntries: 100, maxBytes: 0), [entries[42]], "always at least one")
        XCTAssertEqual(try store.read(from: 100, maxEntries: 10, maxBytes: 1000), [])
        XCTAssertEqual(try store.read(from: 0, maxEntries: 0, maxBytes: 1000), [])
        XCTAssertEqual(try store.read(from: 0, maxEntries: 1000, maxBytes: 1 << 20), entries)
    }

    func testReadSeeksThroughTheIndexInsteadOfScanning() throws {
        let entries = makeEntries(from: 0, count: 50)
        let (store, _) = try open(segmentBytes: 1 << 20, indexIntervalBytes: 200)
        try store.append(entries)
        XCTAssertGreaterThan(try fileSize(Segment.indexName(0)), 0)
        // Wreck the first record's length behind the store's back: a scan from the segment
        // start would trip over it; a seek through the index never reads it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(Segment.logName(0))))
        try handle.write(contentsOf: [0xFF, 0xFF, 0xFF, 0x7F])
        try handle.close()
        XCTAssertEqual(try store.read(from: 40, maxEntries: 5, maxBytes: 1 << 20), Array(entries[40..<45]))
        XCTAssertThrowsError(try store.read(from: 0, maxEntries: 1, maxBytes: 1 << 20))
    }

    func testTornTailIsCutAndAppendsContinue() throws {
        let entries = makeEntries(from: 0, count: 25)
        do {
            let (store, _) = try open()
            try store.append(entries)
            store.close()
        }
        try chop(Segment.logName(20), bytes: 3)
        do {
            let (store, recovered) = try open()
            XCTAssertEqual(recovered.entries, Array(entries[..<24]))
            XCTAssertEqual(try fileSize(Segment.logName(20)), 4 * recordSize(20))
            try store.append(makeEntries(from: 24, count: 2, epoch: 2))
            store.close()
        }
        XCTAssertEqual(try open().1.entries, Array(entries[..<24]) + makeEntries(from: 24, count: 2, epoch: 2))
    }

    func testTornHeaderAndZeroFilledTailAreCut() throws {
        let entries = makeEntries(from: 0, count: 5)
        do {
            let (store, _) = try open(segmentBytes: 1 << 20)
            try store.append(entries)
            store.close()
        }
        // Five bytes of a sixth record's header, then the zeros a file system may leave.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(Segment.logName(0))))
        try handle.seekToEnd()
        try handle.write(contentsOf: [48, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 4000))
        try handle.close()
        let (store, recovered) = try open(segmentBytes: 1 << 20)
        XCTAssertEqual(recovered.entries, entries)
        XCTAssertEqual(try fileSize(Segment.logName(0)), 5 * recordSize(20))
        try store.append(makeEntries(from: 5, count: 1))
        XCTAssertEqual(store.endOffset, 6)
    }

    func testFlippedByteMidLogCutsThereAndDropsLaterSegments() throws {
        let entries = makeEntries(from: 0, count: 30)
        do {
            let (store, _) = try open()
            try store.append(entries)
            store.close()
        }
        // Offset 14: the fifth record of segment 10; flip a byte of its message.
        try flipByte(Segment.logName(10), at: 4 * recordSize(20) + 56 + 3)
        do {
            let (store, recovered) = try open()
            XCTAssertEqual(recovered.entries, Array(entries[..<14]))
            XCTAssertEqual(try files(withSuffix: ".log"), [0, 10].map { Segment.logName($0) })
            XCTAssertEqual(try files(withSuffix: ".index"), [0, 10].map { Segment.indexName($0) })
            XCTAssertEqual(try fileSize(Segment.logName(10)), 4 * recordSize(20))
            try store.append(makeEntries(from: 14, count: 10, epoch: 2))
            store.close()
        }
        XCTAssertEqual(try open().1.entries, Array(entries[..<14]) + makeEntries(from: 14, count: 10, epoch: 2))
    }

    func testFlippedLengthFieldIsCaughtByTheChecksum() throws {
        let entries = makeEntries(from: 0, count: 6)
        do {
            let (store, _) = try open(segmentBytes: 1 << 20)
            try store.append(entries)
            store.close()
        }
        try flipByte(Segment.logName(0), at: 3 * recordSize(20)) // low byte of record 3's length
        XCTAssertEqual(try open(segmentBytes: 1 << 20).1.entries, Array(entries[..<3]))
    }

    func testMissingSegmentDropsEverythingAfterTheGap() throws {
        let entries = makeEntries(from: 0, count: 40)
        do {
            let (store, _) = try open()
            try store.append(entries)
            store.close()
        }
        try FileManager.default.removeItem(atPath: path(Segment.logName(20)))
        let (_, recovered) = try open()
        XCTAssertEqual(recovered.entries, Array(entries[..<20]))
        XCTAssertEqual(try files(withSuffix: ".log"), [0, 10].map { Segment.logName($0) })
    }

    func testRecoveryDropsEntriesWhoseEpochGoesBackwards() throws {
        // Splice a log by hand: five records of epoch 3, then records of epoch 1 at 5..<8.
        let source = directory.appendingPathComponent("source")
        let high = try StreamLogStore(directory: source.appendingPathComponent("a"), segmentBytes: 1 << 20)
        _ = try high.recover()
        try high.append(makeEntries(from: 0, count: 5, epoch: 3))
        high.close()
        let low = try StreamLogStore(directory: source.appendingPathComponent("b"), segmentBytes: 1 << 20)
        _ = try low.recover()
        try low.append(makeEntries(from: 0, count: 8, epoch: 1))
        low.close()
        let a = try Data(contentsOf: source.appendingPathComponent("a/" + Segment.logName(0)))
        let b = try Data(contentsOf: source.appendingPathComponent("b/" + Segment.logName(0)))
        let target = directory.appendingPathComponent("spliced")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try (a + b.dropFirst(5 * recordSize(20))).write(to: target.appendingPathComponent(Segment.logName(0)))

        let store = try StreamLogStore(directory: target, segmentBytes: 1 << 20)
        XCTAssertEqual(try store.recover().entries, makeEntries(from: 0, count: 5, epoch: 3))
        XCTAssertEqual(store.endOffset, 5)
        try store.append(makeEntries(from: 5, count: 1, epoch: 3))
    }

    func testMissingOrCorruptIndexIsRebuilt() throws {
        let entries = makeEntries(from: 0, count: 30)
        var original: [String: Data] = [:]
        do {
            let (store, _) = try open(indexIntervalBytes: 100)
            try store.append(entries)
            store.close()
        }
        for name in try files(withSuffix: ".index") {
            original[name] = try Data(contentsOf: URL(fileURLWithPath: path(name)))
            XCTAssertFalse(original[name]!.isEmpty)
        }
        // Segment 0: index gone. Segment 10: entries pointing at the wrong records. Segment 20:
        // a torn last entry.
        try FileManager.default.removeItem(atPath: path(Segment.indexName(0)))
        var wrong = [UInt8](original[Segment.indexName(10)]!)
        wrong[4] &+= 1
        try Data(wrong).write(to: URL(fileURLWithPath: path(Segment.indexName(10))))
        try chop(Segment.indexName(20), bytes: 5)

        let (store, recovered) = try open(indexIntervalBytes: 100)
        XCTAssertEqual(recovered.entries, entries)
        for (name, bytes) in original {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path(name))), bytes, name)
        }
        for from in [3, 13, 27] {
            XCTAssertEqual(try store.read(from: UInt64(from), maxEntries: 2, maxBytes: 1 << 20), Array(entries[from..<from + 2]))
        }
    }

    func testCheckpointsRoundTrip() throws {
        let epochs = [EpochStart(epoch: 1, startOffset: 0), EpochStart(epoch: 4, startOffset: 17)]
        do {
            let (store, _) = try open()
            try store.writeHighWatermark(7)
            try store.writeEpochCache([EpochStart(epoch: 1, startOffset: 0)])
            try store.writeHighWatermark(42)
            try store.writeEpochCache(epochs)
            store.close()
        }
        let recovered = try open().1
        XCTAssertEqual(recovered.highWatermarkCheckpoint, 42)
        XCTAssertEqual(recovered.epochCache, epochs)
        XCTAssertEqual(try files(withSuffix: ".tmp"), [])
    }

    func testProducerSnapshotRoundTripsAndACorruptOneReadsAsNone() throws {
        // A ring that wrapped (head 1): stored oldest first, so it reads back with head 0.
        let wrapped = ProducerTable.Producer(id: 7, epoch: 3, lastSequence: 12, offsets: [40, 20, 30], head: 1)
        let single = ProducerTable.Producer(id: MessageIDBit.value | 99, epoch: 0, lastSequence: 0, offsets: [5])
        let snapshot = ProducerSnapshot(endOffset: 41, lastEntryEpoch: 2, producers: [wrapped, single])
        do {
            let (store, _) = try open()
            try store.writeProducerSnapshot(snapshot)
            store.close()
        }
        let read = try XCTUnwrap(try open().1.producerSnapshot)
        XCTAssertEqual(read.endOffset, 41)
        XCTAssertEqual(read.lastEntryEpoch, 2)
        XCTAssertEqual(read.producers.map(\.id), [7, MessageIDBit.value | 99])
        XCTAssertEqual(read.producers[0].offsets, [20, 30, 40], "oldest first")
        for sequence in UInt64(10)...12 {
            XCTAssertEqual(read.producers[0].offset(of: sequence), wrapped.offset(of: sequence), "sequence \(sequence)")
        }
        XCTAssertNil(read.producers[0].offset(of: 9), "older than the window")

        try flipByte(StreamLogStore.producerSnapshotFile, at: 20)
        XCTAssertNil(try open().1.producerSnapshot, "a damaged snapshot is ignored: the replica rebuilds from the log")
    }

    func testCorruptOrMissingCheckpointsReadAsDefaults() throws {
        let (store, _) = try open()
        try store.writeHighWatermark(42)
        try store.writeEpochCache([EpochStart(epoch: 2, startOffset: 5)])
        store.close()

        try flipByte(StreamLogStore.highWatermarkFile, at: 14)
        try chop(StreamLogStore.epochCacheFile, bytes: 1)
        var recovered = try open().1
        XCTAssertEqual(recovered.highWatermarkCheckpoint, 0)
        XCTAssertEqual(recovered.epochCache, [])

        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path(StreamLogStore.highWatermarkFile)))
        try FileManager.default.removeItem(atPath: path(StreamLogStore.epochCacheFile))
        // A temp file left by a crash mid-checkpoint is ignored and cleared.
        try Data([9, 9]).write(to: URL(fileURLWithPath: path(StreamLogStore.epochCacheFile + ".tmp")))
        recovered = try open().1
        XCTAssertEqual(recovered.highWatermarkCheckpoint, 0)
        XCTAssertEqual(recovered.epochCache, [])
        XCTAssertEqual(try files(withSuffix: ".tmp"), [])
    }

    func testOperationsNeedRecoveryAndAnOpenStore() throws {
        let store = try StreamLogStore(directory: directory)
        XCTAssertThrowsError(try store.append(makeEntries(from: 0, count: 1))) {
            XCTAssertEqual($0 as? LogStoreError, .notRecovered)
        }
        _ = try store.recover()
        store.close()
        XCTAssertThrowsError(try store.read(from: 0, maxEntries: 1, maxBytes: 1)) {
            XCTAssertEqual($0 as? LogStoreError, .closed)
        }
    }
}
