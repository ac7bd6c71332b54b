/// The messages stream replicas exchange over the network: follower fetches (Kafka's Fetch)
/// and the epoch-end-offset exchange used for truncation (Kafka's OffsetsForLeaderEpoch,
/// KIP-101/KIP-279). Every message names its stream and its sender; drivers route a message
/// to the `StreamReplica` of (`stream`, recipient).

/// Why a leader refused a request.
public enum ReplicationError: String, Codable, Sendable, Equatable {
    /// The sender's leader epoch is older than the leader's (KIP-320): its metadata is stale.
    case fencedLeaderEpoch
    /// The sender's leader epoch is newer than the recipient's (KIP-320): the recipient has
    /// not learnt of the change yet. Retry.
    case unknownLeaderEpoch
    /// The recipient does not lead the stream.
    case notLeader
    /// The sender is not a replica of the stream.
    case notAReplica
    /// The fetch offset is past the leader's log end (only reachable when logs diverged,
    /// e.g. with high-water-mark truncation or after an unclean election).
    case offsetOutOfRange
}

public struct FetchRequest: Codable, Sendable, Equatable {
    public var stream: String
    public var from: BrokerID
    /// The follower's log end: everything below it is stored (and, with fsync `.always`,
    /// durable) at the follower; the leader counts it towards the high-water mark.
    public var fetchOffset: UInt64
    /// The leader epoch the follower believes current (KIP-320).
    public var leaderEpoch: UInt64

    public init(stream: String, from: BrokerID, fetchOffset: UInt64, leaderEpoch: UInt64) {
        self.stream = stream
        self.from = from
        self.fetchOffset = fetchOffset
        self.leaderEpoch = leaderEpoch
    }
}

public struct FetchResponse: Codable, Sendable, Equatable {
    public var stream: String
    public var from: BrokerID
    /// The responder's leader epoch (what it believes current).
    public var leaderEpoch: UInt64
    /// Echo of the request, so a follower can discard answers to requests it gave up on.
    public var fetchOffset: UInt64
    public var highWatermark: UInt64
    public var logEndOffset: UInt64
    public var entries: [LogEntry]
    public var error: ReplicationError?

    public init(
        stream: String, from: BrokerID, leaderEpoch: UInt64, fetchOffset: UInt64, highWatermark: UInt64,
        logEndOffset: UInt64, entries: [LogEntry], error: ReplicationError?
    ) {
        self.stream = stream
        self.from = from
        self.leaderEpoch = leaderEpoch
        self.fetchOffset = fetchOffset
        self.highWatermark = highWatermark
        self.logEndOffset = logEndOffset
        self.entries = entries
        self.error = error
    }
}

/// Which OffsetsForLeaderEpoch semantics the follower speaks.
public enum EpochEndOffsetVersion: String, Codable, Sendable, Equatable {
    /// KIP-101: the answer is a bare offset (start of the first epoch after the requested one).
    case v1
    /// KIP-279: the answer also names the largest epoch ≤ the requested one that the leader knows.
    case v2
}

public struct EpochEndOffsetRequest: Codable, Sendable, Equatable {
    public var stream: String
    public var from: BrokerID
    public var version: EpochEndOffsetVersion
    /// The epoch whose end the follower asks for (its latest, then stepping back).
    public var requestedEpoch: UInt64
    /// The leader epoch the follower believes current (KIP-320 fencing).
    public var leaderEpoch: UInt64

    public init(stream: String, from: BrokerID, version: EpochEndOffsetVersion, requestedEpoch: UInt64, leaderEpoch: UInt64) {
        self.stream = stream
        self.from = from
        self.version = version
        self.requestedEpoch = requestedEpoch
        self.leaderEpoch = leaderEpoch
    }
}

public struct EpochEndOffsetResponse: Codable, Sendable, Equatable {
    public var stream: String
    public var from: BrokerID
    public var leaderEpoch: UInt64
    public var requestedEpoch: UInt64
    /// v2 only: the largest epoch ≤ `requestedEpoch` the leader knows; nil when it knows none
    /// (or for v1).
    public var epoch: UInt64?
    /// Where that epoch ends in the leader's log (v1: the start of the first epoch after
    /// the requested one, or the leader's log end).
    public var endOffset: UInt64
    public var error: ReplicationError?

    public init(
        stream: String, from: BrokerID, leaderEpoch: UInt64, requestedEpoch: UInt64, epoch: UInt64?,
        endOffset: UInt64, error: ReplicationError?
    ) {
        self.stream = stream
        self.from = from
        self.leaderEpoch = leaderEpoch
        self.requestedEpoch = requestedEpoch
        self.epoch = epoch
        self.endOffset = endOffset
        self.error = error
    }
}

public enum ReplicationMessage: Codable, Sendable, Equatable {
    case fetchRequest(FetchRequest)
    case fetchResponse(FetchResponse)
    case epochEndOffsetRequest(EpochEndOffsetRequest)
    case epochEndOffsetResponse(EpochEndOffsetResponse)

    public var stream: String {
        switch self {
        case .fetchRequest(let m): m.stream
        case .fetchResponse(let m): m.stream
        case .epochEndOffsetRequest(let m): m.stream
        case .epochEndOffsetResponse(let m): m.stream
        }
    }

    public var from: BrokerID {
        switch self {
        case .fetchRequest(let m): m.from
        case .fetchResponse(let m): m.from
        case .epochEndOffsetRequest(let m): m.from
        case .epochEndOffsetResponse(let m): m.from
        }
    }
}
