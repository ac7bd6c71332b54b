/// Who sent a message that arrives through NATS, for the broker's de-duplication (idempotent
/// producers, the replication core's `ProducerTable`), from its headers:
///
/// - `Faultline-Producer` + `Faultline-Sequence` (+ `Faultline-Producer-Epoch`, default 0): a
///   sequenced producer, as the load driver publishes. Re-sends are answered with the original
///   offset, a skipped sequence is refused (`out_of_order_sequence`), an older epoch is fenced.
/// - `Nats-Msg-Id` (JetStream's de-duplication header): the id, hashed (64-bit FNV-1a, top
///   bit set so it never meets a numeric producer id), becomes a producer of its own with the
///   single sequence 0, so a second message with the same id is answered with the first one's
///   offset, as JetStream answers within its duplicate window. The window here is the broker's
///   producer table: its `max_producers` most recent ids, none older than the producer expiry.
/// - neither: anonymous (producer 0), never de-duplicated; the ingestion numbers it.
public struct MessageIdentity: Sendable, Equatable {
    public var producerID: UInt64
    public var producerEpoch: UInt64
    public var sequence: UInt64

    public init(producerID: UInt64, producerEpoch: UInt64, sequence: UInt64) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.sequence = sequence
    }

    /// Producer ids with this bit set stand for hashed `Nats-Msg-Id`s.
    public static let messageIDBit: UInt64 = 1 << 63

    /// The identity the headers give, or nil for an anonymous message.
    public static func from(_ headers: MessageHeaders?) -> MessageIdentity? {
        guard let headers else { return nil }
        if let producer = headers["Faultline-Producer"].flatMap(UInt64.init), producer != 0, producer & messageIDBit == 0,
           let sequence = headers["Faultline-Sequence"].flatMap(UInt64.init)
        {
            let epoch = headers["Faultline-Producer-Epoch"].flatMap(UInt64.init) ?? 0
            return MessageIdentity(producerID: producer, producerEpoch: epoch, sequence: sequence)
        }
        if let id = headers["Nats-Msg-Id"], !id.isEmpty {
            return MessageIdentity(producerID: messageIDBit | (fnv1a64(id) & ~messageIDBit), producerEpoch: 0, sequence: 0)
        }
        return nil
    }

    /// FNV-1a over the UTF-8 bytes: stable across processes and machines (Swift's `Hasher` is
    /// seeded per process, so it cannot name anything that outlives one).
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
