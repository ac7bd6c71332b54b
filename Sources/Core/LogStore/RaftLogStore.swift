import Foundation
import Raft
import Replication

/// The disk of a broker's metadata Raft group: `raft.log` (the entries, from index 1) and
/// `raft.hardstate` (term, vote, commit index, a `Checkpoint` file), in one directory.
///
/// A driver handles a `RaftReady` as its contract says — `truncate(from:)`, `append(_:)`,
/// `setHardState(_:)`, then one `sync()` — before sending its messages.
///
/// Log record format, little-endian: length u32 (bytes after the checksum), CRC-32C u32 of the
/// length field and everything after the checksum, index u64, term u64, then the command as
/// JSON (nothing for a leader's no-op). Metadata traffic is a few commands per second, so JSON
/// costs nothing that matters and keeps the file readable with `strings`.
///
/// Not internally synchronised; one thread at a time.
public final class RaftLogStore: @unchecked Sendable {
    public typealias Entry = RaftEntry<MetadataCommand>

    public let directory: URL
    /// The index of the last stored entry (0 for an empty log).
    public var lastIndex: LogIndex { LogIndex(positions.count) }
    /// Bytes the last `recover()` discarded: the log's tail from the first record that failed
    /// its checks.
    public private(set) var bytesCutByRecovery: UInt64 = 0

    static let logFile = "raft.log"
    static let hardStateFile = "raft.hardstate"
    static let headerSize = 8
    static let fixedBodySize = 16

    private let path: String
    private let hardStateCheckpoint: Checkpoint.File
    private var state = StoreState.unrecovered
    /// Where the bytes go: real files live, the simulated disk in simulation.
    let files: any StoreFileSystem
    private var log: (any StoreFile)?
    /// `positions[i]`: where the entry of index `i + 1` starts in the log file.
    private var positions: [UInt64] = []
    private var size: UInt64 = 0
    private var lastTerm: Term = 0
    private var logUnsynced = false
    /// Set by `setHardState`, written by the next `sync()` once the log is durable.
    private var pendingHardState: HardState?
    /// Sorted keys: the same command is the same bytes on every platform and run (the
    /// simulator's byte counts and CRCs depend on it).
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    private let decoder = JSONDecoder()

    public init(directory: URL, files: any StoreFileSystem = PosixFileSystem()) throws {
        self.files = files
        self.directory = directory
        self.path = directory.path
        hardStateCheckpoint = Checkpoint.File(name: Self.hardStateFile, in: path)
        try files.makeDirectory(path)
    }

    deinit { close() }

    /// Reads what the disk kept and opens the log for appending.
    ///
    /// Entries are verified like a stream log's records (checksum; index dense from 1; terms
    /// never decreasing); the log is cut durably at the first one that fails, so a torn tail
    /// never fails recovery. A record whose checksum holds but whose command does not decode
    /// throws `undecodableRecord` instead: it was written whole by another version, and
    /// discarding it could lose committed entries.
    ///
    /// A missing hard-state file reads as `HardState.initial`. A present but corrupt one throws:
    /// it is replaced by rename, so a crash cannot tear it, and guessing a term and vote could
    /// let this node vote twice in a term. The commit index is capped at the last entry (a
    /// commit index is safe to lose, never to exceed the log).
    public func recover() throws -> (hardState: HardState, entries: [RaftEntry<MetadataCommand>]) {
        log?.close()
        log = nil
        state = .failed
        positions = []
        size = 0
        lastTerm = 0
        logUnsynced = false
        pendingHardState = nil

        let names = try files.list(path)
        for name in names where name.hasSuffix(".tmp") {
            try files.remove(path + "/" + name)
        }
        let logPath = path + "/" + Self.logFile
        let existed = files.exists(logPath)
        let file = try files.open(logPath, create: true)
        if !existed { try files.syncDirectory(path) }
        let bytes = try file.read(count: Int(try file.size()), at: 0)

        var entries: [Entry] = []
        var undecodable: UInt64?
        bytes.withUnsafeBytes { raw in
            var position = 0
            while position < raw.count {
                guard let length = StreamRecord.length(raw, at: position), length >= Self.fixedBodySize,
                    raw.count - position - Self.headerSize >= length
                else { return }
                let body = position + Self.headerSize
                let end = body + length
                guard raw.littleEndian(at: position + 4, as: UInt32.self)
                    == raw.checksum(position..<position + 4, body..<end)
                else { return }
                let index = raw.littleEndian(at: body, as: UInt64.self)
                let term = raw.littleEndian(at: body + 8, as: UInt64.self)
                guard index == LogIndex(entries.count + 1), term >= lastTerm else { return }
                var command: MetadataCommand?
                if end > body + Self.fixedBodySize {
                    let json = Data(raw[(body + Self.fixedBodySize)..<end])
                    guard let decoded = try? decoder.decode(MetadataCommand.self, from: json) else {
                        undecodable = UInt64(position)
                        return
                    }
                    command = decoded
                }
                entries.append(Entry(term: term, index: index, command: command))
                positions.append(UInt64(position))
                lastTerm = term
                position = end
                size = UInt64(end)
            }
        }
        if let position = undecodable {
            throw LogStoreError.undecodableRecord(path: logPath, position: position)
        }
        bytesCutByRecovery = UInt64(bytes.count) - size
        if size < UInt64(bytes.count) {
            try file.truncate(to: size)
            try file.sync()
        }
        log = file

        var hardState = HardState.initial
        switch try Checkpoint.read(hardStateCheckpoint, files: files) {
        case .missing: break
        case .corrupt: throw LogStoreError.corruptCheckpoint(path: hardStateCheckpoint.path)
        case .valid(let payload):
            guard let decoded = Self.decodeHardState(payload) else {
                throw LogStoreError.corruptCheckpoint(path: hardStateCheckpoint.path)
            }
            hardState = decoded
        }
        hardState.commitIndex = min(hardState.commitIndex, lastIndex)
        state = .open
        return (hardState, entries)
    }

