import Foundation
import LogStore
import Raft
import Replication

/// One disk operation the node's protocol state asked for. Operations run in the order they
/// were asked for, on one storage thread, so the sans-IO cores see completions in order.
enum StorageOp: Sendable {
    case raft(truncateFrom: LogIndex?, entries: [RaftEntry<MetadataCommand>], hardState: HardState?)
    case openStream(name: String)
    case append(stream: String, [LogEntry])
    case truncate(stream: String, from: UInt64)
    case fsync(stream: String)
    case checkpointHighWatermark(stream: String, UInt64)
    case persistEpochCache(stream: String, [EpochStart])
    case deleteStream(name: String)
    /// Reads entries back (message bytes the replicas let go of); results come back in order.
    case read(stream: String, from: UInt64, count: Int)
}

/// The node's files: the metadata Raft log and hard state, and one segmented log per stream
/// replica. Only the storage thread touches it.
///
/// Group commit: a batch runs its writes in order and then one fsync per stream (and one for
/// Raft) that any operation of the batch asked for. An fsync covers everything written before
/// it, so every fsync request of the batch is satisfied by that one call; under load the node
/// batches everything asked for while the previous batch ran, which is what lets `fsync:
/// always` keep up with many publishers.
final class NodeStorage: @unchecked Sendable {
    let root: URL
    let segmentBytes: Int
    /// LogStore's seam: real files here; the simulator passes its simulated disk.
    private let files = PosixFileSystem()
    private let raftStore: RaftLogStore
    private var streams: [String: StreamLogStore] = [:]
    /// What opening a stream's store found on disk, until the node asks for it.
    private var recovered: [String: RecoveredLog] = [:]
    private(set) var fsyncCount = 0
    private(set) var batchCount = 0

    init(root: URL, segmentBytes: Int) throws {
        self.root = root
        self.segmentBytes = segmentBytes
        try FileManager.default.createDirectory(at: root.appendingPathComponent("streams"), withIntermediateDirectories: true)
        raftStore = try RaftLogStore(directory: root.appendingPathComponent("raft"), files: files)
    }

    func recoverRaft() throws -> (HardState, [RaftEntry<MetadataCommand>]) {
        let recovered = try raftStore.recover()
        return (recovered.hardState, recovered.entries)
    }

    /// Stream directories left by an earlier run of this node, by stream name.
    func storedStreams() throws -> [String] {
        let dir = root.appendingPathComponent("streams")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .compactMap(Self.streamName(directory:)).sorted()
    }

    /// What the stream's files hold, without the message bytes: replicas keep only the
    /// entries' identity in memory after a restart; the bytes are read back when sent.
    func recoverStream(_ name: String) throws -> RecoveredLog {
        _ = try store(name)
        var log = recovered.removeValue(forKey: name) ?? RecoveredLog()
        for i in log.entries.indices { log.entries[i].payload.data = [] }
        return log
    }

    /// Bumps and durably records the node's incarnation (the replicas' restart session).
    func nextIncarnation() throws -> UInt64 {
        let url = root.appendingPathComponent("incarnation")
        let previous = (try? String(contentsOf: url, encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let next = previous + 1
        try Data("\(next)\n".utf8).write(to: url, options: .atomic)
        return next
    }

    /// Runs one batch; see the type's comment for the fsync rule. Returns what its `.read`
    /// operations read, in order.
    func run(_ batch: [StorageOp]) throws -> [[LogEntry]] {
        batchCount += 1
        var reads: [[LogEntry]] = []
        var syncStreams: [String] = []
        var syncRaft = false
        for op in batch {
            switch op {
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
            case .deleteStream(let name):
                streams.removeValue(forKey: name)?.close()
                syncStreams.removeAll { $0 == name }
                try? FileManager.default.removeItem(at: directory(of: name))
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
            try streams[stream]?.sync()
            fsyncCount += 1
        }
        if syncRaft {
            try raftStore.sync()
            fsyncCount += 1
        }
        return reads
    }

    private func store(_ name: String) throws -> StreamLogStore {
        if let store = streams[name] { return store }
        let store = try StreamLogStore(directory: directory(of: name), segmentBytes: segmentBytes, files: files)
        // Recovery validates the files (cutting a torn tail) before anything is appended.
        recovered[name] = try store.recover()
        streams[name] = store
        return store
    }

    // Stream names are user input: the directory name is a hex encoding, so no name can
    // escape `streams/` or collide with another after case folding.
    private func directory(of name: String) -> URL {
        root.appendingPathComponent("streams").appendingPathComponent("s-" + name.utf8.map { String(format: "%02x", $0) }.joined())
    }

    static func streamName(directory: String) -> String? {
        guard directory.hasPrefix("s-") else { return nil }
        let hex = Array(directory.dropFirst(2))
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: hex.count, by: 2) {
            guard let b = UInt8(String(hex[i...i + 1]), radix: 16) else { return nil }
            bytes.append(b)
        }
        return String(bytes: bytes, encoding: .utf8)
    }
}
