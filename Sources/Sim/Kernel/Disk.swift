/// The simulated disk of one process: a flat namespace of files, each with a *volatile* view
/// (what reads see: the page cache) and a *durable* view (what survives a crash).
///
/// Durability model (deliberately that of a careful POSIX user, not of a real kernel):
/// - writes, appends, truncations and removals change only the volatile view;
/// - `beginFsync(file)` snapshots the file's volatile view; `completeFsync` makes that
///   snapshot durable. The driver calls it after `ticket.latency`, so a crash in between
///   loses the fsync (as a power cut during `fsync(2)` would);
/// - truncate, remove and rename become durable on the next completed fsync *of that file*
///   (we don't model directory fsync separately: the file's own fsync stands for both);
/// - a crash replaces every volatile view with the durable one, optionally keeping a torn
///   prefix of each file's unsynced tail and flipping one bit (`DiskConfig`).
///
/// Snapshots are lazy: a snapshot or durable view that is a prefix of the current data is
/// stored as its length and is copied only when a later write, truncate or remove changes
/// bytes inside that prefix. An append-only log therefore never copies on fsync — which is
/// what keeps a 60 s run with an fsync per millisecond linear rather than quadratic.

public struct DiskConfig: Sendable, Equatable {
    public var writeLatency: Distribution
    public var fsyncLatency: Distribution
    /// On crash, a random prefix (possibly empty, possibly all) of each file's unsynced tail
    /// survives: the sectors that happened to reach the platter.
    public var tornWrites: Bool
    /// On crash, the probability that one random bit of the surviving data flips (the bit
    /// is chosen uniformly over all bytes of all non-empty files, so bigger files are hit
    /// more often, as a bad sector would be).
    public var corruptionProbability: Double
    /// Every fsync fails (EIO): the driver fail-stops the process at the end of a storage batch
    /// that synced anything, and that batch's fsyncs never complete (a disk fault, so it
    /// survives the process's restart, as the disk does).
    public var fsyncFails: Bool

    public init(
        writeLatency: Distribution = .constant(0), fsyncLatency: Distribution = .constant(0),
        tornWrites: Bool = false, corruptionProbability: Double = 0, fsyncFails: Bool = false
    ) {
        self.writeLatency = writeLatency
        self.fsyncLatency = fsyncLatency
        self.tornWrites = tornWrites
        self.corruptionProbability = corruptionProbability
        self.fsyncFails = fsyncFails
    }
}

/// An fsync in progress. `id`s are unique over the disk's lifetime (they keep counting across
/// crashes), so a ticket issued before a crash can never match anything afterwards: the
/// ids are the epoch counter.
public struct FsyncTicket: Sendable, Equatable {
    public let id: UInt64
    /// The file synced (`SimDisk.name(of:)` gives its name).
    public let file: SimDisk.FileSlot
    /// Nanoseconds until the driver should call `completeFsync`.
    public let latency: Int64

    public init(id: UInt64, file: SimDisk.FileSlot, latency: Int64) {
        self.id = id
        self.file = file
        self.latency = latency
    }
}

/// Where a bit flipped at the last crash, for traces and checkers.
public struct DiskCorruption: Sendable, Equatable {
    public let file: String
    public let byteOffset: Int
    public let bit: Int
}

public struct SimDisk: Sendable {
    /// A file name's place on the disk: the same for as long as the disk exists, whatever
    /// happens to the file (created, removed, renamed onto, lost in a crash). A store's open
    /// file keeps its slot and reaches its state without hashing or comparing its name: looking
    /// names up per write, fsync and completion cost ~2% of a simulated swarm seed, and every
    /// checkpoint's create, rename and remove emptied the cache of recent names.
    public struct FileSlot: Sendable, Equatable {
        @usableFromInline let index: Int
    }

    /// Contents of a durable view or fsync snapshot.
    enum Content: Sendable, Equatable {
        case absent
        /// The first `n` bytes of the file's current volatile data (valid because any
        /// mutation inside them first materialises the content: see `pin`).
        case prefix(Int)
        case bytes([UInt8])
    }

