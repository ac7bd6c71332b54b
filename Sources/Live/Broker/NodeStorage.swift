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

    /// Bumps and durably records the node's incarnation (the replicas' restart session).
    static func nextIncarnation(root: URL) throws -> UInt64 {
        let url = root.appendingPathComponent("incarnation")
        let previous = (try? String(contentsOf: url, encoding: .utf8)).flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let next = previous + 1
        try Data("\(next)\n".utf8).write(to: url, options: .atomic)
        return next
    }
}
