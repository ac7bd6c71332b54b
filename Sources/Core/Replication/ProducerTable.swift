/// Idempotent producers (Kafka's KIP-98): what a replica knows about each producer that wrote
/// to its stream, so that a re-sent message is answered with the offset it already has instead
/// of being stored twice.
///
/// The table is a function of the log: every entry carries its producer id, producer epoch and
/// sequence, and `record` is called for every entry a replica appends — the leader's own and
/// the ones a follower fetches. So a new leader has its producers' state the moment it takes
/// over, and a replica that truncates rebuilds it from the log it keeps. Snapshots
/// (`ProducerSnapshot`, written with the high-water-mark checkpoint) spare a restart the replay
/// of the whole log; a snapshot that does not match the recovered log is ignored.
///
/// Producer ids and epochs follow a documented scheme instead of a broker round trip (Kafka's
/// InitProducerId): the client picks its producer id, and its epoch is the incarnation of that
/// producer — the simulator uses 1, live drivers the run's start time in milliseconds — so a
/// later incarnation fences an earlier one (`fencedProducer`) and starts its own sequences.
/// Producer id 0 is anonymous: never de-duplicated.
///
/// Bounded: at most `capacity` producers (the one that wrote longest ago is forgotten first),
/// and a producer idle for `expiryNanos` on this replica's clock is forgotten when it next
/// writes (Kafka's `producer.id.expiration.ms`). A forgotten producer is treated as new: its
/// next message is accepted whatever its sequence. Each producer remembers the offsets of its
/// last `window` sequences; for a re-send older than that the replica searches its log
/// (`StreamReplica`), and refuses it as `duplicateSequence` only if that finds nothing.
public struct ProducerTable: Sendable, Equatable {
    /// One producer's state. Codable: it is what a snapshot stores.
    public struct Producer: Codable, Sendable, Equatable {
        public var id: UInt64
        public var epoch: UInt64
        public var lastSequence: UInt64
        /// Offsets of the most recent sequences, a ring: `offsets[(head + k) % count]` is the
        /// offset of sequence `lastSequence - (count - 1 - k)`.
        public var offsets: [UInt64]
        public var head: Int
        /// This replica's clock when the producer last wrote (nil: not seen since a restart).
        /// Local, so not part of the snapshot's meaning: replicas may expire at different times.
        public var lastSeenAt: Int64?

        public init(id: UInt64, epoch: UInt64, lastSequence: UInt64, offsets: [UInt64], head: Int = 0, lastSeenAt: Int64? = nil) {
            precondition(!offsets.isEmpty && head < offsets.count)
            self.id = id
            self.epoch = epoch
            self.lastSequence = lastSequence
            self.offsets = offsets
            self.head = head
            self.lastSeenAt = lastSeenAt
        }

        public var lastOffset: UInt64 { offsets[(head + offsets.count - 1) % offsets.count] }

        /// The offset of `sequence`, if it is among the remembered ones.
        public func offset(of sequence: UInt64) -> UInt64? {
            guard sequence <= lastSequence else { return nil }
            let age = lastSequence - sequence
            guard age < UInt64(offsets.count) else { return nil }
            return offsets[(head + offsets.count - 1 - Int(age)) % offsets.count]
        }

        mutating func remember(sequence: UInt64, offset: UInt64, window: Int) {
            lastSequence = sequence
            if offsets.count < window {
                // Not full yet: the ring is the array in order (head stays 0).
                offsets.append(offset)
            } else {
                offsets[head] = offset
                head = (head + 1) % offsets.count
            }
        }
    }

    /// What the leader does with a publish.
    public enum Verdict: Sendable, Equatable {
        /// Append it (new producer, next sequence, or a newer epoch).
        case append
        /// Already stored at `offset`: answer with it, store nothing.
        case duplicate(offset: UInt64)
        /// Already stored, longer ago than the window of offsets kept.
        case duplicateOutsideWindow
        /// A sequence was skipped: `expected` is the next one this producer may send.
        case outOfOrder(expected: UInt64)
        /// An older incarnation of a producer whose newer one has written (`current`).
        case fenced(current: UInt64)
    }

