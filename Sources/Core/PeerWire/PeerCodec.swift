import Raft
import Replication
import Wire

/// PeerMessage ↔ frame bytes, in the client protocol's frame layout: u32 length N (of what
/// follows), u8 version, u8 type, payload. Integers are big-endian; Swift `Int` fields (Raft node
/// ids, replication factors, payload sizes) travel as two's-complement i64 so 32- and 64-bit
/// peers agree; optionals are a 0/1 byte then the value; lists a u32 count then the elements.
/// Decoding is strict: unknown tags, bytes other than 0/1 for flags, and trailing bytes throw.
public enum PeerCodec {
    /// The frame version byte of the peer protocol. It changes only with the frame layout;
    /// message semantics are negotiated with `hello`'s `protocolVersion`.
    public static let frameVersion: UInt8 = 2  // 2: log entries carry the producer epoch
    /// What this build announces in `hello`.
    public static let protocolVersion: UInt16 = 1

    /// Type codes on the wire; never renumber, only append.
    enum TypeCode: UInt8 {
        case hello = 1
        case raft = 2
        case replication = 3
        case proposal = 4
    }

    /// Tags of `RaftMessageKind`.
    enum RaftKindCode: UInt8 {
        case preVote = 0, preVoteResponse = 1, vote = 2, voteResponse = 3
        case append = 4, appendResponse = 5, heartbeat = 6, heartbeatResponse = 7
    }

    /// Tags of `MetadataCommand`.
    enum CommandCode: UInt8 {
        case createStream = 0, deleteStream = 1, changeLeader = 2, shrinkISR = 3
        case expandISR = 4, reportLeaderFailure = 5, renewLeaderEpoch = 6
    }

    /// Tags of `ReplicationMessage`.
    enum ReplicationCode: UInt8 {
        case fetchRequest = 0, fetchResponse = 1, epochEndOffsetRequest = 2, epochEndOffsetResponse = 3
    }

    /// Tags of `ReplicationError` (its String raw values are for logs, not for the wire).
    enum ReplicationErrorCode: UInt8 {
        case fencedLeaderEpoch = 0, unknownLeaderEpoch = 1, notLeader = 2, notAReplica = 3, offsetOutOfRange = 4
    }

    static let lengthPrefixSize = 4
    /// Version byte + type byte.
    static let minimumFrameLength = 2

    // Smallest encodings of list elements, used to refuse impossible counts before allocating.
    static let minRaftEntrySize = 8 + 8 + 1               // term, index, command presence
    static let minLogEntrySize = 8 + 8 + 8 + 8 + 8 + 8 + 4    // offset, epoch, producer, producer epoch, sequence, bytes, data length
    static let minBrokerIDSize = 4

    /// One whole frame, length prefix included. Frame-size limits are the receiver's
    /// (`PeerFrameDecoder`); a sender that must stay under a peer's limit checks `count - 4`.
    public static func encode(_ m: PeerMessage) -> [UInt8] {
        var w = ByteWriter()
        w.u32(0)
        w.u8(frameVersion)
        switch m {
        case let .hello(from, clusterID, protocolVersion):
            w.u8(TypeCode.hello.rawValue)
            w.u32(from.rawValue)
            w.string(clusterID)
            w.u16(protocolVersion)
        case let .raft(message):
            w.u8(TypeCode.raft.rawValue)
            encodeRaft(message, &w)
        case let .replication(message):
            w.u8(TypeCode.replication.rawValue)
            encodeReplication(message, &w)
        case let .proposal(command):
            w.u8(TypeCode.proposal.rawValue)
            encodeCommand(command, &w)
        }
        let length = w.bytes.count - lengthPrefixSize
        precondition(length <= Int(UInt32.max), "frame exceeds the u32 length prefix")
        w.patchU32(UInt32(length), at: 0)
        return w.bytes
    }

