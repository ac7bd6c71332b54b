import Foundation
import Replication

/// The disk of one stream replica in live mode: a segmented log, its offset indexes, and the
/// high-water-mark and leader-epoch checkpoints, in one directory. It carries out the
/// `ReplicaEffect`s that touch storage (`appendToLog`, `truncateLog`, `fsync`,
/// `checkpointHighWatermark`, `persistEpochCache`, `persistProducerSnapshot`) and produces the `RecoveredLog` of a restart.
///
/// Blocking file I/O: the broker runs each store on its storage thread. Not internally
/// synchronised; one thread at a time (hence `@unchecked Sendable`: it may be handed over, not
/// shared).
///
/// Durability follows the replica's contract: appends and truncations reach the disk with the
/// next `sync()`; checkpoints are durable when their call returns. A crash at any point leaves
/// files that `recover()` turns into a dense prefix of what was written (see `recover()`).
public final class StreamLogStore: @unchecked Sendable {
    public let directory: URL
    /// A segment is rolled before it would grow past this many bytes (a single record larger
    /// than this gets a segment of its own).
    public let segmentBytes: Int
    /// Spacing of the sparse offset index (see `Segment`).
    public let indexIntervalBytes: Int
    /// The offset the next appended entry must have.
    public private(set) var endOffset: UInt64 = 0
    /// Bytes the last `recover()` discarded: the tail from the first record that failed its
    /// checks, and every segment after it.
    public private(set) var bytesCutByRecovery: UInt64 = 0

    static let highWatermarkFile = "high-watermark.checkpoint"
    static let epochCacheFile = "leader-epoch.checkpoint"
    static let producerSnapshotFile = "producer-state.snapshot"

    private let path: String
    private let highWatermarkCheckpoint: Checkpoint.File
    private let epochCacheCheckpoint: Checkpoint.File
    private let producerSnapshotCheckpoint: Checkpoint.File
    private var state = StoreState.unrecovered
    /// In offset order; the last one is the active segment.
    private var segments: [Segment] = []
    /// Where the bytes go: real files live, the simulated disk in simulation.
    let files: any StoreFileSystem
    private var activeLog: (any StoreFile)?
    private var activeIndex: (any StoreFile)?
    private var activeUnsynced = false
    /// Segments rolled since the last sync, still to be fsynced (then closed) by `sync()`.
    private var rolledUnsynced: [UInt64: any StoreFile] = [:]
    private var directoryUnsynced = false
    /// The leader epoch of the last entry (0 for an empty log).
    private var lastEpoch: UInt64 = 0

    public init(directory: URL, segmentBytes: Int = 64 << 20, indexIntervalBytes: Int = 4096,
                files: any StoreFileSystem = PosixFileSystem()) throws {
        self.files = files
        precondition(segmentBytes > 0 && indexIntervalBytes > 0)
        self.directory = directory
        self.path = directory.path
        highWatermarkCheckpoint = Checkpoint.File(name: Self.highWatermarkFile, in: path)
        epochCacheCheckpoint = Checkpoint.File(name: Self.epochCacheFile, in: path)
        producerSnapshotCheckpoint = Checkpoint.File(name: Self.producerSnapshotFile, in: path)
        self.segmentBytes = segmentBytes
        self.indexIntervalBytes = indexIntervalBytes
        try files.makeDirectory(path)
    }

    deinit { close() }

    // MARK: Recovery

