import Broker
import Raft
import Replication
import Scenario

/// What a scenario's `broker:` section means for one node, in one place for the simulator and
/// the live broker: the replica settings, the metadata group's Raft timing and where each of
/// the scenario's streams is placed. Both drivers build their nodes from this, so a setting
/// cannot mean one thing simulated and another live.
extension ReplicaConfig {
    public init(scenario spec: BrokerSpec, brokerID: BrokerID) {
        self.init(
            brokerID: brokerID,
            ackPolicy: AckPolicy(rawValue: spec.ackPolicy.rawValue) ?? .all,
            truncation: spec.truncation == .leaderEpoch ? .leaderEpoch
                : spec.truncation == .leaderEpochV1 ? .leaderEpochV1 : .highWatermark,
            fsync: {
                switch spec.fsync {
                case .always: return .always
                case .never: return .never
                case .interval(let ns): return .interval(nanoseconds: ns)
                }
            }(),
            replicaLagMaxNanos: spec.replicaLagMax,
            leaderTimeoutNanos: spec.leaderTimeout,
            fetchIntervalNanos: spec.fetchInterval,
            fetchWaitNanos: spec.fetchWait ?? 0,
            // A request is answered (or given up) well before the client's failover detection.
            requestTimeoutNanos: max(spec.leaderTimeout / 2, 4 * spec.fetchInterval),
            hwCheckpointIntervalNanos: spec.hwCheckpointInterval,
            idempotence: spec.idempotence)
    }
}

/// The metadata group's timing in Raft ticks.
public struct RaftTiming: Sendable, Equatable {
    public var tickNanos: Int64
    public var electionTicks: Int
    public var heartbeatTicks: Int

    public init(scenario spec: BrokerSpec) {
        tickNanos = spec.raftTick
        // At least two ticks per election timeout, so the randomised timeout has room to vary.
        electionTicks = max(2, Int(spec.electionTimeout / spec.raftTick))
        heartbeatTicks = max(1, Int(spec.heartbeatInterval / spec.raftTick))
    }

    public func config(id: RaftNodeID, peers: [RaftNodeID]) -> RaftConfig {
        RaftConfig(id: id, peers: peers, electionTicks: electionTicks, heartbeatTicks: heartbeatTicks,
                   preVote: true, checkQuorum: true)
    }
}

extension StreamPlacement {
    /// The replicas of the scenario's `index`-th stream, as node indexes into `nodeNames`: the
    /// stream's explicit `replicas:` where it names them (in the order given), else the spread rule.
    public static func scenario(_ spec: BrokerSpec, stream index: Int, nodeNames: [String]) -> [Int] {
        let stream = spec.streams[index]
        if let names = stream.replicas {
            return names.compactMap { name in nodeNames.firstIndex(of: name) }
        }
        let members = nodeNames.indices.map { BrokerID(UInt32($0)) }
        return spread(streamIndex: index, replicationFactor: stream.replicationFactor, members: members).map { Int($0.rawValue) }
    }
}