    /// Decodes what follows the length prefix: version, type, payload. The whole body must be
    /// consumed. Frame-size limits are the framer's job; here only N ≥ 2 is checked.
    public static func decodeFrameBody(_ body: ArraySlice<UInt8>) throws(WireError) -> PeerMessage {
        guard body.count >= minimumFrameLength else { throw .frameTooSmall(body.count) }
        var r = ByteReader(body)
        let version = try r.u8("version")
        guard version == frameVersion else { throw .unsupportedVersion(version) }
        let rawType = try r.u8("type")
        guard let type = TypeCode(rawValue: rawType) else { throw .unknownType(rawType) }
        let message: PeerMessage
        switch type {
        case .hello:
            let from = BrokerID(try r.u32("hello.from"))
            let clusterID = try r.string("hello.clusterID")
            let protocolVersion = try r.u16("hello.protocolVersion")
            message = .hello(from: from, clusterID: clusterID, protocolVersion: protocolVersion)
        case .raft:
            message = .raft(try decodeRaft(&r))
        case .replication:
            message = .replication(try decodeReplication(&r))
        case .proposal:
            message = .proposal(try decodeCommand(&r))
        }
        guard r.remaining == 0 else { throw .trailingBytes(r.remaining) }
        return message
    }

    // MARK: - Raft

    private static func encodeRaft(_ m: RaftMessage<MetadataCommand>, _ w: inout ByteWriter) {
        w.int(m.from)
        w.int(m.to)
        w.u64(m.term)
        switch m.kind {
        case let .preVote(lastLogIndex, lastLogTerm):
            w.u8(RaftKindCode.preVote.rawValue)
            w.u64(lastLogIndex)
            w.u64(lastLogTerm)
        case let .preVoteResponse(granted):
            w.u8(RaftKindCode.preVoteResponse.rawValue)
            w.bool(granted)
        case let .vote(lastLogIndex, lastLogTerm):
            w.u8(RaftKindCode.vote.rawValue)
            w.u64(lastLogIndex)
            w.u64(lastLogTerm)
        case let .voteResponse(granted):
            w.u8(RaftKindCode.voteResponse.rawValue)
            w.bool(granted)
        case let .append(prevIndex, prevTerm, entries, leaderCommit):
            w.u8(RaftKindCode.append.rawValue)
            w.u64(prevIndex)
            w.u64(prevTerm)
            w.list(entries) { w, e in
                w.u64(e.term)
                w.u64(e.index)
                w.optional(e.command) { w, c in encodeCommand(c, &w) }
            }
            w.u64(leaderCommit)
        case let .appendResponse(success, matchIndex):
            w.u8(RaftKindCode.appendResponse.rawValue)
            w.bool(success)
            w.u64(matchIndex)
        case let .heartbeat(leaderCommit):
            w.u8(RaftKindCode.heartbeat.rawValue)
            w.u64(leaderCommit)
        case .heartbeatResponse:
            w.u8(RaftKindCode.heartbeatResponse.rawValue)
        }
    }