    /// One name's file. The initial value is a file that exists in neither view, which is
    /// what a name the disk never saw (or forgot: see `dropIfEmpty`) is.
    struct FileState: Sendable {
        /// `nil` = removed (or never created) in the volatile view.
        var data: [UInt8]?
        var durable: Content = .absent
        /// Highest ticket id whose snapshot was made durable: fsyncs can complete out of
        /// order, and an older snapshot must not overwrite a newer one.
        var syncedThrough: UInt64 = 0
        /// Set by `rename` onto this file: the first ticket id whose snapshot holds the new
        /// contents. Until such a snapshot is durable a crash restores the old durable
        /// contents whole — rename(2) is atomic, so the file is never torn between the two.
        var renamedAtTicket: UInt64?

        /// In place in `state`: no copy of the file.
        mutating func append(_ bytes: [UInt8]) {
            if data == nil { data = [] }
            data!.append(contentsOf: bytes)
        }

        /// `rename` onto this file: its data replaced at once; the new contents are not
        /// durable before a snapshot from `ticket` on is.
        mutating func replace(with newData: [UInt8], renamedAtTicket ticket: UInt64) {
            data = newData
            renamedAtTicket = ticket
        }

        /// Makes an fsync's snapshot durable unless a newer one already is; true if the file
        /// is removed in the volatile view (then it may be dropped altogether).
        mutating func settle(_ done: PendingFsync) -> Bool {
            if done.id > syncedThrough {
                durable = done.snapshot
                syncedThrough = done.id
                if let renamed = renamedAtTicket, done.id >= renamed { renamedAtTicket = nil }
            }
            return data == nil
        }

        /// Appends if `offset` is the end of the file (0 for a missing one); false otherwise.
        mutating func append(_ bytes: [UInt8], ifAt offset: Int) -> Bool {
            guard offset == data?.count ?? 0 else { return false }
            append(bytes)
            return true
        }
    }

    struct PendingFsync: Sendable {
        let id: UInt64
        let file: FileSlot
        var snapshot: Content
    }

    public var config: DiskConfig
    var rng: SeededGenerator
    /// Every name's file, by slot. Looked up by slot only; anything ordered goes through the
    /// names, sorted.
    var state: [FileState] = []
    /// The name of each slot.
    var names: [String] = []
    /// The slot of each name the disk has seen.
    var slots: [String: Int] = [:]
    var pending: [PendingFsync] = []
    var nextTicketID: UInt64 = 1
    public private(set) var crashCount = 0
    /// The bit flipped by the most recent crash, if any.
    public private(set) var lastCorruption: DiskCorruption?

    public init(config: DiskConfig, rng: SeededGenerator) {
        self.config = config
        self.rng = rng
    }

    // MARK: Names

    /// The slot of `file`; a name the disk never saw gets one (a file that exists in neither
    /// view, as it did not before).
    public mutating func slot(_ file: String) -> FileSlot {
        if let index = slots[file] { return FileSlot(index: index) }
        state.append(FileState())
        names.append(file)
        slots[file] = names.count - 1
        return FileSlot(index: names.count - 1)
    }

    public func name(of file: FileSlot) -> String { names[file.index] }

    /// Slot indices in the order of their names (for anything that visits every file).
    func slotsByName() -> [Int] {
        names.indices.sorted { names[$0] < names[$1] }
    }

    // MARK: Volatile operations

    /// Appends; returns the write latency in ns. Visible immediately, not durable.
    public mutating func append(_ file: String, _ bytes: [UInt8]) -> Int64 {
        // Appends never touch existing bytes, so no snapshot needs pinning.
        state[slot(file).index].append(bytes)
        return config.writeLatency.sampleNanos(&rng)
    }

    /// Overwrites from `offset`, extending the file (zero-filling any gap) as needed.
    public mutating func write(_ file: String, at offset: Int, _ bytes: [UInt8]) -> Int64 {
        write(slot(file), at: offset, bytes)
    }

