/// The commands the metadata Raft group replicates: everything that changes which brokers
/// host a stream, which of them leads, and which are in sync. Stream replicas *propose* the
/// ISR and leader-failure commands; operators (or the simulator's scenario) create and delete
/// streams and move leaders. As in Liftbridge, the ISR lives in the metadata log, so an ISR
/// change is committed by Raft before anyone relies on it.

/// What a new stream should look like.
public struct StreamSpec: Codable, Sendable, Equatable {
    public var name: String
    /// The NATS subject the stream is bound to (Liftbridge); carried, not interpreted here.
    public var subject: String
    public var replicationFactor: Int
    /// Fewest in-sync replicas (the leader included) with which anything may commit.
    public var minISR: Int
    /// The hosting brokers; the first one is the preferred leader (as in Kafka).
    public var replicas: [BrokerID]

    public init(name: String, subject: String, replicationFactor: Int, minISR: Int, replicas: [BrokerID]) {
        self.name = name
        self.subject = subject
        self.replicationFactor = replicationFactor
        self.minISR = minISR
        self.replicas = replicas
    }
}

public enum MetadataCommand: Codable, Sendable, Equatable {
    case createStream(StreamSpec)
    case deleteStream(name: String)
    /// Moves leadership (preferred-leader election, operator action). Rejected unless
    /// `expectedLeaderEpoch` is still current, so two racing changes cannot both win.
    case changeLeader(stream: String, newLeader: BrokerID, expectedLeaderEpoch: UInt64)
    /// Proposed by the leader `leader` in `leaderEpoch`; stale proposals are rejected.
    case shrinkISR(stream: String, replica: BrokerID, leader: BrokerID, leaderEpoch: UInt64)
    /// `partitionEpoch`: the state's `epoch` the leader saw when it decided (0 = unchecked).
    /// An expansion decided before any later change is rejected, so the leader may stop
    /// counting a pending expansion in its high-water mark as soon as it sees a change (the
    /// "maximal ISR" of Kafka's KIP-497/KIP-841: without it, an expansion that commits late
    /// lets a replica join the ISR below the high-water mark — found by swarm.yaml, seed 537).
    case expandISR(stream: String, replica: BrokerID, leader: BrokerID, leaderEpoch: UInt64, partitionEpoch: UInt64 = 0)
    /// A follower (`witness`) has not heard from `leader` for its leader timeout (Liftbridge:
    /// followers report a silent leader to the metadata leader, which waits for enough
    /// witnesses before it replaces the leader).
    case reportLeaderFailure(stream: String, witness: BrokerID, leader: BrokerID, leaderEpoch: UInt64)
    /// A leader that restarted asks to lead on in a *new* epoch. It may have served entries
    /// of `leaderEpoch` to followers that it then lost (unsynced at the crash); leading on in
    /// the same epoch would write different entries under the same (offset, epoch), which no
    /// epoch-based truncation can detect. Kafka gets the same effect from its controller
    /// moving leadership off a restarted broker.
    case renewLeaderEpoch(stream: String, leader: BrokerID, leaderEpoch: UInt64, session: UInt64)

    /// The stream the command is about.
    public var stream: String {
        switch self {
        case .createStream(let spec): spec.name
        case .deleteStream(let name): name
        case .changeLeader(let stream, _, _), .shrinkISR(let stream, _, _, _),
            .expandISR(let stream, _, _, _, _), .reportLeaderFailure(let stream, _, _, _),
            .renewLeaderEpoch(let stream, _, _, _):
            stream
        }
    }
}
