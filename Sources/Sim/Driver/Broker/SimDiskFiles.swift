import LogStore
import SimCore

/// LogStore's file-system seam over a simulated disk: the live broker's segment format and
/// recovery code (CRC check, torn-tail truncation, index rebuild) run against `SimDisk`, whose
/// crashes lose unsynced bytes, tear writes and flip bits.
///
/// The simulated disk has a flat namespace: a directory is the prefix of its files' names and
/// exists while it holds a file. A directory sync makes the directory's files durable as they
/// are now (SimDisk models no separate directory entries: a file's own fsync stands for both),
/// which is what a rename followed by a directory fsync guarantees on a real file system.
/// `sync` completes its fsync at once: the simulator's timing model (write latencies, fsync
/// tickets completed in virtual time) stays with the driver; `writeLatency` and `syncs` add up
/// what the operations since the driver last read them cost.
public final class SimDiskFileSystem: StoreFileSystem, @unchecked Sendable {
    public var disk: SimDisk
    /// Write latency (ns) of the writes since the driver last reset it.
    public var writeLatency: Int64 = 0
    /// Fsyncs since the driver last reset the count.
    public var syncs = 0

    public init(disk: SimDisk) {
        self.disk = disk
    }

    public func open(_ path: String, create: Bool, truncate: Bool, readOnly: Bool) throws -> any StoreFile {
        if !disk.exists(path) {
            guard create else { throw LogStoreError.io(operation: "open", path: path, errno: 2) }  // ENOENT
            writeLatency += disk.append(path, [])
        } else if truncate {
            disk.truncate(path, to: 0)
        }
        return SimDiskFile(path: path, fileSystem: self)
    }

    public func makeDirectory(_ path: String) throws {}

    public func syncDirectory(_ path: String) throws {
        for file in disk.files where file.hasPrefix(path + "/") && !file.dropFirst(path.count + 1).contains("/") {
            sync(file)
        }
    }

    public func list(_ path: String) throws -> [String] {
        var names: [String] = []
        for file in disk.files where file.hasPrefix(path + "/") {
            let name = String(file.dropFirst(path.count + 1).prefix { $0 != "/" })
            if names.last != name { names.append(name) }
        }
        return names
    }

    public func exists(_ path: String) -> Bool {
        disk.exists(path) || disk.files.contains { $0.hasPrefix(path + "/") }
    }

    public func remove(_ path: String) throws { disk.remove(path) }

    public func rename(_ from: String, to: String) throws {
        let data = disk.read(from)
        disk.truncate(to, to: 0)
        writeLatency += disk.write(to, at: 0, data)
        disk.remove(from)
    }

    func sync(_ path: String) {
        let ticket = disk.beginFsync(path)
        disk.completeFsync(ticket)
        syncs += 1
    }
}

/// One file of a `SimDiskFileSystem`: positional reads and writes on the disk's volatile view.
final class SimDiskFile: StoreFile {
    let path: String
    let fileSystem: SimDiskFileSystem

    init(path: String, fileSystem: SimDiskFileSystem) {
        self.path = path
        self.fileSystem = fileSystem
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        fileSystem.writeLatency += fileSystem.disk.write(path, at: Int(offset), bytes)
    }

    func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        let data = fileSystem.disk.read(path)
        let start = min(Int(offset), data.count)
        return Array(data[start..<min(data.count, start + count)])
    }

    func size() throws -> UInt64 { UInt64(fileSystem.disk.read(path).count) }

    func truncate(to size: UInt64) throws { fileSystem.disk.truncate(path, to: Int(size)) }

    func sync() throws { fileSystem.sync(path) }

    func close() {}
}
