/// Configuration of one stream replica: durability and acknowledgement policies, the
/// truncation protocol (which reproduces the pre-KIP-101, KIP-101 and KIP-279 behaviours),
/// and timer periods in virtual nanoseconds.

public enum AckPolicy: String, Codable, Sendable, Equatable {
    /// Acknowledge on receipt, before writing (fire and forget).
    case none
    /// Acknowledge once the leader has written the entry (and fsynced it with `.always`).
    case leader
    /// Acknowledge once the entry is below the high-water mark: stored by the whole ISR.
    case all
}

public enum TruncationMode: String, Codable, Sendable, Equatable {
    /// KIP-279 (default): epoch-end-offset answers carry (epoch, endOffset); the follower
    /// steps back through its epoch cache until both sides agree.
    case leaderEpoch
    /// KIP-101 as first shipped: the answer is a bare offset; truncate to min(answer, LEO).
    /// Can diverge after back-to-back leader changes (the bug KIP-279 fixes).
    case leaderEpochV1
    /// Pre-KIP-101 Kafka: truncate to the locally checkpointed high-water mark. Loses
    /// acknowledged data and lets replicas diverge (KIP-101's scenarios).
    case highWatermark
}

public enum FsyncPolicy: Codable, Sendable, Equatable {
    /// fsync every append; acks and the leader's own HW contribution wait for it.
    case always
    /// fsync at most every `nanoseconds`; nothing waits for it, so a power loss of every
    /// replica can lose acknowledged entries.
    case interval(nanoseconds: Int64)
    /// Leave flushing to the OS (nothing survives a simulated power loss).
    case never
}

public struct ReplicaConfig: Codable, Sendable, Equatable {
    public var brokerID: BrokerID
    public var ackPolicy: AckPolicy
    public var truncation: TruncationMode
    public var fsync: FsyncPolicy
    /// A follower that has not caught up with the leader's log end for this long is dropped
    /// from the ISR (Kafka's `replica.lag.time.max.ms`, Liftbridge's `replica.max.lag.time`).
    public var replicaLagMaxNanos: Int64
    /// A follower that has not had a successful exchange with its leader for this long
    /// reports the leader as failed (Liftbridge's `replica.max.leader.timeout`).
    public var leaderTimeoutNanos: Int64
    /// Pause between fetches that returned nothing (when the leader did not hold them).
    public var fetchIntervalNanos: Int64
    /// Long-poll fetches (Kafka's `replica.fetch.wait.max.ms`, JetStream's pushed appends): a
    /// leader with nothing new for a caught-up follower holds its fetch up to this long and
    /// answers it as soon as it appends or its high-water mark moves; the follower then fetches
    /// again at once. Takes replication latency off `fetchIntervalNanos`. 0 = answer at once
    /// (the simulator's default, so its traces stay as they were). Keep it well below
    /// `leaderTimeoutNanos`: a parked follower hears from its leader only this often.
    public var fetchWaitNanos: Int64
    /// A request without an answer for this long is sent again.
    public var requestTimeoutNanos: Int64
    /// Kafka's `replica.high.watermark.checkpoint.interval.ms`; 0 checkpoints on every change.
    public var hwCheckpointIntervalNanos: Int64
    /// Most entries per fetch response.
    public var maxFetchBatch: Int
    /// Most payload bytes per fetch response (at least one entry is always sent). The live
    /// broker bounds it below its peer frame limit; the simulator leaves it unbounded.
    public var maxFetchBytes: Int
    /// Idempotent producers (`ProducerTable`, Kafka's `enable.idempotence`, on by default as
    /// in Kafka 3.0): a re-sent message is answered with its original offset, not stored again.
    public var idempotence: Bool
    /// Most producers remembered per stream; the one that wrote longest ago goes first.
    public var maxProducers: Int
    /// Offsets remembered per producer (its last sequences): at least the producer's messages
    /// in flight, so any of them re-sent after a failover finds its original offset.
    public var producerWindow: Int
    /// A producer idle this long on a replica's clock is forgotten (Kafka's
    /// `producer.id.expiration.ms`, there one day).
    public var producerExpiryNanos: Int64
    /// How often, at most, the producer table is snapshotted to disk (with the HW checkpoint).
    public var producerSnapshotIntervalNanos: Int64

    public init(
        brokerID: BrokerID,
        ackPolicy: AckPolicy = .all,
        truncation: TruncationMode = .leaderEpoch,
        fsync: FsyncPolicy = .always,
        replicaLagMaxNanos: Int64 = 10_000_000_000,
        leaderTimeoutNanos: Int64 = 15_000_000_000,
        fetchIntervalNanos: Int64 = 100_000_000,
        fetchWaitNanos: Int64 = 0,
        requestTimeoutNanos: Int64 = 1_000_000_000,
        hwCheckpointIntervalNanos: Int64 = 5_000_000_000,
        maxFetchBatch: Int = 512,
        maxFetchBytes: Int = .max,
        idempotence: Bool = true,
        maxProducers: Int = 100_000,
        producerWindow: Int = 1024,
        producerExpiryNanos: Int64 = 86_400_000_000_000,
        producerSnapshotIntervalNanos: Int64 = 1_000_000_000
    ) {
        self.brokerID = brokerID
        self.ackPolicy = ackPolicy
        self.truncation = truncation
        self.fsync = fsync
        self.replicaLagMaxNanos = replicaLagMaxNanos
        self.leaderTimeoutNanos = leaderTimeoutNanos
        self.fetchIntervalNanos = fetchIntervalNanos
        self.fetchWaitNanos = max(0, fetchWaitNanos)
        self.requestTimeoutNanos = requestTimeoutNanos
        self.hwCheckpointIntervalNanos = hwCheckpointIntervalNanos
        self.maxFetchBatch = max(1, maxFetchBatch)
        self.maxFetchBytes = max(1, maxFetchBytes)
        self.idempotence = idempotence
        self.maxProducers = max(1, maxProducers)
        self.producerWindow = max(1, producerWindow)
        self.producerExpiryNanos = producerExpiryNanos
        self.producerSnapshotIntervalNanos = producerSnapshotIntervalNanos
    }

    /// How often a driver feeds `.tick` (both drivers use this): half the fetch interval, so an
    /// idle follower's next fetch leaves at most half an interval late, but not below 0.5 ms
    /// (a live event loop's timer cost).
    public var tickIntervalNanos: Int64 { max(500_000, fetchIntervalNanos / 2) }

    /// How long a follower waits for a fetch's answer before sending it again: the request
    /// timeout plus the time the leader may hold it.
    public var fetchTimeoutNanos: Int64 { requestTimeoutNanos + fetchWaitNanos }
}
