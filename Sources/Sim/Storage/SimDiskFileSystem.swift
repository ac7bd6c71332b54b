import ArrayClearing
import LogStore
import SimCore

/// LogStore's file-system seam over a simulated disk: the live broker's segment format and
/// recovery code (CRC check, torn-tail truncation, index rebuild) run against `SimDisk`, whose
/// crashes lose unsynced bytes, tear writes and flip bits.
///
/// Nothing here waits: the simulator keeps its timing model. Each write adds its sampled latency
/// to `latency`; each sync *begins* an fsync (a `FsyncTicket`, listed in `tickets`) and adds its
/// latency. After a store operation the driver reads both, schedules the operation's completion
/// that much later in virtual time and completes the tickets then — so a crash in between loses
/// what those fsyncs had not made durable yet, as a power cut during fsync(2) would.
///
/// The disk has a flat namespace: a directory is the prefix of its files' names. SimDisk keeps
/// no directory entries apart from the files (a file's own fsync stands for both), so a
/// directory sync fsyncs the names created, removed or renamed onto in that directory since the
/// last one — what a directory fsync makes durable on a real file system.
public final class SimDiskFileSystem: StoreFileSystem, @unchecked Sendable {
    /// The disk the operations act on: the one lent for the current operation (see `lending`),
    /// else the file system's own. A simulated process owns its disk (crashes and disk faults act
    /// on it between operations) and lends it for each operation.
    public var disk: SimDisk {
        // Yielded in place, never copied: `get` would copy the whole disk for every read.
        _read {
            if let lent {
                yield lent.pointee
            } else {
                yield ownDisk
            }
        }
        _modify {
            if let lent {
                yield &lent.pointee
            } else {
                yield &ownDisk
            }
        }
    }
    @usableFromInline var ownDisk: SimDisk
    /// The disk lent for the operation running now, in place where its owner keeps it.
    @usableFromInline var lent: UnsafeMutablePointer<SimDisk>?
    /// Virtual time (ns) the operations since the last `resetCost()` took, one after another as
    /// on a storage thread: every write's latency, every fsync's, the longest of a directory
    /// sync's fsyncs.
    public private(set) var latency: Int64 = 0
    /// The fsyncs begun since the last `resetCost()`, for the driver to complete after `latency`.
    public private(set) var tickets: [FsyncTicket] = []
    public private(set) var bytesWritten = 0
    /// Sync calls since the last `resetCost()` (a directory sync counts once).
    public private(set) var syncs = 0
    /// Names created, removed or renamed onto since their directory was last synced.
    private var unsyncedEntries: [(name: String, slot: SimDisk.FileSlot)] = []

    public init(disk: SimDisk) {
        ownDisk = disk
    }

    /// A file system that holds no disk until one is lent to it.
    public convenience init() {
        self.init(disk: SimDisk(config: DiskConfig(), rng: SeededGenerator(seed: 0)))
    }

    /// Runs `body` on `disk`, which stays where its owner keeps it: the operations reach it
    /// through a pointer valid for the call. (Swapping it in and back copied the ~200-byte disk
    /// six times per storage batch: 1% of a simulated swarm seed.)
    // Inlinable: called per store operation from the driver's module; unspecialised, the
    // generic call cost a metadata lookup each time (measured: 2.7 % of a broker run).
    @inlinable
    public func lending<T>(_ disk: inout SimDisk, _ body: () throws -> T) rethrows -> T {
        try withUnsafeMutablePointer(to: &disk) { pointer in
            precondition(lent == nil, "a simulated disk is already lent to this file system")
            lent = pointer
            defer { lent = nil }
            return try body()
        }
    }

    /// Starts a new account of latency, tickets, bytes and syncs (keeping the ticket buffer, so
    /// a hot path does not allocate per operation).
    public func resetCost() {
        latency = 0
        tickets.clearKeepingCapacity()
        bytesWritten = 0
        syncs = 0
    }

    /// Completes every fsync begun since the last reset at once (tests, and recovery, whose
    /// repairs are durable before a node starts).
    public func completeFsyncs() {
        for ticket in tickets { disk.completeFsync(ticket) }
        resetCost()
    }

