import Raft
import Replication

/// One disk operation a broker node's protocol state asked for. Operations run in the order
/// they were asked for, one batch at a time (see `GroupCommit`), so the sans-IO cores see
/// their completions in order. The live node and the simulator both queue these.
public enum StorageOp: Sendable {
    case raft(truncateFrom: LogIndex?, entries: [RaftEntry<MetadataCommand>], hardState: HardState?)
    case openStream(name: String)
    case append(stream: String, [LogEntry])
    case truncate(stream: String, from: UInt64)
    case fsync(stream: String)
    case checkpointHighWatermark(stream: String, UInt64)
    case persistEpochCache(stream: String, [EpochStart])
    case persistProducerSnapshot(stream: String, ProducerSnapshot)
    case deleteStream(name: String)
    /// Reads entries back (message bytes the replicas let go of); results come back in order.
    case read(stream: String, from: UInt64, count: Int)
}
