/// Message ↔ frame bytes. Frame: u32 length N (of what follows), u8 version, u8 type, payload.
public enum WireCodec {
    /// Type codes on the wire; never renumber, only append.
    enum TypeCode: UInt8 {
        case publish = 1
        case publishAck = 2
        case fetch = 3
        case fetchResponse = 4
        case metadataRequest = 5
        case metadataResponse = 6
        case createStream = 7
        case deleteStream = 8
        case adminAck = 9
        case error = 10
    }

    /// Tags of `AckStatus`.
    enum AckStatusCode: UInt8 {
        case ok = 0, notLeader = 1, streamNotFound = 2, timeout = 3, rejected = 4
    }

    // Smallest encodings of list elements, used to refuse impossible counts before allocating.
    static let minStringSize = 2                          // u16 length
    static let minEntrySize = 8 + 8 + 8 + 8 + 4           // offset, epoch, producer, sequence, bytes length
    static let minStreamMetadataSize = 2 + 1 + 8 + 4 + 4 + 8
    static let minBrokerSize = 2 + 2 + 2

    /// One whole frame, length prefix included. The encoder does not apply `WireLimits`: the
    /// receiver does, and a sender that needs to stay under a peer's limit checks `count - 4`.
    public static func encode(_ m: Message) -> [UInt8] {
        var w = ByteWriter()
        w.u32(0)
        w.u8(WireFormat.version)
        switch m {
        case let .publish(stream, producerID, producerEpoch, sequence, ack, payload):
            w.u8(TypeCode.publish.rawValue)
            w.string(stream)
            w.u64(producerID)
            w.u64(producerEpoch)
            w.u64(sequence)
            w.u8(ack.rawValue)
            w.blob(payload)
        case let .publishAck(producerID, sequence, status, offset):
            w.u8(TypeCode.publishAck.rawValue)
            w.u64(producerID)
            w.u64(sequence)
            switch status {
            case .ok: w.u8(AckStatusCode.ok.rawValue)
            case .notLeader(let hint): w.u8(AckStatusCode.notLeader.rawValue); w.optionalString(hint)
            case .streamNotFound: w.u8(AckStatusCode.streamNotFound.rawValue)
            case .timeout: w.u8(AckStatusCode.timeout.rawValue)
            case .rejected(let reason): w.u8(AckStatusCode.rejected.rawValue); w.string(reason)
            }
            w.optionalU64(offset)
        case let .fetch(stream, offset, maxEntries, maxBytes):
            w.u8(TypeCode.fetch.rawValue)
            w.string(stream)
            w.u64(offset)
            w.u32(maxEntries)
            w.u32(maxBytes)
        case let .fetchResponse(stream, entries, highWatermark, error):
            w.u8(TypeCode.fetchResponse.rawValue)
            w.string(stream)
            w.list(entries) { w, e in
                w.u64(e.offset)
                w.u64(e.leaderEpoch)
                w.u64(e.producerID)
                w.u64(e.sequence)
                w.blob(e.payload)
            }
            w.u64(highWatermark)
            w.optionalString(error)
        case let .metadataRequest(streams):
            w.u8(TypeCode.metadataRequest.rawValue)
            w.list(streams) { w, s in w.string(s) }
        case let .metadataResponse(metadataLeader, streams, brokers):
            w.u8(TypeCode.metadataResponse.rawValue)
            w.optionalString(metadataLeader)
            w.list(streams) { w, s in
                w.string(s.name)
                w.optionalString(s.leader)
                w.u64(s.leaderEpoch)
                w.list(s.replicas) { w, r in w.string(r) }
                w.list(s.inSyncReplicas) { w, r in w.string(r) }
                w.u64(s.highWatermark)
            }
            w.list(brokers) { w, b in
                w.string(b.id)
                w.string(b.host)
                w.u16(b.port)
            }
        case let .createStream(name, subject, replicationFactor, minISR, replicas):
            w.u8(TypeCode.createStream.rawValue)
            w.string(name)
            w.optionalString(subject)
            w.u16(replicationFactor)
            w.u16(minISR)
            w.list(replicas) { w, r in w.string(r) }
        case let .deleteStream(name):
            w.u8(TypeCode.deleteStream.rawValue)
            w.string(name)
        case let .adminAck(ok, error):
            w.u8(TypeCode.adminAck.rawValue)
            w.bool(ok)
            w.optionalString(error)
        case let .error(code, message):
            w.u8(TypeCode.error.rawValue)
            w.u16(code)
            w.string(message)
        }
        let length = w.bytes.count - WireFormat.lengthPrefixSize
        precondition(length <= Int(UInt32.max), "frame exceeds the u32 length prefix")
        w.patchU32(UInt32(length), at: 0)
        return w.bytes
    }

