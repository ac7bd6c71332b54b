/// What a consumer asks its driver to do next.
public enum ConsumerStep<Node: Equatable & Sendable>: Sendable, Equatable {
    /// Find the stream's leader (metadata), then answer `leaderFound(_:now:)`.
    case lookUpLeader
    /// Fetch committed entries from `offset` at `leader`; answer `delivered` or `failed` with `request`.
    case fetch(request: UInt64, leader: Node, offset: UInt64, maxEntries: Int)
    /// Nothing to do before `at` (a poll is outstanding, or the poll interval runs).
    case wait(until: Int64)
}

/// One consumer as a sans-IO state machine: reads a stream's committed log from offset 0 at the
/// stream's leader, fetching again at once after a non-empty batch and after `pollInterval`
/// otherwise; after a failure (leader gone, not the leader any more) it follows the leader —
/// the one a not-leader answer names, else the metadata's — and goes on from its own offset.
/// End-to-end latency runs from each message's intended send time (coordinated omission).
public struct ConsumerCore<Node: Equatable & Sendable>: Sendable {
    public let pollInterval: Int64
    public let maxEntries: Int
    /// A fetch unanswered this long is given up (lost on the network, or a paused leader).
    public let requestTimeout: Int64
    /// Wait after a failure before trying again without a leader hint.
    public static var retryDelay: Int64 { 50_000_000 }

    public private(set) var offset: UInt64 = 0
    public private(set) var leader: Node?
    public private(set) var received: UInt64 = 0
    public private(set) var polls: UInt64 = 0
    public private(set) var errors: UInt64 = 0
    private var outstanding: UInt64?
    private var sentAt: Int64 = 0
    /// When the next fetch is due (if none is outstanding).
    public private(set) var nextPollAt: Int64

    /// The fetch awaiting an answer, if any.
    public var outstandingRequest: UInt64? { outstanding }

    public init(start: Int64 = 0, pollInterval: Int64, maxEntries: Int) {
        self.pollInterval = pollInterval
        self.maxEntries = maxEntries
        requestTimeout = max(10 * pollInterval, 200_000_000)
        nextPollAt = start
    }

    /// What to do at `now`.
    public mutating func poll(now: Int64) -> ConsumerStep<Node> {
        if outstanding != nil {
            guard now - sentAt >= requestTimeout else { return .wait(until: sentAt + requestTimeout) }
            errors += 1
            outstanding = nil
            leader = nil
        }
        guard now >= nextPollAt else { return .wait(until: nextPollAt) }
        guard let leader else { return .lookUpLeader }
        polls += 1
        outstanding = polls
        sentAt = now
        return .fetch(request: polls, leader: leader, offset: offset, maxEntries: maxEntries)
    }

    /// The metadata named `leader` (nil: no leader yet; try again after `retryDelay`).
    public mutating func leaderFound(_ leader: Node?, now: Int64) {
        self.leader = leader
        if leader == nil { nextPollAt = now + Self.retryDelay }
    }

    /// Entries delivered for `request`, starting at `firstOffset`. Returns how many of them are
    /// new to this consumer (a prefix of the batch from its offset is skipped); the next poll is
    /// due at once after a non-empty batch and after `pollInterval` otherwise.
    public mutating func delivered(request: UInt64, firstOffset: UInt64, count: Int, now: Int64) -> Range<Int> {
        guard outstanding == request else { return 0..<0 }
        outstanding = nil
        let end = firstOffset + UInt64(count)
        guard count > 0, firstOffset <= offset, end > offset else {
            nextPollAt = now + pollInterval
            return 0..<0
        }
        let skip = Int(offset - firstOffset)
        offset = end
        received += UInt64(count - skip)
        nextPollAt = now
        return skip..<count
    }

    /// The fetch failed: refused (`leaderHint` names the leader, if the answer did) or the
    /// connection failed.
    public mutating func failed(request: UInt64, leaderHint: Node?, now: Int64) {
        guard outstanding == request else { return }
        outstanding = nil
        errors += 1
        leader = leaderHint
        nextPollAt = leaderHint == nil ? now + Self.retryDelay : now
    }

    /// End-to-end latency of a message delivered at `now`, nil if it is not measured (warm-up).
    public static func endToEnd(intended: Int64, delivered now: Int64, measureFrom: Int64) -> Int64? {
        intended >= measureFrom ? max(0, now - intended) : nil
    }
}
