import Raft
import Replication

/// The node's Ready loop, as etcd's `RawNode`: the core hands out one Raft `Ready` at a time;
/// the driver persists it (entries, hard state, truncation — Raft §5: before answering anyone),
/// sends its messages, applies its committed entries one at a time through
/// `applyNextCommitted(now:)` — carrying out each entry's outputs before the next, since an
/// entry's effects must land before the next entry changes the replica again — and finally calls
/// `advance()`. Both drivers (the simulator and the SwiftNIO broker) run exactly this sequence.
extension BrokerCore {
    /// The next Ready for the driver to persist, or nil while one is still in flight or Raft
    /// has nothing to hand out.
    public mutating func nextReady() -> RaftReady<MetadataCommand>? {
        guard readyInFlight == nil, raft.hasReady else { return nil }
        let ready = raft.ready()
        readyInFlight = ready
        readyApplied = 0
        return ready
    }

    /// Whether a Ready needs the disk at all: without entries, hard state or truncation the
    /// driver may go on at once.
    public static func needsPersisting(_ ready: RaftReady<MetadataCommand>) -> Bool {
        ready.hardState != nil || ready.truncateFrom != nil || !ready.entriesToPersist.isEmpty
    }

    /// Whether a Ready is handed out and not yet advanced.
    public var isReadyInFlight: Bool { readyInFlight != nil }

    /// After the in-flight Ready is durable: applies its next committed entry and returns what
    /// that did (possibly nothing), or nil once every entry is applied.
    public mutating func applyNextCommitted(now: Int64) -> [Output]? {
        guard let ready = readyInFlight, readyApplied < ready.committedEntries.count else { return nil }
        let entry = ready.committedEntries[readyApplied]
        readyApplied += 1
        return applyCommitted([entry], now: now)
    }

    /// The in-flight Ready is carried out: Raft may hand out the next one. Entries not applied
    /// yet are applied first, their outputs dropped (a driver that stops early loses nothing
    /// the metadata state machine needs).
    public mutating func advance() {
        guard readyInFlight != nil else { return }
        while applyNextCommitted(now: 0) != nil {}
        readyInFlight = nil
        raft.advance()
    }

    /// A node's answer to a publish or consume for a stream it holds no replica of: not the
    /// leader, naming the leader when committed metadata knows one (so the client goes there
    /// directly), or nil when the stream does not exist at all.
    public func notLeaderHere(stream name: String) -> PublishRejection? {
        guard let state = metadata.stream(named: name) else { return nil }
        return .notLeader(leader: state.leader)
    }
}

/// Where a stream's replicas go: the k-th stream starts at member k and the next replicas follow
/// in member order, so leaders (the first replica is preferred) spread over the cluster. One
/// rule for the simulator's scenario streams and the live broker's `createStream`.
public enum StreamPlacement {
    public static func spread(streamIndex: Int, replicationFactor: Int, members: [BrokerID]) -> [BrokerID] {
        precondition(!members.isEmpty && replicationFactor <= members.count)
        return (0..<replicationFactor).map { members[(streamIndex + $0) % members.count] }
    }
}
