import WireTesting
import Wire

/// Messages covering every case and field edge: empty strings and lists, nil and present optionals,
/// zero and max integers, multi-byte UTF-8.
enum Samples {
    static let small: [Message] = [
        .publish(stream: "", producerID: 0, sequence: .max, ack: .none, payload: []),
        .publish(stream: "orders.eu-west/🧾", producerID: .max, sequence: 0, ack: .all,
                 payload: (0 ..< 300).map { UInt8(truncatingIfNeeded: $0 &* 7) }),
        .publish(stream: "s", producerID: 1, sequence: 2, ack: .leader, payload: [0]),
        .publish(stream: "s", producerID: 3, producerEpoch: 1_733_400_000_123, sequence: 9, ack: .all, payload: [1, 2]),
        .publishAck(producerID: 0, sequence: 0, status: .ok, offset: nil),
        .publishAck(producerID: .max, sequence: .max, status: .ok, offset: .max),
        .publishAck(producerID: 1, sequence: 1, status: .notLeader(leaderHint: nil), offset: nil),
        .publishAck(producerID: 1, sequence: 1, status: .notLeader(leaderHint: "node-2 ü"), offset: 0),
        .publishAck(producerID: 2, sequence: 3, status: .streamNotFound, offset: nil),
        .publishAck(producerID: 2, sequence: 3, status: .timeout, offset: 42),
        .publishAck(producerID: 2, sequence: 3, status: .rejected(reason: ""), offset: nil),
        .publishAck(producerID: 2, sequence: 3, status: .rejected(reason: "too big ✗"), offset: nil),
        .fetch(stream: "", offset: 0, maxEntries: 0, maxBytes: 0),
        .fetch(stream: "s", offset: .max, maxEntries: .max, maxBytes: .max),
        .fetchResponse(stream: "", entries: [], highWatermark: 0, error: nil),
        .fetchResponse(stream: "s", entries: [
            Entry(offset: 0, leaderEpoch: 0, producerID: 0, sequence: 0, payload: []),
            Entry(offset: .max, leaderEpoch: .max, producerID: .max, sequence: .max, payload: [1, 2, 3]),
        ], highWatermark: .max, error: "日本語"),
        .fetchResponse(stream: "s", entries: [], highWatermark: 5, error: ""),
        .metadataRequest(streams: []),
        .metadataRequest(streams: ["a", "", "ü", "🦀"]),
        .metadataResponse(metadataLeader: nil, streams: [], brokers: []),
        .metadataResponse(metadataLeader: "n1", streams: [
            StreamMetadata(name: "", leader: nil, leaderEpoch: 0, replicas: [], inSyncReplicas: [], highWatermark: 0),
            StreamMetadata(name: "orders", leader: "n2", leaderEpoch: .max, replicas: ["n1", "n2", "n3"],
                           inSyncReplicas: ["n2"], highWatermark: .max),
        ], brokers: [
            BrokerInfo(id: "", host: "", port: 0),
            BrokerInfo(id: "n1", host: "broker-1.faultline.internal", port: .max),
        ]),
        .createStream(name: "", subject: nil, replicationFactor: 0, minISR: 0),
        .createStream(name: "orders", subject: "orders.>", replicationFactor: .max, minISR: .max),
        .createStream(name: "audit", subject: nil, replicationFactor: 2, minISR: 1, replicas: ["n2", "n4"]),
        .deleteStream(name: ""),
        .deleteStream(name: "流"),
        .adminAck(ok: true, error: nil),
        .adminAck(ok: false, error: ""),
        .adminAck(ok: false, error: "exists"),
        .error(code: 0, message: ""),
        .error(code: .max, message: "boom 💥"),
    ]

    /// Messages whose fields are at their size limits (kept out of quadratic tests).
    static let large: [Message] = [
        .deleteStream(name: String(repeating: "x", count: Int(UInt16.max))),
        .error(code: 1, message: String(repeating: "é", count: Int(UInt16.max) / 2)),
        .publish(stream: "big", producerID: 1, sequence: 1, ack: .all, payload: [UInt8](repeating: 0xAB, count: 200_000)),
    ]

    static var smallStream: [UInt8] { small.flatMap(WireCodec.encode) }
}


func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
func u32(_ v: UInt32) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
func u64(_ v: UInt64) -> [UInt8] { (0 ..< 8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
func str(_ s: String) -> [UInt8] { u16(UInt16(s.utf8.count)) + Array(s.utf8) }
