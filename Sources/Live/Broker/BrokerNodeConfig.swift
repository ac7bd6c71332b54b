import Replication

/// Where a member of the cluster listens. Ids are the metadata Raft ids (and broker ids):
/// 0 ..< cluster size, the same numbering the simulator uses for the scenario's nodes.
public struct BrokerAddress: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var host: String
    public var clientPort: Int
    public var peerPort: Int

    public init(id: Int, name: String, host: String = "127.0.0.1", clientPort: Int, peerPort: Int) {
        self.id = id
        self.name = name
        self.host = host
        self.clientPort = clientPort
        self.peerPort = peerPort
    }
}

/// Everything one live broker node needs to start. Timer periods are in nanoseconds of the
/// monotonic clock, exactly as the simulator passes virtual nanoseconds to the same cores.
public struct BrokerNodeConfig: Sendable, Codable {
    public var id: Int
    public var clusterID: String
    /// Every member, this node included, sorted by id.
    public var members: [BrokerAddress]
    /// Holds `raft/`, `streams/<name>/` and `incarnation`.
    public var dataDirectory: String
    /// The template of every replica this node creates (its `brokerID` is replaced by the node's).
    public var replica: ReplicaConfig
    public var raftTickNanos: Int64
    public var electionTicks: Int
    public var heartbeatTicks: Int
    /// `host:port` of a nats-server; streams bound to a subject ingest from it (Liftbridge).
    public var natsURL: String?
    /// Port of the Prometheus `/metrics` endpoint; nil: none.
    public var metricsPort: Int?
    /// Largest client frame accepted; a larger one closes that connection.
    public var maxClientFrameBytes: Int
    /// Largest peer frame accepted (fetch responses carry up to `replica.maxFetchBytes`).
    public var maxPeerFrameBytes: Int
    public var segmentBytes: Int
    /// Message bytes each replica keeps in memory for its newest entries (what followers and
    /// consumers at the tail read); older entries' bytes are read back from the log file.
    public var payloadCacheBytes: Int
    /// Test-only storage failpoints (slow or failing fsync, synced-length tracking for a
    /// simulated power loss), armed through `PUT /failpoints/fsync`; nil (the default): none.
    public var failpoints: FailpointConfig? = nil

    public init(id: Int, clusterID: String, members: [BrokerAddress], dataDirectory: String, replica: ReplicaConfig,
                raftTickNanos: Int64 = 10_000_000, electionTicks: Int = 15, heartbeatTicks: Int = 3,
                natsURL: String? = nil, metricsPort: Int? = nil, maxClientFrameBytes: Int = 1 << 20,
                maxPeerFrameBytes: Int = 64 << 20, segmentBytes: Int = 64 << 20, payloadCacheBytes: Int = 32 << 20) {
        self.id = id
        self.clusterID = clusterID
        self.members = members.sorted { $0.id < $1.id }
        self.dataDirectory = dataDirectory
        self.replica = replica
        self.raftTickNanos = raftTickNanos
        self.electionTicks = electionTicks
        self.heartbeatTicks = heartbeatTicks
        self.natsURL = natsURL
        self.metricsPort = metricsPort
        self.maxClientFrameBytes = maxClientFrameBytes
        self.maxPeerFrameBytes = maxPeerFrameBytes
        self.segmentBytes = segmentBytes
        self.payloadCacheBytes = payloadCacheBytes
    }

    public var me: BrokerAddress { members.first { $0.id == id }! }

    /// The live broker's long-poll fetch wait (`ReplicaConfig.fetchWaitNanos`) when a scenario
    /// sets no `broker.fetch_wait`. With it a follower gets a leader's append right behind the
    /// leader's own write instead of on its next `fetch_interval` poll (issue 18: that poll put
    /// a ~3 ms floor under `ack: all` latency). 100 ms, not Kafka's 500: a parked follower hears
    /// from an idle leader only this often, and live scenarios use a 300 ms `leader_timeout`
    /// (capped at a third of it, see `LiveReplicaConfig`); an idle stream then costs 10 fetches/s
    /// per follower, nothing to save by waiting longer.
    public static let defaultFetchWaitNanos: Int64 = 100_000_000

    public func member(_ id: Int) -> BrokerAddress? { members.first { $0.id == id } }
}
