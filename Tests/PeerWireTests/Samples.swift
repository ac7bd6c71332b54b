import WireTesting
import PeerWire
import Raft
import Replication

/// Messages covering every case and every field, with edge values (0, max, negative Ints, empty
/// and non-ASCII strings, empty and non-empty lists, nil and non-nil optionals).
enum Samples {
    static let commands: [MetadataCommand] = [
        .createStream(StreamSpec(name: "orders", subject: "orders.>", replicationFactor: 3, minISR: 2,
                                 replicas: [1, 2, BrokerID(UInt32.max)])),
        .createStream(StreamSpec(name: "", subject: "sübjęct·✓", replicationFactor: Int.max, minISR: Int.min, replicas: [])),
        .deleteStream(name: "orders"),
        .changeLeader(stream: "s", newLeader: 0, expectedLeaderEpoch: .max),
        .shrinkISR(stream: "s", replica: 3, leader: 1, leaderEpoch: 7),
        .expandISR(stream: "s", replica: 3, leader: 1, leaderEpoch: 7, partitionEpoch: 0),
        .expandISR(stream: "s", replica: 3, leader: 1, leaderEpoch: 7, partitionEpoch: .max),
        .reportLeaderFailure(stream: "s", witness: 2, leader: 1, leaderEpoch: 9),
        .renewLeaderEpoch(stream: "s", leader: 1, leaderEpoch: 9, session: 0xDEAD_BEEF_CAFE_F00D),
    ]

    static let entries: [RaftEntry<MetadataCommand>] =
        [RaftEntry(term: 1, index: 1, command: nil)]
            + commands.enumerated().map { RaftEntry(term: 2, index: UInt64($0.offset + 2), command: $0.element) }
            + [RaftEntry(term: .max, index: .max, command: .deleteStream(name: "last"))]

    static let raftKinds: [RaftMessageKind<MetadataCommand>] = [
        .preVote(lastLogIndex: 0, lastLogTerm: 0),
        .preVote(lastLogIndex: .max, lastLogTerm: .max),
        .preVoteResponse(granted: true),
        .preVoteResponse(granted: false),
        .vote(lastLogIndex: 12, lastLogTerm: 3),
        .voteResponse(granted: true),
        .voteResponse(granted: false),
        .append(prevIndex: 0, prevTerm: 0, entries: [], leaderCommit: 0),
        .append(prevIndex: 41, prevTerm: 5, entries: entries, leaderCommit: .max),
        .appendResponse(success: true, matchIndex: 42),
        .appendResponse(success: false, matchIndex: 0),
        .heartbeat(leaderCommit: 17),
        .heartbeatResponse,
    ]

    static let raft: [PeerMessage] = raftKinds.enumerated().map { i, kind in
        .raft(RaftMessage(from: i.isMultiple(of: 2) ? 1 : Int.max, to: i.isMultiple(of: 3) ? Int.min : 0,
                          term: i.isMultiple(of: 2) ? UInt64(i) : .max, kind: kind))
    }

    static let replicationErrors: [ReplicationError?] =
        [nil, .fencedLeaderEpoch, .unknownLeaderEpoch, .notLeader, .notAReplica, .offsetOutOfRange]

    static let logEntries: [LogEntry] = [
        LogEntry(offset: 0, leaderEpoch: 0, payload: LogPayload(producerID: 0, sequence: 0, bytes: 0)),
        LogEntry(offset: 1, leaderEpoch: 3, payload: LogPayload(producerID: 9, sequence: 77, bytes: 512)),
        LogEntry(offset: 2, leaderEpoch: 3, payload: LogPayload(producerID: 9, producerEpoch: .max, sequence: 78, bytes: 3)),
        LogEntry(offset: 2, leaderEpoch: 3, payload: LogPayload(producerID: 9, sequence: 78, data: Array("live bytes ✓".utf8))),
        LogEntry(offset: .max, leaderEpoch: .max,
                 payload: LogPayload(producerID: .max, sequence: .max, bytes: Int.max)),
        LogEntry(offset: 5, leaderEpoch: 1, payload: LogPayload(producerID: 1, sequence: 1, bytes: Int.min)),
    ]

    static let replication: [PeerMessage] = {
        var ms: [ReplicationMessage] = [
            .fetchRequest(FetchRequest(stream: "orders", from: 2, fetchOffset: 0, leaderEpoch: 0)),
            .fetchRequest(FetchRequest(stream: "ünïcode-✓", from: BrokerID(UInt32.max), fetchOffset: .max, leaderEpoch: .max)),
            .epochEndOffsetRequest(EpochEndOffsetRequest(stream: "s", from: 1, version: .v1, requestedEpoch: 0, leaderEpoch: 3)),
            .epochEndOffsetRequest(EpochEndOffsetRequest(stream: "s", from: 1, version: .v2, requestedEpoch: .max, leaderEpoch: .max)),
        ]
        for (i, error) in replicationErrors.enumerated() {
            ms.append(.fetchResponse(FetchResponse(
                stream: "orders", from: BrokerID(UInt32(i)), leaderEpoch: UInt64(i), fetchOffset: 10,
                highWatermark: i == 0 ? .max : 3, logEndOffset: 4,
                entries: i.isMultiple(of: 2) ? logEntries : [], error: error)))
            ms.append(.epochEndOffsetResponse(EpochEndOffsetResponse(
                stream: "s", from: 3, leaderEpoch: 4, requestedEpoch: 2,
                epoch: i.isMultiple(of: 2) ? nil : (i == 1 ? .max : 2), endOffset: i == 0 ? .max : 8, error: error)))
        }
        return ms.map(PeerMessage.replication)
    }()

    static let hellos: [PeerMessage] = [
        .hello(from: 1, clusterID: "faultline-prod", protocolVersion: PeerCodec.protocolVersion),
        .hello(from: BrokerID(UInt32.max), clusterID: "", protocolVersion: .max),
        .hello(from: 0, clusterID: String(repeating: "é", count: 1000), protocolVersion: 0),
    ]

    static let proposals: [PeerMessage] = commands.map(PeerMessage.proposal)

    static let all: [PeerMessage] = hellos + raft + replication + proposals
    static let stream: [UInt8] = all.flatMap(PeerCodec.encode)
}

