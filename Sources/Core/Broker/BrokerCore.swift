import Raft
import Replication

/// One broker node's protocol state, without I/O: the metadata Raft node, the metadata state
/// machine it feeds, and the node's stream replicas. It decides what a node does with
/// committed metadata and where a metadata proposal goes; its driver (the simulator today,
/// the SwiftNIO broker later) persists Raft's `Ready`, moves messages and carries out the
/// replicas' effects. Keeping this glue here is what lets both drivers run the same broker.
public struct BrokerCore: Sendable {
    public var raft: RaftNode<MetadataCommand>
    public private(set) var metadata: MetadataStateMachine
    /// This node's replica of each stream (nil where it holds none), by stream index.
    public var replicas: [StreamReplica?]
    /// Stream names by index. Indexes are stable: a deleted stream keeps its slot.
    public private(set) var streamNames: [String]
    /// Where streams come and go at run time (the live broker), the configuration of a replica
    /// this node creates when committed metadata names it as a host of a stream it does not
    /// hold (`brokerID` is replaced by this node's). Nil: the stream set is fixed at start (the
    /// simulator builds every replica up front).
    public var newStreamConfig: ReplicaConfig?
    /// The Ready handed to the driver and not yet persisted (see `nextReady`).
    public internal(set) var readyInFlight: RaftReady<MetadataCommand>?
    /// How many of the in-flight Ready's committed entries are applied.
    var readyApplied = 0

    public init(raft: RaftNode<MetadataCommand>, metadata: MetadataStateMachine, streamNames: [String],
                replicas: [StreamReplica?], newStreamConfig: ReplicaConfig? = nil) {
        precondition(replicas.count == streamNames.count)
        self.raft = raft
        self.metadata = metadata
        self.streamNames = streamNames
        self.replicas = replicas
        self.newStreamConfig = newStreamConfig
    }

    /// This node's broker identity: its metadata Raft id.
    public var brokerID: BrokerID { BrokerID(UInt32(raft.id)) }

    /// What applying committed metadata produced, in order.
    public enum Output: Sendable, Equatable {
        /// This node now hosts a new replica of `stream` (only with `newStreamConfig`): the
        /// driver prepares its storage before carrying out the effects that follow.
        case replicaCreated(stream: Int)
        /// A stream's state changed (observers: checkers, metrics, traces).
        case streamState(stream: Int, PartitionState)
        /// The local replica of `stream` reacted to it; the driver carries these out.
        case replicaEffects(stream: Int, [ReplicaEffect])
        /// The stream was deleted; its local replica (if any) is gone and its storage may go.
        case streamDeleted(stream: Int)
    }

    /// Applies committed Raft entries (Ready's `committedEntries`) to the metadata state
    /// machine and hands every changed stream state to the local replica. `now` is the
    /// node's clock, passed on to the replicas.
    public mutating func applyCommitted(_ entries: [RaftEntry<MetadataCommand>], now: Int64) -> [Output] {
        var outputs: [Output] = []
        for entry in entries {
            guard let command = entry.command, case .accepted(let change) = metadata.apply(command, index: entry.index)
            else { continue }
            let state: PartitionState
            switch change {
            case .updated(let updated): state = updated
            case .deleted(let name):
                if let stream = streamNames.firstIndex(of: name), newStreamConfig != nil {
                    replicas[stream] = nil
                    outputs.append(.streamDeleted(stream: stream))
                }
                continue
            case .recorded: continue
            }
            if var config = newStreamConfig, state.replicas.contains(brokerID) {
                config.brokerID = brokerID
                if streamNames.firstIndex(of: state.name) == nil {
                    streamNames.append(state.name)
                    replicas.append(nil)
                }
                let slot = streamNames.firstIndex(of: state.name)!
                if replicas[slot] == nil {
                    replicas[slot] = StreamReplica(stream: state.name, config: config)
                    outputs.append(.replicaCreated(stream: slot))
                }
            }
            guard let stream = streamNames.firstIndex(of: state.name) else { continue }
            outputs.append(.streamState(stream: stream, state))
            if replicas[stream] != nil {
                outputs.append(.replicaEffects(stream: stream, replicas[stream]!.handle(.metadataChanged(state), now: now)))
            }
        }
        return outputs
    }

    /// Where a metadata proposal (from a local replica or forwarded by another node) goes.
    public enum Route: Sendable, Equatable {
        /// Appended to the local Raft log (this node leads the metadata group).
        case proposed
        /// Send it to the metadata leader.
        case forward(to: RaftNodeID)
        /// No leader known: dropped; replicas propose again while they still need to.
        case dropped
    }

    public mutating func route(_ command: MetadataCommand) -> Route {
        if raft.role == .leader {
            _ = raft.propose(command)
            return .proposed
        }
        if let leader = raft.leader, leader != raft.id { return .forward(to: leader) }
        return .dropped
    }
}