    /// Reads what the disk kept and opens the log for appending. Must run before anything else
    /// (and again after a failed write).
    ///
    /// Scans the segments in offset order and verifies every record: its checksum, that its
    /// offset is the next one (dense from 0), and that its leader epoch does not go backwards.
    /// At the first record that fails (a torn write, a flipped bit, a gap) the segment is cut
    /// there and every later segment is deleted, and the repair is made durable before
    /// returning: a crash mid-write never makes recovery fail or return garbage. Offset indexes
    /// are recomputed and rewritten when they differ. A missing or corrupt checkpoint reads as 0
    /// (high-water mark) or empty (epoch cache) — the replica rebuilds both from the log.
    public func recover() throws -> RecoveredLog {
        closeFiles()
        state = .failed
        segments = []
        endOffset = 0
        lastEpoch = 0
        bytesCutByRecovery = 0

        let names = try files.list(path)
        for name in names where name.hasSuffix(".tmp") {
            try files.remove(path + "/" + name)
        }
        let bases = names.compactMap { Segment.baseOffset(ofFile: $0, suffix: ".log") }.sorted()
        let logBases = Set(bases)
        for name in names {
            if let base = Segment.baseOffset(ofFile: name, suffix: ".index"), !logBases.contains(base) {
                try files.remove(path + "/" + name)
            }
        }

        var entries: [LogEntry] = []
        var repaired = false
        var cut = false
        for base in bases {
            guard !cut, base == UInt64(entries.count) else {
                // After a cut, or a gap between segments: nothing here can be part of the log.
                bytesCutByRecovery += try files.open(path + "/" + Segment.logName(base), readOnly: true).size()
                try deleteFiles(of: base)
                repaired = true
                cut = true
                continue
            }
            let log = try files.open(path + "/" + Segment.logName(base))
            let bytes = try log.read(count: Int(try log.size()), at: 0)
            var segment = Segment(baseOffset: base)
            var lastIndexed: UInt64 = 0
            bytes.withUnsafeBytes { raw in
                var position = 0
                while position < raw.count {
                    guard case .entry(let entry, let size) = StreamRecord.parse(raw, at: position),
                        entry.offset == segment.endOffset, entry.leaderEpoch >= lastEpoch
                    else { return }
                    if let indexEntry = segment.indexEntry(
                        offset: entry.offset, position: UInt64(position), lastIndexed: lastIndexed,
                        interval: indexIntervalBytes)
                    {
                        segment.index.append(indexEntry)
                        lastIndexed = indexEntry.position
                    }
                    entries.append(entry)
                    lastEpoch = entry.leaderEpoch
                    position += size
                    segment.size = UInt64(position)
                    segment.endOffset += 1
                }
            }
            if segment.size < UInt64(bytes.count) {
                bytesCutByRecovery += UInt64(bytes.count) - segment.size
                try log.truncate(to: segment.size)
                try log.sync()
                repaired = true
                cut = true
            }
            log.close()
            try rewriteIndexIfStale(segment)
            segments.append(segment)
        }
        if segments.isEmpty {
            try createSegmentFiles(0)
            segments.append(Segment(baseOffset: 0))
            repaired = true
        }
        if repaired { try files.syncDirectory(path) }
        directoryUnsynced = false

        let active = segments[segments.count - 1]
        activeLog = try files.open(path + "/" + Segment.logName(active.baseOffset))
        activeIndex = try files.open(path + "/" + Segment.indexName(active.baseOffset), create: true)
        endOffset = UInt64(entries.count)
        state = .open

        var recovered = RecoveredLog(entries: entries)
        if case .valid(let payload) = try Checkpoint.read(highWatermarkCheckpoint, files: files),
            payload.count == 8
        {
            recovered.highWatermarkCheckpoint = payload.withUnsafeBytes { $0.littleEndian(at: 0, as: UInt64.self) }
        }
        if case .valid(let payload) = try Checkpoint.read(epochCacheCheckpoint, files: files) {
            recovered.epochCache = Self.decodeEpochCache(payload) ?? []
        }
        if case .valid(let payload) = try Checkpoint.read(producerSnapshotCheckpoint, files: files) {
            // Undecodable reads as none: the replica rebuilds its producer table from the log.
            recovered.producerSnapshot = Self.decodeProducerSnapshot(payload)
        }
        return recovered
    }

    private func rewriteIndexIfStale(_ segment: Segment) throws {
        let expected = Segment.encode(segment.index)
        let indexPath = path + "/" + Segment.indexName(segment.baseOffset)
        if files.exists(indexPath) {
            let file = try files.open(indexPath, readOnly: true)
            let size = try file.size()
            if size == UInt64(expected.count), try file.read(count: expected.count, at: 0) == expected { return }
        }
        let file = try files.open(indexPath, create: true, truncate: true)
        try file.write(expected, at: 0)
    }

    // MARK: Writing

