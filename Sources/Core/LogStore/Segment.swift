import Replication

/// One segment of a stream log: `<base>.log` holds the records from offset `baseOffset`, and
/// `<base>.index` is its sparse offset index. Both names carry the base offset in 20 digits
/// (Kafka's naming), so a directory listing sorts them in log order.
///
/// The index is sparse, as in Kafka: a record gets an entry when it starts at least
/// `indexIntervalBytes` after the last indexed record (the segment's first record counts as
/// indexed at position 0, without an entry). A lookup finds the last entry at or before the
/// wanted offset and scans forward at most one interval. The entries follow from the log file
/// alone, so recovery recomputes them while it verifies the records and rewrites the index file
/// whenever it differs: the file is a hint, never fsynced and never trusted.
///
/// Index file format: 12-byte entries, little-endian: relative offset u32 (offset - baseOffset),
/// position u64 (byte position of the record in the log file).
struct Segment {
    struct IndexEntry: Equatable {
        var relativeOffset: UInt32
        var position: UInt64
    }

    static let indexEntrySize = 12

    let baseOffset: UInt64
    /// Bytes in the log file.
    var size: UInt64 = 0
    /// The offset after the last record.
    var endOffset: UInt64
    var index: [IndexEntry] = []

    init(baseOffset: UInt64) {
        self.baseOffset = baseOffset
        self.endOffset = baseOffset
    }

    var isEmpty: Bool { endOffset == baseOffset }

    static func name(_ baseOffset: UInt64) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func logName(_ baseOffset: UInt64) -> String { name(baseOffset) + ".log" }
    static func indexName(_ baseOffset: UInt64) -> String { name(baseOffset) + ".index" }

    /// The base offset a segment file name stands for, if it is one of `suffix`.
    static func baseOffset(ofFile name: String, suffix: String) -> UInt64? {
        guard name.hasSuffix(suffix) else { return nil }
        let digits = name.dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII) else { return nil }
        return UInt64(digits)
    }

    /// The index entry due for a record of `offset` at `position`, given the last indexed
    /// position so far (the rule above).
    func indexEntry(offset: UInt64, position: UInt64, lastIndexed: UInt64, interval: Int) -> IndexEntry? {
        guard position >= lastIndexed + UInt64(interval) else { return nil }
        return IndexEntry(relativeOffset: UInt32(offset - baseOffset), position: position)
    }

    /// Where to start scanning for `offset`: the last indexed record at or before it.
    func lookup(_ offset: UInt64) -> (position: UInt64, offset: UInt64) {
        let relative = UInt32(offset - baseOffset)
        var low = 0
        var high = index.count
        while low < high {
            let middle = (low + high) / 2
            if index[middle].relativeOffset <= relative { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return (0, baseOffset) }
        let entry = index[low - 1]
        return (entry.position, baseOffset + UInt64(entry.relativeOffset))
    }

    static func encode(_ entries: some Collection<IndexEntry>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * indexEntrySize)
        for entry in entries {
            bytes.appendLittleEndian(entry.relativeOffset)
            bytes.appendLittleEndian(entry.position)
        }
        return bytes
    }
}

/// Reads the records of one segment file sequentially, fetching at least `chunkBytes` per
/// `pread` so a scan costs one system call per chunk, not per record.
struct SegmentCursor {
    static let chunkBytes = 64 * 1024

    let file: any StoreFile
    /// The segment's size: nothing at or after it is read.
    let end: UInt64
    private(set) var position: UInt64
    private var chunk: [UInt8] = []
    private var chunkStart: UInt64 = 0

    init(file: any StoreFile, end: UInt64, position: UInt64) {
        self.file = file
        self.end = end
        self.position = position
    }

    var atEnd: Bool { position >= end }

    /// Makes `[position, position + count)` available in `chunk`; false past the segment end.
    private mutating func ensure(_ count: Int) throws -> Bool {
        guard position + UInt64(count) <= end else { return false }
        if position >= chunkStart, position + UInt64(count) <= chunkStart + UInt64(chunk.count) { return true }
        let want = min(UInt64(max(count, Self.chunkBytes)), end - position)
        chunk = try file.read(count: Int(want), at: position)
        chunkStart = position
        return chunk.count >= count
    }

    /// Skips the record at the cursor, which must have `offset`.
    mutating func skip(expecting offset: UInt64) throws {
        guard try ensure(StreamRecord.headerSize + 8) else { throw corrupt }
        let relative = Int(position - chunkStart)
        let (length, found) = chunk.withUnsafeBytes {
            (Int($0.littleEndian(at: relative, as: UInt32.self)),
             $0.littleEndian(at: relative + StreamRecord.headerSize, as: UInt64.self))
        }
        guard length >= StreamRecord.fixedBodySize, found == offset,
            position + UInt64(StreamRecord.headerSize + length) <= end
        else { throw corrupt }
        position += UInt64(StreamRecord.headerSize + length)
    }

    /// Decodes the record at the cursor (checksum verified) and moves past it.
    mutating func next() throws -> (entry: LogEntry, size: Int) {
        guard try ensure(StreamRecord.headerSize) else { throw corrupt }
        let length = chunk.withUnsafeBytes { Int($0.littleEndian(at: Int(position - chunkStart), as: UInt32.self)) }
        guard try ensure(StreamRecord.headerSize + length) else { throw corrupt }
        let relative = Int(position - chunkStart)
        guard case .entry(let entry, let size) = chunk.withUnsafeBytes({ StreamRecord.parse($0, at: relative) })
        else { throw corrupt }
        position += UInt64(size)
        return (entry, size)
    }

    private var corrupt: LogStoreError { .corruptRecord(path: file.path, position: position) }
}
