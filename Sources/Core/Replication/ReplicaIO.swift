/// What goes into a `StreamReplica` and what comes out: the whole contract between the
/// sans-IO replica and its driver (the simulator, or the SwiftNIO broker).

public enum ReplicaInput: Sendable, Equatable {
    /// The metadata group committed a new state for this stream (leader, leader epoch, ISR).
    /// Stale or duplicate states (by `epoch`) are ignored.
    case metadataChanged(PartitionState)
    /// A client publishes to this replica (only the leader accepts). `ack` overrides the
    /// replica's `ackPolicy` for this message (a live client chooses per publish); acks still
    /// leave in publish order.
    case publish(requestID: UInt64, payload: LogPayload, ack: AckPolicy? = nil)
    /// A consumer reads from `offset`: only the leader answers, and only with committed
    /// entries (below the high-water mark), at most `maxEntries`. Consumers track their own
    /// offsets.
    case consume(requestID: UInt64, offset: UInt64, maxEntries: Int)
    /// A replication message from another broker, addressed to this stream.
    case receive(ReplicationMessage)
    /// Time passed. Timer deadlines are checked on every input; `tick` is for when nothing
    /// else arrives. Tick at least every `fetchIntervalNanos` (drivers use `ReplicaConfig.tickIntervalNanos`).
    case tick
    /// The driver finished the oldest outstanding `.appendToLog` (its entries are in the log
    /// file, not necessarily durable). `upTo` echoes the effect's end offset.
    case appendCompleted(upTo: UInt64)
    /// The driver finished the oldest outstanding `.fsync(upTo:)`.
    case fsyncCompleted(upTo: UInt64)
    /// The broker restarted (after a crash or a clean stop) with what its disk kept. Resets
    /// everything in memory; the driver then delivers the current metadata.
    case restart(RecoveredLog)
}

/// What a restarting replica reads from its disk.
public struct RecoveredLog: Codable, Sendable, Equatable {
    /// The entries that survived, from offset 0. Anything after a gap or an epoch going
    /// backwards is discarded.
    public var entries: [LogEntry]
    /// The last `checkpointHighWatermark` that reached the disk.
    public var highWatermarkCheckpoint: UInt64
    /// The last `persistEpochCache` that reached the disk.
    public var epochCache: [EpochStart]
    /// A number unique to this start of the process (e.g. its incarnation), not 0. A replica
    /// that restarted leads only in a leadership renewed under this session, never in one it
    /// may have held before the crash (whose unsynced tail followers may still have).
    public var session: UInt64 = 0
    /// The last `persistProducerSnapshot` that reached the disk (nil: none). Used only if it
    /// matches `entries` (`ProducerSnapshot.matches`); otherwise the table is rebuilt from them.
    public var producerSnapshot: ProducerSnapshot?

    public init(entries: [LogEntry] = [], highWatermarkCheckpoint: UInt64 = 0, epochCache: [EpochStart] = [],
                producerSnapshot: ProducerSnapshot? = nil) {
        self.entries = entries
        self.highWatermarkCheckpoint = highWatermarkCheckpoint
        self.epochCache = epochCache
        self.producerSnapshot = producerSnapshot
    }

    public static let empty = RecoveredLog()
}

public enum PublishRejection: Codable, Sendable, Equatable {
    /// This replica does not lead the stream; `leader` is who does, if known.
    case notLeader(leader: BrokerID?)
    /// `ackPolicy == .all` and the ISR is smaller than `minISR` (Kafka's NotEnoughReplicas):
    /// refused before appending, so nothing is written.
    case notEnoughReplicas
    /// The entry was appended but leadership moved before it could be acknowledged. It may
    /// or may not survive: the publisher must retry (idempotently, by producer sequence).
    case leadershipChanged
    /// Idempotence (`ProducerTable`): the producer skipped a sequence; `expected` is the next
    /// one it may send (Kafka's OutOfOrderSequence). Nothing was written.
    case outOfOrderSequence(expected: UInt64)
    /// Idempotence: a newer incarnation (`currentEpoch`) of this producer has written; this one
    /// is a zombie (Kafka's ProducerFenced). Nothing was written.
    case fencedProducer(currentEpoch: UInt64)
    /// Idempotence: the message is already stored, too long ago for its offset to be known
    /// (Kafka's DuplicateSequence). Nothing was written; the client may count it as stored.
    case duplicateSequence

    /// The snake_case name clients and error tables use.
    public var name: String {
        switch self {
        case .notLeader: "not_leader"
        case .notEnoughReplicas: "not_enough_replicas"
        case .leadershipChanged: "leadership_changed"
        case .outOfOrderSequence: "out_of_order_sequence"
        case .fencedProducer: "fenced_producer"
        case .duplicateSequence: "duplicate_sequence"
        }
    }

    /// The refusal as the live broker words it to clients (idempotence refusals only; the
    /// others are worded by the broker). Starts with `name`; `expectedSequence(in:)` reads the
    /// out-of-order one back, so the wording and its reading stay together.
    public var idempotenceReason: String? {
        switch self {
        case .outOfOrderSequence(let expected): "\(name): expected sequence \(expected)"
        case .fencedProducer(let current): "\(name): producer epoch \(current) has written"
        case .duplicateSequence: "\(name): stored too long ago to know its offset"
        case .notLeader, .notEnoughReplicas, .leadershipChanged: nil
        }
    }

    /// The sequence an `out_of_order_sequence` refusal waits for, found in a reason text (also
    /// when quoted inside another message, as NATS ingestion's error replies do).
    public static func expectedSequence(in reason: String) -> UInt64? {
        guard let range = reason.firstRange(of: "out_of_order_sequence: expected sequence ") else { return nil }
        return UInt64(reason[range.upperBound...].prefix { $0.isNumber })
    }
}

public enum ReplicaEffect: Sendable, Equatable {
    case send(to: BrokerID, ReplicationMessage)
    /// Append to the end of the log file (the entries start at the current file end).
    /// Report `.appendCompleted(upTo:)` with the offset after the last entry.
    case appendToLog([LogEntry])
    /// Drop every entry at or after `from`. Becomes durable with the next completed fsync.
    case truncateLog(from: UInt64)
    /// Make everything written so far durable (including earlier truncations); report
    /// `.fsyncCompleted(upTo:)` with the same offset.
    case fsync(upTo: UInt64)
    /// Durably record the high-water mark (Kafka's replication-offset-checkpoint file).
    case checkpointHighWatermark(UInt64)
    /// Durably replace the leader-epoch cache (Kafka's leader-epoch-checkpoint file).
    case persistEpochCache([EpochStart])
    /// Durably replace the producer-state snapshot (Kafka's `.snapshot` files; idempotence).
    case persistProducerSnapshot(ProducerSnapshot)
    case ack(requestID: UInt64, offset: UInt64)
    /// The answer to `.consume`: committed entries from the requested offset (possibly none).
    case deliver(requestID: UInt64, entries: [LogEntry], highWatermark: UInt64)
    case reject(requestID: UInt64, reason: PublishRejection)
    /// Submit a command to the metadata Raft group. It may be rejected (stale) or lost;
    /// the replica retries when still needed.
    case propose(MetadataCommand)
}