    /// Appends entries that start at `endOffset`, dense, with leader epochs that never go
    /// backwards. One `write` per segment touched (normally one per call), not per record.
    /// Durable after the next `sync()`.
    public func append(_ entries: [LogEntry]) throws {
        try state.checkOpen()
        var epoch = lastEpoch
        for i in entries.indices {
            let (offset, leaderEpoch) = (entries[i].offset, entries[i].leaderEpoch)
            guard offset == endOffset + UInt64(i) else {
                throw LogStoreError.nonContiguousAppend(expected: endOffset + UInt64(i), found: offset)
            }
            guard leaderEpoch >= epoch else {
                throw LogStoreError.epochWentBackwards(position: offset, epoch: leaderEpoch, previous: epoch)
            }
            epoch = leaderEpoch
        }
        guard !entries.isEmpty else { return }
        try failing {
            // One encoding buffer for the store's life (a simulated broker appends per record,
            // and a fresh array per append was an allocation each time).
            var buffer = scratch
            scratch = []
            defer {
                buffer.removeAll(keepingCapacity: true)
                scratch = buffer
            }
            var newIndex: [Segment.IndexEntry] = []
            var lastIndexed = segments[segments.count - 1].index.last?.position ?? 0
            var pending = 0
            // Through the buffer, read in place: binding an entry (`for entry in`) or passing
            // `entries[index]` on copied it whole, through its value witness, for every record.
            try entries.withUnsafeBufferPointer { entries in
                for index in entries.indices {
                    let size = StreamRecord.encodedSize(dataCount: entries[index].payload.data.count)
                    let used = Int(segments[segments.count - 1].size) + buffer.count
                    if used > 0, used + size > segmentBytes {
                        try write(&buffer, &newIndex, count: pending)
                        pending = 0
                        try roll()
                        lastIndexed = 0
                    }
                    let position = segments[segments.count - 1].size + UInt64(buffer.count)
                    if let indexEntry = segments[segments.count - 1].indexEntry(
                        offset: entries[index].offset, position: position, lastIndexed: lastIndexed, interval: indexIntervalBytes)
                    {
                        newIndex.append(indexEntry)
                        lastIndexed = position
                    }
                    StreamRecord.append(entries.baseAddress! + index, to: &buffer)
                    pending += 1
                }
            }
            try write(&buffer, &newIndex, count: pending)
            lastEpoch = epoch
        }
    }

    /// `append`'s encoding buffer, kept between calls (empty, with its capacity).
    private var scratch: [UInt8] = []

    /// Writes `count` encoded records to the end of the active segment.
    private func write(_ buffer: inout [UInt8], _ newIndex: inout [Segment.IndexEntry], count: Int) throws {
        guard !buffer.isEmpty else { return }
        let last = segments.count - 1
        try activeLog!.write(buffer, at: segments[last].size)
        activeUnsynced = true
        if !newIndex.isEmpty {
            try activeIndex!.write(Segment.encode(newIndex), at: UInt64(segments[last].index.count * Segment.indexEntrySize))
            segments[last].index += newIndex
        }
        segments[last].size += UInt64(buffer.count)
        segments[last].endOffset += UInt64(count)
        endOffset = segments[last].endOffset
        buffer.removeAll(keepingCapacity: true)
        newIndex.removeAll()
    }

    private func roll() throws {
        let old = segments[segments.count - 1]
        if activeUnsynced, let log = activeLog {
            rolledUnsynced[old.baseOffset] = log
        } else {
            activeLog?.close()
        }
        activeIndex?.close()
        activeLog = nil
        activeIndex = nil
        activeUnsynced = false
        let (log, index) = try createSegmentFiles(endOffset)
        activeLog = log
        activeIndex = index
        segments.append(Segment(baseOffset: endOffset))
    }

    @discardableResult
    private func createSegmentFiles(_ base: UInt64) throws -> (log: any StoreFile, index: any StoreFile) {
        let log = try files.open(path + "/" + Segment.logName(base), create: true, truncate: true)
        let index = try files.open(path + "/" + Segment.indexName(base), create: true, truncate: true)
        directoryUnsynced = true
        return (log, index)
    }

    private func deleteFiles(of base: UInt64) throws {
        try files.remove(path + "/" + Segment.logName(base))
        try files.remove(path + "/" + Segment.indexName(base))
        directoryUnsynced = true
    }

    /// Drops every entry at or after `offset` (`ReplicaEffect.truncateLog`): deletes the
    /// segments that start after it and cuts the one that holds it. Durable after the next
    /// `sync()`.
    public func truncate(from offset: UInt64) throws {
        try state.checkOpen()
        guard offset < endOffset else { return }
        try failing {
            let keep = segments.lastIndex { $0.baseOffset <= offset }!
            let position = try self.position(of: offset, inSegment: keep)
            let activeBase = segments[segments.count - 1].baseOffset
            for segment in segments[(keep + 1)...] {
                rolledUnsynced.removeValue(forKey: segment.baseOffset)?.close()
                try deleteFiles(of: segment.baseOffset)
            }
            let base = segments[keep].baseOffset
            if base != activeBase {
                activeLog?.close()
                activeIndex?.close()
                if let log = rolledUnsynced.removeValue(forKey: base) {
                    activeLog = log
                } else {
                    activeLog = try files.open(path + "/" + Segment.logName(base))
                }
                activeIndex = try files.open(path + "/" + Segment.indexName(base), create: true)
            }
            segments.removeSubrange((keep + 1)...)
            try activeLog!.truncate(to: position)
            activeUnsynced = true
            let kept = segments[keep].index.prefix { $0.position < position }
            try activeIndex!.truncate(to: UInt64(kept.count * Segment.indexEntrySize))
            segments[keep].index = Array(kept)
            segments[keep].size = position
            segments[keep].endOffset = offset
            endOffset = offset
            lastEpoch = offset == 0 ? 0 : try read(from: offset - 1, maxEntries: 1, maxBytes: 0)[0].leaderEpoch
        }
    }