    /// Decodes what follows the length prefix: version, type, payload. The whole body must be
    /// consumed. Frame-size limits are the framer's job (`FrameDecoder`); here only N ≥ 2 is checked.
    public static func decodeFrameBody(_ body: ArraySlice<UInt8>) throws(WireError) -> Message {
        guard body.count >= WireFormat.minimumFrameLength else { throw .frameTooSmall(body.count) }
        var r = ByteReader(body)
        let version = try r.u8("version")
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let rawType = try r.u8("type")
        guard let type = TypeCode(rawValue: rawType) else { throw .unknownType(rawType) }
        let message = try decodePayload(type, &r)
        guard r.remaining == 0 else { throw .trailingBytes(r.remaining) }
        return message
    }

    private static func decodePayload(_ type: TypeCode, _ r: inout ByteReader) throws(WireError) -> Message {
        switch type {
        case .publish:
            let stream = try r.string("stream")
            let producerID = try r.u64("producerID")
            let producerEpoch = try r.u64("producerEpoch")
            let sequence = try r.u64("sequence")
            let rawAck = try r.u8("ack")
            guard let ack = AckLevel(rawValue: rawAck) else { throw .invalidValue(field: "ack") }
            let payload = try r.blob("payload")
            return .publish(stream: stream, producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, ack: ack, payload: payload)
        case .publishAck:
            let producerID = try r.u64("producerID")
            let sequence = try r.u64("sequence")
            let rawStatus = try r.u8("status")
            let status: AckStatus
            switch AckStatusCode(rawValue: rawStatus) {
            case .ok: status = .ok
            case .notLeader: status = .notLeader(leaderHint: try r.optionalString("leaderHint"))
            case .streamNotFound: status = .streamNotFound
            case .timeout: status = .timeout
            case .rejected: status = .rejected(reason: try r.string("reason"))
            case nil: throw .invalidValue(field: "status")
            }
            let offset = try r.optionalU64("offset")
            return .publishAck(producerID: producerID, sequence: sequence, status: status, offset: offset)
        case .fetch:
            let stream = try r.string("stream")
            let offset = try r.u64("offset")
            let maxEntries = try r.u32("maxEntries")
            let maxBytes = try r.u32("maxBytes")
            return .fetch(stream: stream, offset: offset, maxEntries: maxEntries, maxBytes: maxBytes)
        case .fetchResponse:
            let stream = try r.string("stream")
            let entries = try r.list("entries", minElementSize: minEntrySize) { (r: inout ByteReader) throws(WireError) in
                Entry(offset: try r.u64("entry.offset"),
                      leaderEpoch: try r.u64("entry.leaderEpoch"),
                      producerID: try r.u64("entry.producerID"),
                      sequence: try r.u64("entry.sequence"),
                      payload: try r.blob("entry.payload"))
            }
            let highWatermark = try r.u64("highWatermark")
            let error = try r.optionalString("error")
            return .fetchResponse(stream: stream, entries: entries, highWatermark: highWatermark, error: error)
        case .metadataRequest:
            let streams = try r.list("streams", minElementSize: minStringSize) { (r: inout ByteReader) throws(WireError) in
                try r.string("streams[]")
            }
            return .metadataRequest(streams: streams)
        case .metadataResponse:
            let metadataLeader = try r.optionalString("metadataLeader")
            let streams = try r.list("streams", minElementSize: minStreamMetadataSize) { (r: inout ByteReader) throws(WireError) in
                StreamMetadata(
                    name: try r.string("stream.name"),
                    leader: try r.optionalString("stream.leader"),
                    leaderEpoch: try r.u64("stream.leaderEpoch"),
                    replicas: try r.list("stream.replicas", minElementSize: minStringSize) { (r: inout ByteReader) throws(WireError) in
                        try r.string("stream.replicas[]")
                    },
                    inSyncReplicas: try r.list("stream.inSyncReplicas", minElementSize: minStringSize) { (r: inout ByteReader) throws(WireError) in
                        try r.string("stream.inSyncReplicas[]")
                    },
                    highWatermark: try r.u64("stream.highWatermark"))
            }
            let brokers = try r.list("brokers", minElementSize: minBrokerSize) { (r: inout ByteReader) throws(WireError) in
                BrokerInfo(id: try r.string("broker.id"), host: try r.string("broker.host"), port: try r.u16("broker.port"))
            }
            return .metadataResponse(metadataLeader: metadataLeader, streams: streams, brokers: brokers)
        case .createStream:
            let name = try r.string("name")
            let subject = try r.optionalString("subject")
            let replicationFactor = try r.u16("replicationFactor")
            let minISR = try r.u16("minISR")
            let replicas = try r.list("replicas", minElementSize: minStringSize) { (r: inout ByteReader) throws(WireError) in
                try r.string("replicas[]")
            }
            return .createStream(name: name, subject: subject, replicationFactor: replicationFactor, minISR: minISR, replicas: replicas)
        case .deleteStream:
            return .deleteStream(name: try r.string("name"))
        case .adminAck:
            let ok = try r.bool("ok")
            let error = try r.optionalString("error")
            return .adminAck(ok: ok, error: error)
        case .error:
            let code = try r.u16("code")
            let message = try r.string("message")
            return .error(code: code, message: message)
        }
    }
}
