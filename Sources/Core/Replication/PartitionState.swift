/// The metadata's view of one stream: who hosts it, who leads it in which leader epoch, and
/// who is in sync. This is what the metadata Raft group hands to every `StreamReplica`.
public struct PartitionState: Codable, Sendable, Equatable {
    public var name: String
    public var subject: String
    /// Sorted.
    public var replicas: [BrokerID]
    /// Nil when no eligible replica could take over (and unclean election is off).
    public var leader: BrokerID?
    /// The Raft index of the command that last changed the leader. Monotonic per stream, so
    /// it orders leaderships the way Kafka's leader epoch does (KIP-101).
    public var leaderEpoch: UInt64
    /// The Raft index of the command that last changed anything in this state (leader or ISR):
    /// replicas use it to ignore stale or duplicate deliveries.
    public var epoch: UInt64
    /// The in-sync replicas, sorted. The leader is always a member while there is one.
    public var isr: [BrokerID]
    public var minISR: Int
    /// The session (process incarnation) of the leader that renewed this leadership with
    /// `renewLeaderEpoch`; 0 when the metadata group elected the leader itself. A replica that
    /// restarted leads only in a leadership bound to its own new session (see `StreamReplica`).
    public var leaderSession: UInt64 = 0

    public init(
        name: String, subject: String, replicas: [BrokerID], leader: BrokerID?, leaderEpoch: UInt64,
        epoch: UInt64, isr: [BrokerID], minISR: Int
    ) {
        self.name = name
        self.subject = subject
        self.replicas = replicas.canonical()
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.epoch = epoch
        self.isr = isr.canonical()
        self.minISR = minISR
    }
}