    /// Makes every append and truncation so far durable: fsyncs the segments written since the
    /// last sync, then the directory if segments were created or deleted.
    public func sync() throws {
        try state.checkOpen()
        try failing {
            // Usually none: skip sorting the (empty) keys on every sync.
            for base in rolledUnsynced.isEmpty ? [] : rolledUnsynced.keys.sorted() {
                try rolledUnsynced[base]!.sync()
                rolledUnsynced.removeValue(forKey: base)!.close()
            }
            if activeUnsynced {
                try activeLog!.sync()
                activeUnsynced = false
            }
            if directoryUnsynced {
                try files.syncDirectory(path)
                directoryUnsynced = false
            }
        }
    }

    /// Durably records the high-water mark (`ReplicaEffect.checkpointHighWatermark`).
    public func writeHighWatermark(_ highWatermark: UInt64) throws {
        guard state != .closed else { throw LogStoreError.closed }
        var payload: [UInt8] = []
        payload.appendLittleEndian(highWatermark)
        try Checkpoint.write(payload, to: highWatermarkCheckpoint, files: files)
    }

    /// Durably replaces the leader-epoch cache (`ReplicaEffect.persistEpochCache`).
    public func writeEpochCache(_ epochs: [EpochStart]) throws {
        guard state != .closed else { throw LogStoreError.closed }
        var payload: [UInt8] = []
        payload.appendLittleEndian(UInt32(epochs.count))
        for epoch in epochs {
            payload.appendLittleEndian(epoch.epoch)
            payload.appendLittleEndian(epoch.startOffset)
        }
        try Checkpoint.write(payload, to: epochCacheCheckpoint, files: files)
    }

