import Sampling

/// Identity of a published message: the producer and its own sequence number. Offsets are
/// not identities: a retried message may land at another offset, and truncation reuses offsets.
public struct MessageID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var producer: UInt32
    public var sequence: UInt64

    public init(producer: UInt32, sequence: UInt64) {
        self.producer = producer
        self.sequence = sequence
    }

    public static func < (a: MessageID, b: MessageID) -> Bool {
        (a.producer, a.sequence) < (b.producer, b.sequence)
    }

    public var description: String { "p\(producer)#\(sequence)" }
}

/// One log entry as checkers see it.
public struct ObservedEntry: Equatable, Sendable {
    public var offset: UInt64
    public var leaderEpoch: UInt64
    public var message: MessageID

    public init(offset: UInt64, leaderEpoch: UInt64, message: MessageID) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.message = message
    }
}

/// What a replica holds at the end of a run (after the liveness phase).
public struct ReplicaSnapshot: Sendable {
    public var node: Int
    public var nodeName: String
    public var alive: Bool
    public var highWatermark: UInt64
    public var log: [ObservedEntry]

    public init(node: Int, nodeName: String, alive: Bool, highWatermark: UInt64, log: [ObservedEntry]) {
        self.node = node
        self.nodeName = nodeName
        self.alive = alive
        self.highWatermark = highWatermark
        self.log = log
    }
}
