/// One enum for both directions of the client protocol: a connection decodes any message and the
/// receiving side decides whether it is a request it serves or a response it awaits. One enum keeps
/// one type-code table, one codec and one frame decoder, and lets tests round-trip everything alike.
///
/// Requests (client → broker): `publish`, `fetch`, `metadataRequest`, `createStream`, `deleteStream`.
/// Responses (broker → client): `publishAck`, `fetchResponse`, `metadataResponse`, `adminAck`, `error`.
///
/// Strings travel as u16 length + UTF-8, so each string field must be at most 65 535 UTF-8 bytes;
/// encoding a longer one is a programmer error (precondition).
public enum Message: Sendable, Equatable {
    /// `producerID`/`producerEpoch`/`sequence` identify the message for idempotence (see the
    /// replication core's `ProducerTable`): a re-send is answered with the original offset.
    /// Producer 0 is anonymous (never de-duplicated).
    case publish(stream: String, producerID: UInt64, producerEpoch: UInt64 = 0, sequence: UInt64, ack: AckLevel, payload: [UInt8])
    /// `offset` is the assigned log offset when the entry was appended (nil when it was not).
    case publishAck(producerID: UInt64, sequence: UInt64, status: AckStatus, offset: UInt64?)
    case fetch(stream: String, offset: UInt64, maxEntries: UInt32, maxBytes: UInt32)
    case fetchResponse(stream: String, entries: [Entry], highWatermark: UInt64, error: String?)
    /// An empty list asks for every stream.
    case metadataRequest(streams: [String])
    case metadataResponse(metadataLeader: String?, streams: [StreamMetadata], brokers: [BrokerInfo])
    /// `subject` binds the stream to a NATS subject (Liftbridge style); nil for none.
    /// `replicas`: the nodes to place the stream on, in preference order (the scenario's
    /// explicit `replicas:`); empty = the broker's spread rule.
    case createStream(name: String, subject: String?, replicationFactor: UInt16, minISR: UInt16, replicas: [String] = [])
    case deleteStream(name: String)
    case adminAck(ok: Bool, error: String?)
    case error(code: UInt16, message: String)
}

/// How many replicas must hold a publish before it is acknowledged.
public enum AckLevel: UInt8, Sendable, Equatable, CaseIterable {
    case none = 0
    case leader = 1
    case all = 2
}

public enum AckStatus: Sendable, Equatable {
    case ok
    /// The receiving broker does not lead the stream; the hint names the leader when known.
    case notLeader(leaderHint: String?)
    case streamNotFound
    case timeout
    case rejected(reason: String)
}

/// One committed log entry as returned by `fetch`.
public struct Entry: Sendable, Equatable {
    public var offset: UInt64
    public var leaderEpoch: UInt64
    public var producerID: UInt64
    public var sequence: UInt64
    public var payload: [UInt8]

    public init(offset: UInt64, leaderEpoch: UInt64, producerID: UInt64, sequence: UInt64, payload: [UInt8]) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.producerID = producerID
        self.sequence = sequence
        self.payload = payload
    }
}

public struct StreamMetadata: Sendable, Equatable {
    public var name: String
    public var leader: String?
    public var leaderEpoch: UInt64
    public var replicas: [String]
    public var inSyncReplicas: [String]
    public var highWatermark: UInt64

    public init(name: String, leader: String?, leaderEpoch: UInt64, replicas: [String],
                inSyncReplicas: [String], highWatermark: UInt64) {
        self.name = name
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.inSyncReplicas = inSyncReplicas
        self.highWatermark = highWatermark
    }
}

/// A broker's client address. Not named `Broker`: that is a module of this package, and a type of
/// the same name would shadow it in files importing both.
public struct BrokerInfo: Sendable, Equatable {
    public var id: String
    public var host: String
    public var port: UInt16

    public init(id: String, host: String, port: UInt16) {
        self.id = id
        self.host = host
        self.port = port
    }
}