    private static func decodeRaft(_ r: inout ByteReader) throws(WireError) -> RaftMessage<MetadataCommand> {
        let from = try r.int("raft.from")
        let to = try r.int("raft.to")
        let term = try r.u64("raft.term")
        let rawKind = try r.u8("raft.kind")
        let kind: RaftMessageKind<MetadataCommand>
        switch RaftKindCode(rawValue: rawKind) {
        case .preVote:
            kind = .preVote(lastLogIndex: try r.u64("preVote.lastLogIndex"), lastLogTerm: try r.u64("preVote.lastLogTerm"))
        case .preVoteResponse:
            kind = .preVoteResponse(granted: try r.bool("preVoteResponse.granted"))
        case .vote:
            kind = .vote(lastLogIndex: try r.u64("vote.lastLogIndex"), lastLogTerm: try r.u64("vote.lastLogTerm"))
        case .voteResponse:
            kind = .voteResponse(granted: try r.bool("voteResponse.granted"))
        case .append:
            let prevIndex = try r.u64("append.prevIndex")
            let prevTerm = try r.u64("append.prevTerm")
            let entries = try r.list("append.entries", minElementSize: minRaftEntrySize) { (r: inout ByteReader) throws(WireError) in
                RaftEntry(term: try r.u64("entry.term"),
                          index: try r.u64("entry.index"),
                          command: try r.optional("entry.command") { (r: inout ByteReader) throws(WireError) in
                              try decodeCommand(&r)
                          })
            }
            let leaderCommit = try r.u64("append.leaderCommit")
            kind = .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: leaderCommit)
        case .appendResponse:
            kind = .appendResponse(success: try r.bool("appendResponse.success"),
                                   matchIndex: try r.u64("appendResponse.matchIndex"))
        case .heartbeat:
            kind = .heartbeat(leaderCommit: try r.u64("heartbeat.leaderCommit"))
        case .heartbeatResponse:
            kind = .heartbeatResponse
        case nil:
            throw .invalidValue(field: "raft.kind")
        }
        return RaftMessage(from: from, to: to, term: term, kind: kind)
    }

    // MARK: - Metadata commands

    private static func encodeCommand(_ c: MetadataCommand, _ w: inout ByteWriter) {
        switch c {
        case let .createStream(spec):
            w.u8(CommandCode.createStream.rawValue)
            w.string(spec.name)
            w.string(spec.subject)
            w.int(spec.replicationFactor)
            w.int(spec.minISR)
            w.list(spec.replicas) { w, b in w.u32(b.rawValue) }
        case let .deleteStream(name):
            w.u8(CommandCode.deleteStream.rawValue)
            w.string(name)
        case let .changeLeader(stream, newLeader, expectedLeaderEpoch):
            w.u8(CommandCode.changeLeader.rawValue)
            w.string(stream)
            w.u32(newLeader.rawValue)
            w.u64(expectedLeaderEpoch)
        case let .shrinkISR(stream, replica, leader, leaderEpoch):
            w.u8(CommandCode.shrinkISR.rawValue)
            w.string(stream)
            w.u32(replica.rawValue)
            w.u32(leader.rawValue)
            w.u64(leaderEpoch)
        case let .expandISR(stream, replica, leader, leaderEpoch, partitionEpoch):
            w.u8(CommandCode.expandISR.rawValue)
            w.string(stream)
            w.u32(replica.rawValue)
            w.u32(leader.rawValue)
            w.u64(leaderEpoch)
            w.u64(partitionEpoch)
        case let .reportLeaderFailure(stream, witness, leader, leaderEpoch):
            w.u8(CommandCode.reportLeaderFailure.rawValue)
            w.string(stream)
            w.u32(witness.rawValue)
            w.u32(leader.rawValue)
            w.u64(leaderEpoch)
        case let .renewLeaderEpoch(stream, leader, leaderEpoch, session):
            w.u8(CommandCode.renewLeaderEpoch.rawValue)
            w.string(stream)
            w.u32(leader.rawValue)
            w.u64(leaderEpoch)
            w.u64(session)
        }
    }

    private static func decodeCommand(_ r: inout ByteReader) throws(WireError) -> MetadataCommand {
        let rawCode = try r.u8("command")
        switch CommandCode(rawValue: rawCode) {
        case .createStream:
            return .createStream(StreamSpec(
                name: try r.string("createStream.name"),
                subject: try r.string("createStream.subject"),
                replicationFactor: try r.int("createStream.replicationFactor"),
                minISR: try r.int("createStream.minISR"),
                replicas: try r.list("createStream.replicas", minElementSize: minBrokerIDSize) { (r: inout ByteReader) throws(WireError) in
                    BrokerID(try r.u32("createStream.replicas[]"))
                }))
        case .deleteStream:
            return .deleteStream(name: try r.string("deleteStream.name"))
        case .changeLeader:
            return .changeLeader(stream: try r.string("changeLeader.stream"),
                                 newLeader: BrokerID(try r.u32("changeLeader.newLeader")),
                                 expectedLeaderEpoch: try r.u64("changeLeader.expectedLeaderEpoch"))
        case .shrinkISR:
            return .shrinkISR(stream: try r.string("shrinkISR.stream"),
                              replica: BrokerID(try r.u32("shrinkISR.replica")),
                              leader: BrokerID(try r.u32("shrinkISR.leader")),
                              leaderEpoch: try r.u64("shrinkISR.leaderEpoch"))
        case .expandISR:
            return .expandISR(stream: try r.string("expandISR.stream"),
                              replica: BrokerID(try r.u32("expandISR.replica")),
                              leader: BrokerID(try r.u32("expandISR.leader")),
                              leaderEpoch: try r.u64("expandISR.leaderEpoch"),
                              partitionEpoch: try r.u64("expandISR.partitionEpoch"))
        case .reportLeaderFailure:
            return .reportLeaderFailure(stream: try r.string("reportLeaderFailure.stream"),
                                        witness: BrokerID(try r.u32("reportLeaderFailure.witness")),
                                        leader: BrokerID(try r.u32("reportLeaderFailure.leader")),
                                        leaderEpoch: try r.u64("reportLeaderFailure.leaderEpoch"))
        case .renewLeaderEpoch:
            return .renewLeaderEpoch(stream: try r.string("renewLeaderEpoch.stream"),
                                     leader: BrokerID(try r.u32("renewLeaderEpoch.leader")),
                                     leaderEpoch: try r.u64("renewLeaderEpoch.leaderEpoch"),
                                     session: try r.u64("renewLeaderEpoch.session"))
        case nil:
            throw .invalidValue(field: "command")
        }
    }

    // MARK: - Replication

    private static func encodeReplication(_ m: ReplicationMessage, _ w: inout ByteWriter) {
        switch m {
        case let .fetchRequest(q):
            w.u8(ReplicationCode.fetchRequest.rawValue)
            w.string(q.stream)
            w.u32(q.from.rawValue)
            w.u64(q.fetchOffset)
            w.u64(q.leaderEpoch)
        case let .fetchResponse(a):
            w.u8(ReplicationCode.fetchResponse.rawValue)
            w.string(a.stream)
            w.u32(a.from.rawValue)
            w.u64(a.leaderEpoch)
            w.u64(a.fetchOffset)
            w.u64(a.highWatermark)
            w.u64(a.logEndOffset)
            w.list(a.entries) { w, e in
                w.u64(e.offset)
                w.u64(e.leaderEpoch)
                w.u64(e.payload.producerID)
                w.u64(e.payload.producerEpoch)
                w.u64(e.payload.sequence)
                w.int(e.payload.bytes)
                w.blob(e.payload.data)
            }
            encodeError(a.error, &w)
        case let .epochEndOffsetRequest(q):
            w.u8(ReplicationCode.epochEndOffsetRequest.rawValue)
            w.string(q.stream)
            w.u32(q.from.rawValue)
            w.u8(versionCode(q.version))
            w.u64(q.requestedEpoch)
            w.u64(q.leaderEpoch)
        case let .epochEndOffsetResponse(a):
            w.u8(ReplicationCode.epochEndOffsetResponse.rawValue)
            w.string(a.stream)
            w.u32(a.from.rawValue)
            w.u64(a.leaderEpoch)
            w.u64(a.requestedEpoch)
            w.optionalU64(a.epoch)
            w.u64(a.endOffset)
            encodeError(a.error, &w)
        }
    }

    private static func decodeReplication(_ r: inout ByteReader) throws(WireError) -> ReplicationMessage {
        let rawCode = try r.u8("replication")
        switch ReplicationCode(rawValue: rawCode) {
        case .fetchRequest:
            return .fetchRequest(FetchRequest(
                stream: try r.string("fetchRequest.stream"),
                from: BrokerID(try r.u32("fetchRequest.from")),
                fetchOffset: try r.u64("fetchRequest.fetchOffset"),
                leaderEpoch: try r.u64("fetchRequest.leaderEpoch")))
        case .fetchResponse:
            return .fetchResponse(FetchResponse(
                stream: try r.string("fetchResponse.stream"),
                from: BrokerID(try r.u32("fetchResponse.from")),
                leaderEpoch: try r.u64("fetchResponse.leaderEpoch"),
                fetchOffset: try r.u64("fetchResponse.fetchOffset"),
                highWatermark: try r.u64("fetchResponse.highWatermark"),
                logEndOffset: try r.u64("fetchResponse.logEndOffset"),
                entries: try r.list("fetchResponse.entries", minElementSize: minLogEntrySize) { (r: inout ByteReader) throws(WireError) in
                    LogEntry(offset: try r.u64("entry.offset"),
                             leaderEpoch: try r.u64("entry.leaderEpoch"),
                             payload: LogPayload(producerID: try r.u64("entry.producerID"),
                                                 producerEpoch: try r.u64("entry.producerEpoch"),
                                                 sequence: try r.u64("entry.sequence"),
                                                 bytes: try r.int("entry.bytes"),
                                                 data: try r.blob("entry.data")))
                },
                error: try decodeError(&r, "fetchResponse.error")))
        case .epochEndOffsetRequest:
            return .epochEndOffsetRequest(EpochEndOffsetRequest(
                stream: try r.string("epochEndOffsetRequest.stream"),
                from: BrokerID(try r.u32("epochEndOffsetRequest.from")),
                version: try decodeVersion(&r),
                requestedEpoch: try r.u64("epochEndOffsetRequest.requestedEpoch"),
                leaderEpoch: try r.u64("epochEndOffsetRequest.leaderEpoch")))
        case .epochEndOffsetResponse:
            return .epochEndOffsetResponse(EpochEndOffsetResponse(
                stream: try r.string("epochEndOffsetResponse.stream"),
                from: BrokerID(try r.u32("epochEndOffsetResponse.from")),
                leaderEpoch: try r.u64("epochEndOffsetResponse.leaderEpoch"),
                requestedEpoch: try r.u64("epochEndOffsetResponse.requestedEpoch"),
                epoch: try r.optionalU64("epochEndOffsetResponse.epoch"),
                endOffset: try r.u64("epochEndOffsetResponse.endOffset"),
                error: try decodeError(&r, "epochEndOffsetResponse.error")))
        case nil:
            throw .invalidValue(field: "replication")
        }
    }

    private static func versionCode(_ v: EpochEndOffsetVersion) -> UInt8 {
        switch v {
        case .v1: 1
        case .v2: 2
        }
    }

    private static func decodeVersion(_ r: inout ByteReader) throws(WireError) -> EpochEndOffsetVersion {
        switch try r.u8("epochEndOffsetRequest.version") {
        case 1: .v1
        case 2: .v2
        default: throw .invalidValue(field: "epochEndOffsetRequest.version")
        }
    }

    private static func encodeError(_ e: ReplicationError?, _ w: inout ByteWriter) {
        w.optional(e) { w, e in
            let code: ReplicationErrorCode = switch e {
            case .fencedLeaderEpoch: .fencedLeaderEpoch
            case .unknownLeaderEpoch: .unknownLeaderEpoch
            case .notLeader: .notLeader
            case .notAReplica: .notAReplica
            case .offsetOutOfRange: .offsetOutOfRange
            }
            w.u8(code.rawValue)
        }
    }

    private static func decodeError(_ r: inout ByteReader, _ field: String) throws(WireError) -> ReplicationError? {
        try r.optional(field) { (r: inout ByteReader) throws(WireError) in
            switch ReplicationErrorCode(rawValue: try r.u8(field)) {
            case .fencedLeaderEpoch: .fencedLeaderEpoch
            case .unknownLeaderEpoch: .unknownLeaderEpoch
            case .notLeader: .notLeader
            case .notAReplica: .notAReplica
            case .offsetOutOfRange: .offsetOutOfRange
            case nil: throw .invalidValue(field: field)
            }
        }
    }
}
