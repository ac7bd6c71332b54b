import Foundation
import LogStore
import Sampling

/// Test-only storage failpoints (as etcd's gofail): off unless the node's config enables them
/// (`BrokerNodeConfig.failpoints`), armed at run time through the node's admin endpoint
/// (`PUT /failpoints/fsync` on the metrics port). With them the node's files go through
/// `FailpointFileSystem`:
/// - **slow fsync**: every sync first sleeps a delay drawn from a distribution;
/// - **fsync error**: every sync fails with EIO (the node stops itself: a failed fsync is fatal,
///   the page cache's state is unknown — PostgreSQL's "fsyncgate" lesson);
/// - **synced lengths**: each file's length at its last sync, kept in `<data>/synced-lengths`
///   (written after every sync, never fsynced: it only has to survive SIGKILL, not power loss),
///   so that `LoseUnsynced.apply` can cut every file back to it before a restart — the power
///   loss the simulator's crash is (what LazyFS does under a real file system).
public final class StorageFailpoints: @unchecked Sendable {
    public struct Settings: Codable, Sendable, Equatable {
        public var fsyncDelay: Distribution?
        public var fsyncError: Bool

        public init(fsyncDelay: Distribution? = nil, fsyncError: Bool = false) {
            self.fsyncDelay = fsyncDelay
            self.fsyncError = fsyncError
        }
    }

    private let lock = NSLock()
    private var settings = Settings()
    private var rng: SeededGenerator
    let root: String
    let trackSynced: Bool
    private var syncedLengths: [String: UInt64]

    init(config: FailpointConfig, root: String) {
        rng = SeededGenerator(seed: config.seed).stream("failpoints")
        self.root = root
        trackSynced = config.trackSynced
        syncedLengths = LoseUnsynced.load(root: root)
    }

    public var current: Settings { lock.withLock { settings } }

    public func arm(_ new: Settings) { lock.withLock { settings = new } }

    /// Before a sync: the armed delay (slept outside the lock), or the armed error.
    func beforeSync(_ path: String) throws {
        let (delay, fail): (Double?, Bool) = lock.withLock {
            (settings.fsyncDelay.map { max(0, $0.sample(&rng)) }, settings.fsyncError)
        }
        if let delay, delay > 0 { usleep(useconds_t(min(delay / 1000, 60e6))) }
        if fail { throw FailpointError.fsyncFailed(path) }
    }

    /// After a sync: `path` is durable up to `length`.
    func synced(_ path: String, length: UInt64) {
        guard trackSynced else { return }
        let snapshot: [String: UInt64] = lock.withLock {
            syncedLengths[relative(path)] = length
            return syncedLengths
        }
        LoseUnsynced.save(snapshot, root: root)
    }

    /// A file truncated or removed: its durable length shrinks with it.
    func forget(_ path: String, keeping length: UInt64? = nil) {
        guard trackSynced else { return }
        lock.withLock {
            if let length { syncedLengths[relative(path)] = min(syncedLengths[relative(path)] ?? 0, length) } else { syncedLengths[relative(path)] = nil }
        }
    }

    /// A rename: what was durable of `from` is now durable as `to` (a checkpoint written to a
    /// temporary file, synced, then renamed over the old one).
    func moved(_ from: String, to: String) {
        guard trackSynced else { return }
        let snapshot: [String: UInt64] = lock.withLock {
            syncedLengths[relative(to)] = syncedLengths.removeValue(forKey: relative(from))
            return syncedLengths
        }
        LoseUnsynced.save(snapshot, root: root)
    }

    private func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

/// What a node's config says about failpoints; nil in the config: none (production).
public struct FailpointConfig: Codable, Sendable, Equatable {
    /// Seeds the delays' draws.
    public var seed: UInt64
    /// Record each file's synced length, so a crash can lose what was not synced.
    public var trackSynced: Bool