    public let capacity: Int
    public let window: Int
    public let expiryNanos: Int64
    /// The producers, in no meaningful order (a removal moves the last one into the gap),
    /// found by a scan of `ids` while there are few and through `slotOfID` beyond `scanLimit`.
    /// A dictionary alone hashed each entry's producer id with SipHash (twice for a leader's
    /// append) and copied the producer out for a verdict: 2% of a simulated broker run.
    private var ids: [UInt64] = []
    private var states: [Producer] = []
    /// Filled exactly while there are more than `scanLimit` producers.
    private var slotOfID: [UInt64: Int] = [:]
    private static var scanLimit: Int { 16 }

    public init(capacity: Int, window: Int, expiryNanos: Int64) {
        self.capacity = max(1, capacity)
        self.window = max(1, window)
        self.expiryNanos = expiryNanos
    }

    public var count: Int { ids.count }

    public func producer(_ id: UInt64) -> Producer? { slot(of: id).map { states[$0] } }

    /// How the leader must treat `payload` at time `now`.
    public mutating func verdict(for payload: LogPayload, now: Int64) -> Verdict {
        guard payload.producerID != 0, let slot = slot(of: payload.producerID) else { return .append }
        if let seen = states[slot].lastSeenAt, now - seen > expiryNanos {
            remove(at: slot)  // expired: a new producer
            return .append
        }
        // First write since a restart: idle from now on.
        if states[slot].lastSeenAt == nil { states[slot].lastSeenAt = now }
        let epoch = states[slot].epoch, lastSequence = states[slot].lastSequence
        if payload.producerEpoch < epoch { return .fenced(current: epoch) }
        if payload.producerEpoch > epoch { return .append }
        if payload.sequence == lastSequence &+ 1 { return .append }
        if payload.sequence > lastSequence { return .outOfOrder(expected: lastSequence &+ 1) }
        if let offset = states[slot].offset(of: payload.sequence) { return .duplicate(offset: offset) }
        return .duplicateOutsideWindow
    }

    /// Notes an entry appended to the log (by the leader or fetched by a follower).
    public mutating func record(_ entry: LogEntry, now: Int64?) {
        record(producerID: entry.payload.producerID, producerEpoch: entry.payload.producerEpoch,
               sequence: entry.payload.sequence, offset: entry.offset, now: now)
    }

    /// `record` by fields: a replica appending reads them in place from its batch (passing the
    /// entry copied it whole, through its value witness, for every record appended).
    public mutating func record(producerID id: UInt64, producerEpoch: UInt64, sequence: UInt64, offset: UInt64, now: Int64?) {
        guard id != 0 else { return }
        let slot = slot(of: id)
        if let slot, states[slot].epoch == producerEpoch {
            // In the leader's log a producer's sequences only grow; a follower copies them.
            // Mutated in place: a copy taken out and put back would copy the offsets ring.
            states[slot].remember(sequence: sequence, offset: offset, window: window)
            if let now { states[slot].lastSeenAt = now }
            return
        }
        let producer = Producer(id: id, epoch: producerEpoch, lastSequence: sequence,
                                offsets: [offset], head: 0, lastSeenAt: now)
        if let slot {
            states[slot] = producer
        } else {
            if ids.count >= capacity { evictOldest() }
            insert(producer)
        }
    }

    /// Forgets the producer that wrote longest ago. Last offsets are distinct, so the choice
    /// does not depend on the order producers are kept in.
    private mutating func evictOldest() {
        var oldest: (slot: Int, offset: UInt64)?
        for slot in states.indices where oldest.map({ states[slot].lastOffset < $0.offset }) ?? true {
            oldest = (slot, states[slot].lastOffset)
        }
        if let oldest { remove(at: oldest.slot) }
    }

