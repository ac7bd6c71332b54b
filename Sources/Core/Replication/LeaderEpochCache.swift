/// The leader-epoch cache of one replica (KIP-101): for every leader epoch the replica has
/// seen entries of (or led), the first offset of that epoch. It answers "where does epoch E
/// end?", which is what followers ask after a leader change instead of trusting their
/// high-water mark.

/// One row of the cache: `epoch` starts at `startOffset`.
public struct EpochStart: Codable, Sendable, Hashable {
    public var epoch: UInt64
    public var startOffset: UInt64

    public init(epoch: UInt64, startOffset: UInt64) {
        self.epoch = epoch
        self.startOffset = startOffset
    }
}

public struct LeaderEpochCache: Codable, Sendable, Equatable {
    /// Strictly increasing epochs, non-decreasing start offsets.
    public private(set) var entries: [EpochStart]

    public init() { entries = [] }

    /// Rebuilds the cache after a restart. The surviving log entries are authoritative (the
    /// persisted cache may be ahead of or behind the durable log, as Kafka's checkpoint file
    /// can be); from the persisted cache we keep only an epoch its replica led without
    /// writing anything yet, which starts exactly at the log end.
    public init(rebuiltFrom log: [LogEntry], persisted: [EpochStart]) {
        entries = []
        for entry in log where entries.last.map({ entry.leaderEpoch > $0.epoch }) ?? true {
            entries.append(EpochStart(epoch: entry.leaderEpoch, startOffset: entry.offset))
        }
        let logEnd = UInt64(log.count)
        if let empty = persisted.last, empty.startOffset == logEnd,
            entries.last.map({ empty.epoch > $0.epoch }) ?? true
        {
            entries.append(empty)
        }
    }

    public var latestEpoch: UInt64? { entries.last?.epoch }

    /// Prepares appending an entry of `epoch` at `offset` (which must be the log end):
    /// drops epochs that start at or after `offset` (they have no entries) and records
    /// `epoch` if it is new. Returns nil when the append would make epochs go backwards
    /// (a corrupt or misdirected fetch), otherwise whether the cache changed.
    mutating func prepareAppend(epoch: UInt64, at offset: UInt64) -> Bool? {
        if let last = entries.last, last.epoch == epoch { return false }
        var kept = entries
        while let last = kept.last, last.startOffset >= offset, last.epoch != epoch {
            kept.removeLast()
        }
        if let last = kept.last, last.epoch > epoch { return nil }
        if kept.last?.epoch != epoch {
            kept.append(EpochStart(epoch: epoch, startOffset: offset))
        }
        let changed = kept != entries
        entries = kept
        return changed
    }

    /// Removes every epoch that starts at or after `offset` (Kafka's `truncateFromEnd`),
    /// after the log was truncated to `offset`. Returns whether the cache changed.
    @discardableResult
    mutating func truncateFromEnd(_ offset: UInt64) -> Bool {
        let before = entries.count
        while let last = entries.last, last.startOffset >= offset { entries.removeLast() }
        return entries.count != before
    }

    /// KIP-279: the largest epoch ≤ `requested` this replica knows, and where it ends (the
    /// start of the next epoch, or `logEndOffset` for the latest one). Nil when every known
    /// epoch is larger than `requested`.
    public func endOffset(forEpoch requested: UInt64, logEndOffset: UInt64)
        -> (epoch: UInt64, endOffset: UInt64)?
    {
        guard let index = entries.lastIndex(where: { $0.epoch <= requested }) else { return nil }
        let end = index + 1 < entries.count ? entries[index + 1].startOffset : logEndOffset
        return (entries[index].epoch, end)
    }

    /// KIP-101 as first shipped (OffsetsForLeaderEpoch v0): the start offset of the first
    /// epoch larger than `requested`, or `logEndOffset` when there is none. A bare offset:
    /// the asker cannot tell whether this replica ever saw `requested`.
    public func firstOffsetAfterEpoch(_ requested: UInt64, logEndOffset: UInt64) -> UInt64 {
        entries.first(where: { $0.epoch > requested })?.startOffset ?? logEndOffset
    }
}