    public func open(_ path: String, create: Bool, truncate: Bool, readOnly: Bool) throws -> any StoreFile {
        // The name is hashed here only: the file keeps its slot for every later operation.
        let slot = disk.slot(path)
        if !disk.exists(slot) {
            guard create else { throw LogStoreError.io(operation: "open", path: path, errno: 2) }  // ENOENT
            disk.truncate(slot, to: 0)  // creates it
            noteEntry(path, slot)
        } else if truncate {
            disk.truncate(slot, to: 0)
        }
        return SimDiskFile(path: path, slot: slot, fileSystem: self)
    }

    /// Directories exist while they hold a file: nothing to create.
    public func makeDirectory(_ path: String) throws {}

    public func syncDirectory(_ path: String) throws {
        var longest: Int64 = 0
        var kept: [(name: String, slot: SimDisk.FileSlot)] = []
        for entry in unsyncedEntries {
            guard Self.isDirectChild(entry.name, of: path) else {
                kept.append(entry)
                continue
            }
            let ticket = disk.beginFsync(entry.slot)
            tickets.append(ticket)
            longest = max(longest, ticket.latency)
        }
        unsyncedEntries = kept
        latency += longest
        syncs += 1
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

    public func remove(_ path: String) throws {
        let slot = disk.slot(path)
        guard disk.exists(slot) else { return }
        disk.remove(slot)
        noteEntry(path, slot)
    }

    public func removeDirectory(_ path: String) throws {
        for file in disk.files where file.hasPrefix(path + "/") { try remove(file) }
    }

    public func rename(_ from: String, to: String) throws {
        let source = disk.slot(from), target = disk.slot(to)
        guard disk.rename(source, to: target) else { throw LogStoreError.io(operation: "rename", path: from, errno: 2) }
        noteEntry(from, source)
        noteEntry(to, target)
    }

    func write(_ file: SimDisk.FileSlot, _ bytes: [UInt8], at offset: UInt64) {
        latency += disk.write(file, at: Int(offset), bytes)
        bytesWritten += bytes.count
    }

    func sync(_ file: SimDisk.FileSlot) {
        let ticket = disk.beginFsync(file)
        tickets.append(ticket)
        latency += ticket.latency
        syncs += 1
    }

    private func noteEntry(_ path: String, _ slot: SimDisk.FileSlot) {
        if !unsyncedEntries.contains(where: { $0.slot == slot }) { unsyncedEntries.append((path, slot)) }
    }

    /// Byte-wise on contiguous UTF-8 (paths are compared as bytes, as a file system does).
    /// Foundation's `hasPrefix`/`contains` cost 26,000 instructions per checkpoint, the generic
    /// `String.UTF8View` algorithms still 3,200 per name (0.9% of a simulated swarm seed).
    static func isDirectChild(_ name: String, of directory: String) -> Bool {
        var name = name, directory = directory
        return name.withUTF8 { name in
            directory.withUTF8 { directory in
                let slash = UInt8(ascii: "/")
                guard name.count > directory.count, name[directory.count] == slash,
                      name[..<directory.count].elementsEqual(directory) else { return false }
                return !name[(directory.count + 1)...].contains(slash)
            }
        }
    }
}

/// One file of a `SimDiskFileSystem`: positional reads and writes on the disk's volatile view.
/// It keeps its path's slot, so it reaches the same file its path names without hashing the path
/// per operation (the disk lent is always the same node's, whose slots never move).
final class SimDiskFile: StoreFile {
    let path: String
    let slot: SimDisk.FileSlot
    let fileSystem: SimDiskFileSystem

    init(path: String, slot: SimDisk.FileSlot, fileSystem: SimDiskFileSystem) {
        self.path = path
        self.slot = slot
        self.fileSystem = fileSystem
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        fileSystem.write(slot, bytes, at: offset)
    }

    func read(count: Int, at offset: UInt64) throws -> [UInt8] {
        let data = fileSystem.disk.read(slot)
        let start = min(Int(offset), data.count)
        return Array(data[start..<min(data.count, start + count)])
    }

    func size() throws -> UInt64 { UInt64(fileSystem.disk.read(slot).count) }

    func truncate(to size: UInt64) throws { fileSystem.disk.truncate(slot, to: Int(size)) }

    func sync() throws { fileSystem.sync(slot) }

    func close() {}
}