    /// `write` to the file in `file`'s slot.
    public mutating func write(_ file: FileSlot, at offset: Int, _ bytes: [UInt8]) -> Int64 {
        precondition(offset >= 0, "negative file offset")
        // A write at the end is an append (a log's every write): one in-place append, no pinning.
        if state[file.index].append(bytes, ifAt: offset) { return config.writeLatency.sampleNanos(&rng) }
        let latency = config.writeLatency.sampleNanos(&rng)
        if offset < state[file.index].data?.count ?? 0, !bytes.isEmpty { pin(file, from: offset) }
        // Moved out while changed, so the array stays uniquely referenced.
        var current = state[file.index].data ?? []
        state[file.index].data = nil
        if offset > current.count {
            current.append(contentsOf: repeatElement(0, count: offset - current.count))
        }
        let overlap = min(bytes.count, current.count - offset)
        if overlap > 0 {
            current.replaceSubrange(offset..<(offset + overlap), with: bytes[0..<overlap])
        }
        if overlap < bytes.count { current.append(contentsOf: bytes[overlap...]) }
        state[file.index].data = current
        return latency
    }

    /// Shrinks (or zero-extends) the file to `length` bytes; creates it if missing.
    public mutating func truncate(_ file: String, to length: Int) {
        truncate(slot(file), to: length)
    }

    /// `truncate` of the file in `file`'s slot.
    public mutating func truncate(_ file: FileSlot, to length: Int) {
        precondition(length >= 0, "negative file length")
        if length < state[file.index].data?.count ?? 0 { pin(file, from: length) }
        // Moved out while changed, so the array stays uniquely referenced.
        var current = state[file.index].data ?? []
        state[file.index].data = nil
        if length < current.count {
            current.removeSubrange(length...)
        } else {
            current.append(contentsOf: repeatElement(0, count: length - current.count))
        }
        state[file.index].data = current
    }

    /// Atomically replaces `to` with `from` (rename(2)) in the volatile view. Each name's change
    /// becomes durable at the next completed fsync of that name (a directory fsync, for a
    /// caller with directories); a crash before leaves `to` as it durably was, never torn.
    /// False if `from` does not exist.
    @discardableResult
    public mutating func rename(_ from: String, to: String) -> Bool {
        rename(slot(from), to: slot(to))
    }

    /// `rename` between slots.
    @discardableResult
    public mutating func rename(_ from: FileSlot, to: FileSlot) -> Bool {
        guard let data = state[from.index].data else { return false }
        guard from != to else { return true }
        pin(to, from: 0)
        state[to.index].replace(with: data, renamedAtTicket: nextTicketID)
        remove(from)
        return true
    }

    public mutating func remove(_ file: String) {
        remove(slot(file))
    }

    /// `remove` of the file in `file`'s slot.
    public mutating func remove(_ file: FileSlot) {
        guard state[file.index].data != nil else { return }
        pin(file, from: 0)
        state[file.index].data = nil
        dropIfEmpty(file)
    }

    /// The current (volatile) view; empty if the file doesn't exist.
    public func read(_ file: String) -> [UInt8] {
        slots[file].map { read(FileSlot(index: $0)) } ?? []
    }

    public func read(_ file: FileSlot) -> [UInt8] {
        state[file.index].data ?? []
    }

    public func exists(_ file: String) -> Bool {
        slots[file].map { exists(FileSlot(index: $0)) } ?? false
    }

    public func exists(_ file: FileSlot) -> Bool {
        state[file.index].data != nil
    }

    /// What would survive a crash right now (ignoring torn writes and corruption).
    public func durableContents(_ file: String) -> [UInt8] {
        guard let index = slots[file] else { return [] }
        return resolve(state[index].durable, state[index].data) ?? []
    }

    public func durablyExists(_ file: String) -> Bool {
        guard let index = slots[file] else { return false }
        return state[index].durable != .absent
    }

    /// Files that exist in the volatile view, sorted by name.
    public var files: [String] {
        names.indices.filter { state[$0].data != nil }.map { names[$0] }.sorted()
    }

    // MARK: Durability

    /// Snapshots the file now; the snapshot becomes durable at `completeFsync(ticket)`.
    /// Fsync of a missing (removed) file makes its removal durable.
    public mutating func beginFsync(_ file: String) -> FsyncTicket {
        beginFsync(slot(file))
    }

    /// `beginFsync` of the file in `file`'s slot.
    public mutating func beginFsync(_ file: FileSlot) -> FsyncTicket {
        let id = nextTicketID
        nextTicketID += 1
        // The length is read in place: binding the contents copied the optional array out and
        // destroyed it through a generic value witness (0.3% of a broker run).
        let snapshot: Content = state[file.index].data.map { .prefix($0.count) } ?? .absent
        pending.append(PendingFsync(id: id, file: file, snapshot: snapshot))
        return FsyncTicket(id: id, file: file, latency: config.fsyncLatency.sampleNanos(&rng))
    }

