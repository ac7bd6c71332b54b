import Sampling

/// `broker:` — the replicated-log model (Liftbridge-style streams with ISR, HW and leader
/// epochs, a Raft group for metadata). Absent when a scenario runs only stations.
public struct BrokerSpec: Sendable {
    public var streams: [StreamDefinition]
    public var ackPolicy: AckPolicySetting
    public var truncation: TruncationSetting
    public var fsync: FsyncSetting
    /// Let the metadata leader pick an out-of-sync replica when no ISR member is left
    /// (Kafka's `unclean.leader.election.enable`); off by default because it loses data.
    public var uncleanElection: Bool
    /// A follower that has not fetched, or not caught up, within this is dropped from the ISR.
    public var replicaLagMax: Int64
    /// A follower that hears nothing from its leader for this long reports it.
    public var leaderTimeout: Int64
    /// How often a follower fetches when it is caught up (and its leader does not hold fetches).
    public var fetchInterval: Int64
    /// `fetch_wait`: how long a leader holds a caught-up follower's fetch (long poll, Kafka's
    /// replica fetch wait); 0 answers at once. nil when the scenario does not say: the driver's
    /// default then applies (the simulator 0, so existing traces stay as they were; the live
    /// broker `LiveReplicaConfig.defaultFetchWait`).
    public var fetchWait: Int64?
    /// How often a replica checkpoints its high-water mark to disk.
    public var hwCheckpointInterval: Int64
    /// The metadata Raft group's timer tick, election timeout (randomised in [t, 2t)) and heartbeat.
    public var raftTick: Int64
    public var electionTimeout: Int64
    public var heartbeatInterval: Int64
    /// Publishers learn at once that their leader's process died (a crashed process's
    /// connections are reset, and connecting to it is refused) instead of waiting for their
    /// `timeout`: what live clients see when a broker process is SIGKILLed on a running host.
    /// Off by default: a host or power failure gives no such signal.
    public var clientConnectionReset: Bool = false
    /// `idempotence`: idempotent producers (Kafka's `enable.idempotence`, on by default since
    /// Kafka 3.0): a re-sent message is answered with the offset it already has instead of
    /// being stored twice (see the replication core's `ProducerTable`). Off reproduces the
    /// duplicates of at-least-once retries.
    public var idempotence: Bool = true

    public init(streams: [StreamDefinition], ackPolicy: AckPolicySetting = .all, truncation: TruncationSetting = .leaderEpoch,
                fsync: FsyncSetting = .always, uncleanElection: Bool = false, replicaLagMax: Int64 = 500 * Nanos.millisecond,
                leaderTimeout: Int64 = 300 * Nanos.millisecond, fetchInterval: Int64 = 5 * Nanos.millisecond,
                hwCheckpointInterval: Int64 = 100 * Nanos.millisecond, raftTick: Int64 = 10 * Nanos.millisecond,
                electionTimeout: Int64 = 150 * Nanos.millisecond, heartbeatInterval: Int64 = 30 * Nanos.millisecond) {
        self.streams = streams
        self.ackPolicy = ackPolicy
        self.truncation = truncation
        self.fsync = fsync
        self.uncleanElection = uncleanElection
        self.replicaLagMax = replicaLagMax
        self.leaderTimeout = leaderTimeout
        self.fetchInterval = fetchInterval
        self.hwCheckpointInterval = hwCheckpointInterval
        self.raftTick = raftTick
        self.electionTimeout = electionTimeout
        self.heartbeatInterval = heartbeatInterval
    }
}

public struct StreamDefinition: Sendable, Equatable {
    public var name: String
    public var subject: String
    public var replicationFactor: Int
    public var minISR: Int
    /// Nodes holding replicas; `nil` = the first `replicationFactor` nodes after a rotation by
    /// stream position, so streams spread over the cluster.
    public var replicas: [String]?

    public init(name: String, subject: String, replicationFactor: Int, minISR: Int, replicas: [String]? = nil) {
        self.name = name
        self.subject = subject
        self.replicationFactor = replicationFactor
        self.minISR = minISR
        self.replicas = replicas
    }
}

public enum AckPolicySetting: String, Sendable, CaseIterable { case none, leader, all }

public enum TruncationSetting: String, Sendable, CaseIterable {
    /// KIP-101 + KIP-279: the epoch-end-offset answer carries its epoch; the follower steps back.
    case leaderEpoch = "leader-epoch"
    /// KIP-101 without KIP-279 (Liftbridge today): a bare offset; back-to-back failovers can diverge.
    case leaderEpochV1 = "leader-epoch-v1"
    /// Pre-KIP-101: truncate to the checkpointed high-water mark; loses acknowledged data.
    case highWatermark = "high-watermark"
}

public enum FsyncSetting: Sendable, Equatable {
    case always
    case interval(Int64)
    case never
}

/// `- publish: {stream: orders, rate: 2000/s, size: 512B, timeout: 1s, retries: 3}`
public struct PublishWorkload: Sendable {
    public var stream: String
    public var arrivals: ArrivalProcess
    public var sizeBytes: Int
    /// A publisher that hears nothing for this long retries (possibly duplicating).
    public var timeout: Int64
    public var retries: Int
    public var start: Int64
    public var stop: Int64?

    public init(stream: String, arrivals: ArrivalProcess, sizeBytes: Int = 0, timeout: Int64 = Nanos.second, retries: Int = 3,
                start: Int64 = 0, stop: Int64? = nil) {
        self.stream = stream
        self.arrivals = arrivals
        self.sizeBytes = sizeBytes
        self.timeout = timeout
        self.retries = retries
        self.start = start
        self.stop = stop
    }
}

/// `- consume: {stream: orders, poll: 10ms, max_batch: 500}` — a consumer that reads the
/// stream's committed messages from offset 0, tracking its own offset.
public struct ConsumeWorkload: Sendable {
    public var stream: String
    public var pollInterval: Int64
    public var maxBatch: Int
    public var start: Int64

    public init(stream: String, pollInterval: Int64 = 10 * Nanos.millisecond, maxBatch: Int = 500, start: Int64 = 0) {
        self.stream = stream
        self.pollInterval = pollInterval
        self.maxBatch = maxBatch
        self.start = start
    }
}

/// Checks that only make sense with a broker, and those of the station model.
public enum CheckCatalog {
    public static let stationChecks = ["requests_accounted"]
    public static let brokerChecks = [
        "no_acknowledged_loss", "replicas_agree", "hw_monotonic", "one_leader_per_epoch", "raft_election_safety",
        "raft_log_matching", "no_commit_below_min_isr", "producer_order", "no_duplicates",
    ]
    public static let generalChecks = ["liveness_after_heal"]
    /// The OAuth fan-out model: no hop accepts a forged, expired or revoked token; every
    /// request into the mesh ends in exactly one outcome.
    public static let meshChecks = ["no_accepted_invalid", "mesh_requests_accounted"]
}