    /// Rebuilt from scratch: `snapshot` (if it matches `log`) then the entries after it.
    public mutating func rebuild(from log: ArraySlice<LogEntry>, snapshot: ProducerSnapshot? = nil) {
        ids.removeAll(keepingCapacity: true)
        states.removeAll(keepingCapacity: true)
        slotOfID.removeAll()
        var start = log.startIndex
        if let snapshot, snapshot.matches(log) {
            for producer in snapshot.producers {
                if let slot = slot(of: producer.id) { states[slot] = producer } else { insert(producer) }
            }
            start = log.startIndex + Int(snapshot.endOffset)
        }
        for entry in log[start...] { record(entry, now: nil) }
    }

    /// Equal when they hold the same producers (in whatever order) under the same limits.
    public static func == (lhs: ProducerTable, rhs: ProducerTable) -> Bool {
        lhs.capacity == rhs.capacity && lhs.window == rhs.window && lhs.expiryNanos == rhs.expiryNanos
            && lhs.ids.count == rhs.ids.count && lhs.states.allSatisfy { rhs.producer($0.id) == $0 }
    }

    // MARK: - Finding producers

    private func slot(of id: UInt64) -> Int? {
        if ids.count > Self.scanLimit { return slotOfID[id] }
        return ids.withUnsafeBufferPointer { $0.firstIndex(of: id) }
    }

    /// Adds a producer whose id is not in the table.
    private mutating func insert(_ producer: Producer) {
        ids.append(producer.id)
        states.append(producer)
        if ids.count == Self.scanLimit + 1 {
            for (slot, id) in ids.enumerated() { slotOfID[id] = slot }
        } else if ids.count > Self.scanLimit {
            slotOfID[producer.id] = ids.count - 1
        }
    }

    private mutating func remove(at slot: Int) {
        let id = ids[slot]
        let last = ids.count - 1
        if slot != last {
            ids.swapAt(slot, last)
            states.swapAt(slot, last)
        }
        ids.removeLast()
        states.removeLast()
        if ids.count == Self.scanLimit {
            slotOfID.removeAll()
        } else if ids.count > Self.scanLimit {
            slotOfID[id] = nil
            if slot != last { slotOfID[ids[slot]] = slot }
        }
    }

    /// The table as of the log's end, producers in id order (deterministic bytes on disk).
    public func snapshot(endOffset: UInt64, lastEntryEpoch: UInt64) -> ProducerSnapshot {
        let sorted = states.sorted { $0.id < $1.id }.map { producer -> Producer in
            var kept = producer
            kept.lastSeenAt = nil
            return kept
        }
        return ProducerSnapshot(endOffset: endOffset, lastEntryEpoch: lastEntryEpoch, producers: sorted)
    }
}

/// The producer table as of `endOffset` (Kafka's producer-state snapshot files). Valid for a
/// log only if that log still holds the entry before `endOffset` with the same leader epoch:
/// the same (offset, epoch) means the same entry and the same log before it (KIP-101).
public struct ProducerSnapshot: Codable, Sendable, Equatable {
    public var endOffset: UInt64
    /// The leader epoch of the entry at `endOffset - 1` (0 for an empty log).
    public var lastEntryEpoch: UInt64
    public var producers: [ProducerTable.Producer]

    public init(endOffset: UInt64, lastEntryEpoch: UInt64, producers: [ProducerTable.Producer]) {
        self.endOffset = endOffset
        self.lastEntryEpoch = lastEntryEpoch
        self.producers = producers
    }

    public func matches(_ log: ArraySlice<LogEntry>) -> Bool {
        guard endOffset <= UInt64(log.count) else { return false }
        guard endOffset > 0 else { return true }
        return log[log.startIndex + Int(endOffset) - 1].leaderEpoch == lastEntryEpoch
    }
}