    /// Appends entries that follow the last stored one (dense indexes, terms never
    /// decreasing), in one write. Durable after the next `sync()`.
    public func append(_ entries: [RaftEntry<MetadataCommand>]) throws {
        try state.checkOpen()
        var term = lastTerm
        for (i, entry) in entries.enumerated() {
            let expected = lastIndex + 1 + LogIndex(i)
            guard entry.index == expected else {
                throw LogStoreError.nonContiguousAppend(expected: expected, found: entry.index)
            }
            guard entry.term >= term else {
                throw LogStoreError.epochWentBackwards(position: entry.index, epoch: entry.term, previous: term)
            }
            term = entry.term
        }
        guard !entries.isEmpty else { return }
        var buffer: [UInt8] = []
        var starts: [UInt64] = []
        for entry in entries {
            let start = buffer.count
            starts.append(size + UInt64(start))
            let json = try entry.command.map { try encoder.encode($0) } ?? Data()
            buffer.appendLittleEndian(UInt32(Self.fixedBodySize + json.count))
            buffer.appendLittleEndian(UInt32(0))
            buffer.appendLittleEndian(entry.index)
            buffer.appendLittleEndian(entry.term)
            buffer.append(contentsOf: json)
            let crc = buffer.withUnsafeBytes { $0.checksum(start..<start + 4, start + 8..<$0.count) }
            buffer.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self) }
        }
        try failing {
            try log!.write(buffer, at: size)
            logUnsynced = true
            size += UInt64(buffer.count)
            positions += starts
            lastTerm = term
        }
    }

    /// Deletes every entry with index ≥ `index`. Durable after the next `sync()`.
    public func truncate(from index: LogIndex) throws {
        try state.checkOpen()
        let first = max(index, 1)
        guard first <= lastIndex else { return }
        try failing {
            let position = positions[Int(first - 1)]
            try log!.truncate(to: position)
            logUnsynced = true
            positions.removeSubrange(Int(first - 1)...)
            size = position
            lastTerm = positions.isEmpty ? 0 : try term(at: positions.count - 1)
        }
    }

    /// Stages the hard state; the next `sync()` writes it, after the log is durable, so a
    /// stored commit index never points past the durable log.
    public func setHardState(_ hardState: HardState) throws {
        try state.checkOpen()
        pendingHardState = hardState
    }

    /// Makes the truncations, appends and hard state so far durable: fsyncs the log, then
    /// replaces the hard-state file (temp file, fsync, rename, directory fsync).
    public func sync() throws {
        try state.checkOpen()
        try failing {
            if logUnsynced {
                try log!.sync()
                logUnsynced = false
            }
            if let hardState = pendingHardState {
                try Checkpoint.write(Self.encodeHardState(hardState), to: hardStateCheckpoint, files: files)
                pendingHardState = nil
            }
        }
    }

    /// Closes the log without syncing. The store is unusable afterwards.
    public func close() {
        log?.close()
        log = nil
        state = .closed
    }

    private func term(at position: Int) throws -> Term {
        let bytes = try log!.read(count: Self.headerSize + Self.fixedBodySize, at: positions[position])
        guard bytes.count == Self.headerSize + Self.fixedBodySize else {
            throw LogStoreError.corruptRecord(path: log!.path, position: positions[position])
        }
        return bytes.withUnsafeBytes { $0.littleEndian(at: Self.headerSize + 8, as: UInt64.self) }
    }

    private func failing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            state = .failed
            throw error
        }
    }

    /// Hard-state payload: term u64, has-vote u8, vote i64, commit index u64.
    static func encodeHardState(_ hardState: HardState) -> [UInt8] {
        var payload: [UInt8] = []
        payload.appendLittleEndian(hardState.term)
        payload.appendLittleEndian(UInt8(hardState.votedFor == nil ? 0 : 1))
        payload.appendLittleEndian(Int64(hardState.votedFor ?? 0))
        payload.appendLittleEndian(hardState.commitIndex)
        return payload
    }

    static func decodeHardState(_ payload: [UInt8]) -> HardState? {
        guard payload.count == 25 else { return nil }
        return payload.withUnsafeBytes { raw in
            let hasVote = raw[8]
            guard hasVote <= 1 else { return nil }
            let vote = raw.littleEndian(at: 9, as: Int64.self)
            return HardState(
                term: raw.littleEndian(at: 0, as: UInt64.self),
                votedFor: hasVote == 1 ? RaftNodeID(vote) : nil,
                commitIndex: raw.littleEndian(at: 17, as: UInt64.self))
        }
    }
}
