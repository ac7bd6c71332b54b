import Foundation
import NATSProtocol

// The JSON of nats-server's JetStream API (docs.nats.io, "JetStream wire API reference"). Only the
// fields the helpers act on; unknown fields are ignored, so newer servers still decode.

public enum StorageType: String, Sendable, Codable {
    case file
    case memory
}

/// A stream as `$JS.API.STREAM.INFO` reports it.
public struct StreamInfo: Sendable, Equatable {
    public var name: String
    public var subjects: [String]
    public var replicas: Int
    public var storage: StorageType
    public var messages: UInt64
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    /// Server name of the stream's Raft leader; nil while there is none (or not clustered).
    public var leader: String?
    /// The followers by server name: whether each is caught up with the leader.
    public var replicasCurrent: [String: Bool]
}

/// The answer to a JetStream publish.
public struct PubAck: Sendable, Equatable {
    public var stream: String
    public var seq: UInt64
    /// The `Nats-Msg-Id` was seen within the stream's duplicate window; `seq` is the original's.
    public var duplicate: Bool

    public init(stream: String, seq: UInt64, duplicate: Bool = false) {
        self.stream = stream
        self.seq = seq
        self.duplicate = duplicate
    }
}

/// One stored message, as `JetStream.readAll` returns it.
public struct JetStreamMessage: Sendable, Equatable {
    public var seq: UInt64
    public var subject: String
    public var payload: [UInt8]
    public var headers: MessageHeaders?

    public init(seq: UInt64, subject: String, payload: [UInt8], headers: MessageHeaders? = nil) {
        self.seq = seq
        self.subject = subject
        self.payload = payload
        self.headers = headers
    }
}

// MARK: Wire types

struct APIError: Decodable {
    var code: Int
    var errCode: Int?
    var description: String?
}

protocol APIResponse: Decodable {
    var error: APIError? { get }
}

struct ErrorOnlyResponse: APIResponse {
    var error: APIError?
}

struct StreamConfigJSON: Codable {
    var name: String
    var subjects: [String]?
    var retention: String? = "limits"
    var maxConsumers: Int? = -1
    var maxMsgs: Int? = -1
    var maxBytes: Int? = -1
    var maxAge: Int? = 0
    var maxMsgSize: Int? = -1
    var storage: StorageType
    var discard: String? = "old"
    var numReplicas: Int
    /// Nanoseconds; 2 minutes is nats-server's default.
    var duplicateWindow: Int? = 120_000_000_000
}

struct StreamInfoResponse: APIResponse {
    struct State: Decodable {
        var messages: UInt64
        var firstSeq: UInt64
        var lastSeq: UInt64
    }
    struct Cluster: Decodable {
        struct Peer: Decodable {
            var name: String
            var current: Bool
        }
        var name: String?
        var leader: String?
        var replicas: [Peer]?
    }
    var error: APIError?
    var config: StreamConfigJSON?
    var state: State?
    var cluster: Cluster?

    func info() throws -> StreamInfo {
        guard let config, let state else { throw NATSError.unexpectedResponse("stream info without config or state") }
        var current: [String: Bool] = [:]
        for peer in cluster?.replicas ?? [] { current[peer.name] = peer.current }
        let leader = cluster?.leader.flatMap { $0.isEmpty ? nil : $0 }
        return StreamInfo(name: config.name, subjects: config.subjects ?? [], replicas: config.numReplicas,
                          storage: config.storage, messages: state.messages, firstSeq: state.firstSeq,
                          lastSeq: state.lastSeq, leader: leader, replicasCurrent: current)
    }
}

struct StreamDeleteResponse: APIResponse {
    var error: APIError?
    var success: Bool?
}

struct AccountInfoResponse: APIResponse {
    var error: APIError?
    var streams: Int?
    var consumers: Int?
}

struct PubAckResponse: APIResponse {
    var error: APIError?
    var stream: String?
    var seq: UInt64?
    var duplicate: Bool?
}

struct ConsumerCreateRequest: Encodable {
    struct Config: Encodable {
        var deliverPolicy = "all"
        /// Pull consumers may use `none` since nats-server 2.9.0 (nats-server#3442).
        var ackPolicy = "none"
        var replayPolicy = "instant"
        /// Nanoseconds without a pull after which the server removes the ephemeral consumer,
        /// so a reader that dies leaves nothing behind for long.
        var inactiveThreshold: Int = 30_000_000_000
        var memStorage = true
    }
    var streamName: String
    var config = Config()
}

struct ConsumerInfoResponse: APIResponse {
    var error: APIError?
    var name: String?
}

struct PullRequest: Encodable {
    var batch: Int
    /// Nanoseconds.
    var expires: Int
}

enum JSONCoding {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array(try encoder.encode(value))
    }

    /// Decodes a JetStream reply and turns its `error` object into `NATSError.jetStream`.
    static func decode<Response: APIResponse>(_ type: Response.Type, from message: NATSMessage) throws -> Response {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let response: Response
        do {
            response = try decoder.decode(type, from: Data(message.payload))
        } catch {
            throw NATSError.unexpectedResponse("\(String(decoding: message.payload.prefix(200), as: UTF8.self)): \(error)")
        }
        if let error = response.error {
            throw NATSError.jetStream(code: error.code, errorCode: error.errCode ?? 0,
                                      description: error.description ?? "")
        }
        return response
    }
}