    /// Makes the ticket's snapshot durable. A no-op for a ticket voided by a crash, one
    /// already completed, or one older than a snapshot of the same file already made
    /// durable (that newer snapshot contains everything the older one had).
    public mutating func completeFsync(_ ticket: FsyncTicket) {
        guard let index = pending.firstIndex(where: { $0.id == ticket.id }) else { return }
        let done = pending.remove(at: index)
        if state[done.file.index].settle(done) { dropIfEmpty(done.file) }
    }

    /// Tickets issued and neither completed nor voided.
    public var pendingFsyncCount: Int { pending.count }

    /// Power loss: every volatile view becomes the durable one (plus a torn prefix of the
    /// unsynced tail if configured, plus an optional bit flip); pending fsyncs are void.
    ///
    /// Files are visited in sorted name order and each file with an unsynced tail costs one
    /// draw (when torn writes are on), so the outcome depends only on the seed and contents.
    public mutating func crash() {
        crashCount += 1
        pending.removeAll()
        lastCorruption = nil
        for index in slotsByName() {
            let entry = state[index]
            let durable = resolve(entry.durable, entry.data)
            var survivor = durable
            if config.tornWrites, entry.renamedAtTicket == nil, let data = entry.data {
                // The unsynced tail: bytes written past the durable end. Overwrites inside
                // the durable region are simply lost (we don't tear inside old sectors).
                let base = durable?.count ?? 0
                let tail = data.count - base
                if tail > 0 {
                    let kept = rng.index(below: tail + 1)
                    if kept > 0 {
                        var bytes = durable ?? []
                        bytes.append(contentsOf: data[base..<(base + kept)])
                        survivor = bytes
                    }
                }
            }
            if let survivor {
                state[index] = FileState(data: survivor, durable: .prefix(survivor.count), syncedThrough: entry.syncedThrough)
            } else {
                state[index] = FileState()
            }
        }
        if config.corruptionProbability > 0, rng.chance(config.corruptionProbability) {
            flipRandomBit()
        }
    }

    // MARK: Internals

    /// One bit, uniform over all bytes of all files (sorted by name), flipped in place:
    /// after a crash volatile and durable views are the same bytes.
    mutating func flipRandomBit() {
        let order = slotsByName()
        var total = 0
        for index in order { total += state[index].data?.count ?? 0 }
        guard total > 0 else { return }
        var position = rng.index(below: total * 8)
        for index in order {
            let bits = (state[index].data?.count ?? 0) * 8
            if position < bits {
                let byte = position / 8, bit = position % 8
                state[index].data![byte] ^= UInt8(1) << UInt8(bit)
                lastCorruption = DiskCorruption(file: names[index], byteOffset: byte, bit: bit)
                return
            }
            position -= bits
        }
    }

    /// Before changing bytes at `offset...` of `file`: copy out every durable view and
    /// pending snapshot of that file that still refers to those bytes by length.
    mutating func pin(_ file: FileSlot, from offset: Int) {
        guard let data = state[file.index].data else { return }
        if case .prefix(let n) = state[file.index].durable, n > offset {
            state[file.index].durable = .bytes(Array(data[0..<n]))
        }
        for i in pending.indices where pending[i].file == file {
            if case .prefix(let n) = pending[i].snapshot, n > offset {
                pending[i].snapshot = .bytes(Array(data[0..<n]))
            }
        }
    }

    func resolve(_ content: Content, _ data: [UInt8]?) -> [UInt8]? {
        switch content {
        case .absent: return nil
        case .prefix(let n): return n == 0 ? [] : Array(data![0..<n])
        case .bytes(let bytes): return bytes
        }
    }

    /// Forgets a file that exists in neither view and has no pending fsync: its slot goes back
    /// to the state of a name never seen (as a removed temporary file is, for ever after).
    mutating func dropIfEmpty(_ file: FileSlot) {
        guard state[file.index].data == nil, state[file.index].durable == .absent else { return }
        if pending.contains(where: { $0.file == file }) { return }
        state[file.index] = FileState()
    }
}
