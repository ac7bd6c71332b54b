import ArrayClearing
import Foundation
import Raft
import RecentNames
import Replication

/// A broker node's files: the metadata Raft log and hard state, and one segmented log per stream
/// replica, over any `StoreFileSystem` — real files on a live node, `SimDisk` in the simulator.
/// Both drivers run their batches (`GroupCommit`) through `run`, so the order of writes and
/// fsyncs a crash can interrupt is the same in both. Used from one thread at a time (the live
/// node's storage thread), hence `@unchecked Sendable`.
///
/// A batch runs its writes in order and then one fsync per stream (and one for Raft) that any
/// operation of the batch asked for: an fsync covers everything written before it, so every
/// fsync request of the batch is satisfied by that one call.
public final class NodeStore: @unchecked Sendable {
    public let root: String
    public let files: any StoreFileSystem
    public let segmentBytes: Int
    private let raftStore: RaftLogStore
    private var streams: [String: StreamLogStore] = [:]
    /// The stores `store(_:)` returned last, newest replacing oldest (cleared when a stream is
    /// deleted): a batch touches a few streams many times, and hashing a name per operation
    /// (the cache held one store before) cost 0.6% of a simulated swarm seed.
    private var recentStores = RecentNames<StreamLogStore>(capacity: 8)
    /// What opening a stream's store found on disk, until the node asks for it.
    private var recovered: [String: RecoveredLog] = [:]
    /// Logs recovery cut short (a torn write, a flipped bit), with the bytes cut: "raft" or a stream name.
    public private(set) var recoveryCuts: [(log: String, bytes: UInt64)] = []
    /// Streams the running batch must fsync, kept between batches (a fresh array per batch cost
    /// an allocation each, 0.5% of a simulated swarm seed).
    private var syncStreams: [String] = []
    public private(set) var fsyncCount = 0
    public private(set) var batchCount = 0

    /// `root` "" puts the files at `/raft` and `/streams/…` of `files` (the simulated disk's namespace).
    public init(root: String, files: any StoreFileSystem, segmentBytes: Int = 64 << 20) throws {
        self.root = root
        self.files = files
        self.segmentBytes = segmentBytes
        try files.makeDirectory(root + "/streams")
        raftStore = try RaftLogStore(directory: URL(fileURLWithPath: root + "/raft", isDirectory: true), files: files)
    }

    /// Must run before the first batch (recovery opens the Raft log for appending).
    public func recoverRaft() throws -> (hardState: HardState, entries: [RaftEntry<MetadataCommand>]) {
        let recovered = try raftStore.recover()
        if raftStore.bytesCutByRecovery > 0 { recoveryCuts.append(("raft", raftStore.bytesCutByRecovery)) }
        return recovered
    }

    /// Streams whose directories an earlier run of this node left, in name order.
    public func storedStreams() throws -> [String] {
        try files.list(root + "/streams").compactMap(Self.streamName(directory:)).sorted()
    }

    /// Opens the stream's store, running its recovery (records checked by CRC, the log cut at the
    /// first bad one, indexes rebuilt), and returns what it kept.
    public func recoverStream(_ name: String) throws -> RecoveredLog {
        _ = try store(name)
        return recovered.removeValue(forKey: name) ?? RecoveredLog()
    }

    /// Runs one batch; see the type's comment for the fsync rule. Returns what its `.read`
    /// operations read, in order.
    public func run(_ batch: [StorageOp]) throws -> [[LogEntry]] {
        batchCount += 1
        var reads: [[LogEntry]] = []
        syncStreams.clearKeepingCapacity()
        var syncRaft = false
        // By index, switching on the element in place: `for op in batch` copied each operation
        // whole through its value witness (~150 instructions, 1% of a simulated swarm seed).
        for index in batch.indices {
            switch batch[index] {
            case let .raft(truncateFrom, entries, hardState):
                if let from = truncateFrom { try raftStore.truncate(from: from) }
                if !entries.isEmpty { try raftStore.append(entries) }
                if let hardState { try raftStore.setHardState(hardState) }
                syncRaft = true
            case .openStream(let name):
                _ = try store(name)
                recovered[name] = nil
            case let .append(stream, entries):
                try store(stream).append(entries)
            case let .truncate(stream, from):
                try store(stream).truncate(from: from)
            case .fsync(let stream):
                if !syncStreams.contains(stream) { syncStreams.append(stream) }
            case let .checkpointHighWatermark(stream, hw):
                try store(stream).writeHighWatermark(hw)
            case let .persistEpochCache(stream, cache):
                try store(stream).writeEpochCache(cache)
            case let .persistProducerSnapshot(stream, snapshot):
                try store(stream).writeProducerSnapshot(snapshot)
            case .deleteStream(let name):
                recentStores.removeAll()
                streams.removeValue(forKey: name)?.close()
                syncStreams.removeAll { $0 == name }
                try files.removeDirectory(directory(of: name))
            case let .read(stream, from, count):
                var entries: [LogEntry] = []
                while entries.count < count, let store = streams[stream] {
                    let batch = try store.read(from: from + UInt64(entries.count), maxEntries: count - entries.count, maxBytes: 8 << 20)
                    if batch.isEmpty { break }
                    entries += batch
                }
                reads.append(entries)
            }
        }
        for stream in syncStreams {
            try (recentStores.value(for: stream) ?? streams[stream])?.sync()
            fsyncCount += 1
        }
        if syncRaft {
            try raftStore.sync()
            fsyncCount += 1
        }
        return reads
    }

    /// Closes every file (a stopping node; a crashed simulated process just drops the store).
    public func close() {
        for name in streams.keys.sorted() { streams[name]?.close() }
        raftStore.close()
    }

    private func store(_ name: String) throws -> StreamLogStore {
        if let store = recentStores.value(for: name) { return store }
        if let store = streams[name] {
            recentStores.remember(name, store)
            return store
        }
        let store = try StreamLogStore(directory: URL(fileURLWithPath: directory(of: name), isDirectory: true),
                                       segmentBytes: segmentBytes, files: files)
        // Recovery validates the files (cutting a torn tail) before anything is appended.
        recovered[name] = try store.recover()
        if store.bytesCutByRecovery > 0 { recoveryCuts.append((name, store.bytesCutByRecovery)) }
        streams[name] = store
        return store
    }

    // Stream names are user input: the directory name is a hex encoding, so no name can
    // escape `streams/` or collide with another after case folding.
    private func directory(of name: String) -> String {
        root + "/streams/s-" + name.utf8.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    public static func streamName(directory: String) -> String? {
        guard directory.hasPrefix("s-") else { return nil }
        let hex = Array(directory.utf8.dropFirst(2))
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: hex.count, by: 2) {
            guard let b = UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}