    public init(seed: UInt64, trackSynced: Bool) {
        self.seed = seed
        self.trackSynced = trackSynced
    }
}

public enum FailpointError: Error, CustomStringConvertible {
    case fsyncFailed(String)

    public var description: String {
        switch self {
        case .fsyncFailed(let path): "fsync failed: EIO (failpoint) on \(path)"
        }
    }
}

/// The node's files with failpoints on their syncs.
struct FailpointFileSystem: StoreFileSystem {
    let base: any StoreFileSystem
    let failpoints: StorageFailpoints

    func open(_ path: String, create: Bool, truncate: Bool, readOnly: Bool) throws -> any StoreFile {
        if truncate { failpoints.forget(path, keeping: 0) }
        return FailpointFile(base: try base.open(path, create: create, truncate: truncate, readOnly: readOnly), failpoints: failpoints)
    }
    func makeDirectory(_ path: String) throws { try base.makeDirectory(path) }
    func syncDirectory(_ path: String) throws {
        try failpoints.beforeSync(path)
        try base.syncDirectory(path)
    }
    func list(_ path: String) throws -> [String] { try base.list(path) }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func remove(_ path: String) throws {
        try base.remove(path)
        failpoints.forget(path)
    }
    func rename(_ from: String, to: String) throws {
        try base.rename(from, to: to)
        failpoints.moved(from, to: to)
    }
    func removeDirectory(_ path: String) throws { try base.removeDirectory(path) }
}

final class FailpointFile: StoreFile {
    let base: any StoreFile
    let failpoints: StorageFailpoints

    init(base: any StoreFile, failpoints: StorageFailpoints) {
        self.base = base
        self.failpoints = failpoints
    }

    var path: String { base.path }
    func write(_ bytes: [UInt8], at offset: UInt64) throws { try base.write(bytes, at: offset) }
    func read(count: Int, at offset: UInt64) throws -> [UInt8] { try base.read(count: count, at: offset) }
    func size() throws -> UInt64 { try base.size() }
    func truncate(to size: UInt64) throws {
        try base.truncate(to: size)
        failpoints.forget(path, keeping: size)
    }
    func sync() throws {
        try failpoints.beforeSync(path)
        try base.sync()
        failpoints.synced(path, length: try base.size())
    }
    func close() { base.close() }
}

/// The power loss of a crashed node with failpoints: every file the node wrote is cut back to
/// the length it had at its last sync (a file never synced to nothing). Run by the launcher
/// after a SIGKILL, before the node starts again.
public enum LoseUnsynced {
    static let fileName = "synced-lengths"

    static func load(root: String) -> [String: UInt64] {
        guard let data = FileManager.default.contents(atPath: root + "/" + fileName) else { return [:] }
        return (try? JSONDecoder().decode([String: UInt64].self, from: data)) ?? [:]
    }

    static func save(_ lengths: [String: UInt64], root: String) {
        guard let data = try? JSONEncoder().encode(lengths) else { return }
        try? data.write(to: URL(fileURLWithPath: root + "/" + fileName), options: .atomic)
    }

    /// Cuts the node's store files under `root` back to their synced lengths; returns the bytes
    /// it dropped. Only files under `raft/` and `streams/` (LogStore's own) are touched.
    @discardableResult
    public static func apply(root: String) throws -> UInt64 {
        let synced = load(root: root)
        let fm = FileManager.default
        var dropped: UInt64 = 0
        for top in ["raft", "streams"] {
            guard let walker = fm.enumerator(atPath: root + "/" + top) else { continue }
            while let entry = walker.nextObject() as? String {
                let relative = top + "/" + entry
                let path = root + "/" + relative
                var isDirectory: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                      let size = (try? fm.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value else { continue }
                let keep = min(size, synced[relative] ?? 0)
                guard keep < size else { continue }
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.truncate(atOffset: keep)
                try handle.close()
                dropped += size - keep
            }
        }
        return dropped
    }
}
