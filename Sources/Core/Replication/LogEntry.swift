/// The records of a stream log: what a publisher sends (`LogPayload`) and what a replica
/// stores (`LogEntry`: the payload stamped with its offset and the leader epoch that
/// sequenced it, as in Kafka's record batches since KIP-101).

/// What a publisher hands to the stream leader. `producerID`/`sequence` identify a message end
/// to end, so checkers can tell whether an acknowledged message survived. The simulator moves no
/// real bytes: `bytes` is the size its network and disk models charge for and `data` stays
/// empty. The live broker carries the message in `data` (and `bytes == data.count`).
/// `producerEpoch` is the producer's incarnation (see `ProducerTable`); 0 with producer 0 for
/// anonymous messages, which are never de-duplicated.
public struct LogPayload: Codable, Sendable, Hashable {
    public var producerID: UInt64
    public var producerEpoch: UInt64
    public var sequence: UInt64
    public var bytes: Int
    public var data: [UInt8]

    public init(producerID: UInt64, producerEpoch: UInt64 = 0, sequence: UInt64, bytes: Int, data: [UInt8] = []) {
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.sequence = sequence
        self.bytes = bytes
        self.data = data
    }

    /// A live message: its size is its bytes.
    public init(producerID: UInt64, producerEpoch: UInt64 = 0, sequence: UInt64, data: [UInt8]) {
        self.init(producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, bytes: data.count, data: data)
    }
}

/// One record in a replica's log. Offsets start at 0 and are dense (no retention or
/// compaction is modelled), so offset `o` is the `o`-th entry.
public struct LogEntry: Codable, Sendable, Hashable {
    public var offset: UInt64
    /// The leader epoch in which the leader sequenced this entry (KIP-101). Two replicas
    /// holding an entry with the same (offset, leaderEpoch) hold the same entry.
    public var leaderEpoch: UInt64
    public var payload: LogPayload

    public init(offset: UInt64, leaderEpoch: UInt64, payload: LogPayload) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.payload = payload
    }
}
