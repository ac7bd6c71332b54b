import Foundation
import LogStore

/// The live node's files: LogStore's `NodeStore` (the same store and batch rule the simulator
/// runs on its simulated disk) over real files, plus the node's incarnation counter.
enum NodeStorage {
    /// With `failpoints`, the files go through them (test runs only).
    static func open(root: URL, segmentBytes: Int, failpoints: StorageFailpoints? = nil) throws -> NodeStore {
        let files: any StoreFileSystem = failpoints.map { FailpointFileSystem(base: PosixFileSystem(), failpoints: $0) } ?? PosixFileSystem()
        return try NodeStore(root: root.path, files: files, segmentBytes: segmentBytes)
    }

    /// Whether a batch may run on the node's event loop rather than its storage thread: when all
    /// it does is append to stream logs. That is one `write` into the page cache per append (a
    /// segment roll adds two `open`s), never an fsync, a checkpoint's atomic replace, a read or a
    /// Raft write — which is every batch of `fsync: interval`/`never` under load, while
    /// `fsync: always` batches (appends plus their fsync) keep going to the storage thread.
    static func runsOnLoop(_ batch: [StorageOp]) -> Bool {
        batch.allSatisfy { if case .append = $0 { true } else { false } }
    }

    /// Bumps and durably records the node's incarnation (the replicas' restart session).
    static func nextIncarnation(root: URL) throws -> UInt64 {
        let url = root.appendingPathComponent("incarnation")
        let previous = (try? String(contentsOf: url, encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let next = previous + 1
        try Data("\(next)\n".utf8).write(to: url, options: .atomic)
        return next
    }
}
