/// The storage seam: everything LogStore does to files goes through these two protocols, so the
/// same segment format and the same recovery (CRC check, torn-tail truncation, index rebuild)
/// run on real files (`PosixFileSystem`, the live broker) and on the simulator's disk, whose
/// crashes lose unsynced bytes and whose faults tear writes and flip bits.
public protocol StoreFile: AnyObject {
    /// Where the file lives, for error messages.
    var path: String { get }
    func write(_ bytes: [UInt8], at offset: UInt64) throws
    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(count: Int, at offset: UInt64) throws -> [UInt8]
    func size() throws -> UInt64
    func truncate(to size: UInt64) throws
    /// Data and size reach stable storage.
    func sync() throws
    func close()
}

/// Files by path, and the directory operations a crash-safe store needs. Creating, renaming
/// or deleting a file is durable only once its directory is synced.
public protocol StoreFileSystem: Sendable {
    func open(_ path: String, create: Bool, truncate: Bool, readOnly: Bool) throws -> any StoreFile
    /// Creates `path` (and parents) durably.
    func makeDirectory(_ path: String) throws
    func syncDirectory(_ path: String) throws
    func list(_ path: String) throws -> [String]
    func exists(_ path: String) -> Bool
    /// Deletes a file; a missing one is fine.
    func remove(_ path: String) throws
    func rename(_ from: String, to: String) throws
    /// Deletes a directory and everything in it (a deleted stream); a missing one is fine.
    func removeDirectory(_ path: String) throws
}

extension StoreFileSystem {
    func open(_ path: String, create: Bool = false, truncate: Bool = false, readOnly: Bool = false) throws -> any StoreFile {
        try open(path, create: create, truncate: truncate, readOnly: readOnly)
    }
}