    /// Durably replaces the producer-state snapshot (`ReplicaEffect.persistProducerSnapshot`).
    /// Payload: end offset u64, last entry's epoch u64, producer count u32, then per producer
    /// id u64, epoch u64, last sequence u64, offset count u32 and the offsets of its last
    /// sequences, oldest first, u64 each.
    public func writeProducerSnapshot(_ snapshot: ProducerSnapshot) throws {
        guard state != .closed else { throw LogStoreError.closed }
        // Laid out in one allocation: appending a 1,024-offset ring value by value cost 100,000
        // instructions per snapshot (1% of a simulated swarm seed).
        let size = 20 + snapshot.producers.reduce(0) { $0 + 28 + 8 * $1.offsets.count }
        let payload = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: snapshot.endOffset.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: snapshot.lastEntryEpoch.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt32(snapshot.producers.count).littleEndian, toByteOffset: 16, as: UInt32.self)
            var position = 20
            for producer in snapshot.producers {
                raw.storeBytes(of: producer.id.littleEndian, toByteOffset: position, as: UInt64.self)
                raw.storeBytes(of: producer.epoch.littleEndian, toByteOffset: position + 8, as: UInt64.self)
                raw.storeBytes(of: producer.lastSequence.littleEndian, toByteOffset: position + 16, as: UInt64.self)
                let ring = producer.offsets
                raw.storeBytes(of: UInt32(ring.count).littleEndian, toByteOffset: position + 24, as: UInt32.self)
                position += 28
                // Oldest first: the ring from its head round to just before it.
                for offset in ring[producer.head...] {
                    raw.storeBytes(of: offset.littleEndian, toByteOffset: position, as: UInt64.self)
                    position += 8
                }
                for offset in ring[..<producer.head] {
                    raw.storeBytes(of: offset.littleEndian, toByteOffset: position, as: UInt64.self)
                    position += 8
                }
            }
            initialized = position
        }
        try Checkpoint.write(payload, to: producerSnapshotCheckpoint, files: files)
    }

    static func decodeProducerSnapshot(_ payload: [UInt8]) -> ProducerSnapshot? {
        payload.withUnsafeBytes { raw -> ProducerSnapshot? in
            guard raw.count >= 20 else { return nil }
            var position = 20
            let count = Int(raw.littleEndian(at: 16, as: UInt32.self))
            var producers: [ProducerTable.Producer] = []
            for _ in 0..<count {
                guard raw.count - position >= 28 else { return nil }
                let offsetCount = Int(raw.littleEndian(at: position + 24, as: UInt32.self))
                guard offsetCount > 0, raw.count - position - 28 >= 8 * offsetCount else { return nil }
                let offsets = (0..<offsetCount).map { raw.littleEndian(at: position + 28 + 8 * $0, as: UInt64.self) }
                producers.append(ProducerTable.Producer(
                    id: raw.littleEndian(at: position, as: UInt64.self), epoch: raw.littleEndian(at: position + 8, as: UInt64.self),
                    lastSequence: raw.littleEndian(at: position + 16, as: UInt64.self), offsets: offsets, head: 0, lastSeenAt: nil))
                position += 28 + 8 * offsetCount
            }
            guard position == raw.count else { return nil }
            return ProducerSnapshot(endOffset: raw.littleEndian(at: 0, as: UInt64.self),
                                    lastEntryEpoch: raw.littleEndian(at: 8, as: UInt64.self), producers: producers)
        }
    }

    /// Epoch-cache payload: count u32, then (epoch u64, start offset u64) per row.
    static func decodeEpochCache(_ payload: [UInt8]) -> [EpochStart]? {
        payload.withUnsafeBytes { raw in
            guard raw.count >= 4 else { return nil }
            let count = Int(raw.littleEndian(at: 0, as: UInt32.self))
            guard raw.count == 4 + 16 * count else { return nil }
            return (0..<count).map { row in
                EpochStart(
                    epoch: raw.littleEndian(at: 4 + 16 * row, as: UInt64.self),
                    startOffset: raw.littleEndian(at: 12 + 16 * row, as: UInt64.self))
            }
        }
    }

    /// Closes the files without syncing (what was not synced may or may not survive, as in a
    /// crash). The store is unusable afterwards; open a new one to recover.
    public func close() {
        closeFiles()
        state = .closed
    }

    private func closeFiles() {
        activeLog?.close()
        activeIndex?.close()
        activeLog = nil
        activeIndex = nil
        for file in rolledUnsynced.values { file.close() }
        rolledUnsynced = [:]
        activeUnsynced = false
    }

    /// A write that fails half-way leaves files and bookkeeping out of step: refuse everything
    /// but `recover()` after it.
    private func failing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            state = .failed
            throw error
        }
    }

    // MARK: Reading

    /// Entries from `offset` on: at most `maxEntries`, and no more than `maxBytes` of stored
    /// records (header included) — but always at least one when `offset < endOffset`, so a
    /// large record cannot stall a reader (Kafka's fetch rule). The offset index locates the
    /// start; checksums are verified.
    public func read(from offset: UInt64, maxEntries: Int, maxBytes: Int) throws -> [LogEntry] {
        try state.checkOpen()
        guard offset < endOffset, maxEntries > 0 else { return [] }
        var result: [LogEntry] = []
        var bytes = 0
        var next = offset
        var k = segments.lastIndex { $0.baseOffset <= offset }!
        while k < segments.count, result.count < maxEntries, next < endOffset {
            let segment = segments[k]
            k += 1
            guard next < segment.endOffset else { continue }
            let file = try file(of: segment)
            let start = segment.lookup(next)
            var cursor = SegmentCursor(file: file, end: segment.size, position: start.position)
            for skipped in start.offset..<next { try cursor.skip(expecting: skipped) }
            while !cursor.atEnd, result.count < maxEntries {
                let (entry, size) = try cursor.next()
                guard entry.offset == next else {
                    throw LogStoreError.corruptRecord(path: file.path, position: cursor.position - UInt64(size))
                }
                if !result.isEmpty, bytes + size > maxBytes { return result }
                result.append(entry)
                bytes += size
                next += 1
            }
        }
        return result
    }

    /// The byte position of `offset` in segment `k` (its size when `offset` is its end).
    private func position(of offset: UInt64, inSegment k: Int) throws -> UInt64 {
        let segment = segments[k]
        if offset == segment.endOffset { return segment.size }
        let start = segment.lookup(offset)
        var cursor = SegmentCursor(file: try file(of: segment), end: segment.size, position: start.position)
        for skipped in start.offset..<offset { try cursor.skip(expecting: skipped) }
        return cursor.position
    }

    private func file(of segment: Segment) throws -> any StoreFile {
        if segment.baseOffset == segments[segments.count - 1].baseOffset, let log = activeLog { return log }
        if let log = rolledUnsynced[segment.baseOffset] { return log }
        return try files.open(path + "/" + Segment.logName(segment.baseOffset), readOnly: true)
    }
}
