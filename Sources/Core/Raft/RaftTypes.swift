/// Vocabulary of the Raft state machine: the values it takes in (messages, ticks, proposals)
/// and gives out (`RaftReady`). Everything here is a plain value so the simulator and the
/// SwiftNIO servers can encode, copy, compare and record it.

public typealias RaftNodeID = Int
public typealias Term = UInt64
/// The first real entry has index 1; index 0 with term 0 stands for the empty log, so the
/// consistency check of the first append (`prevIndex == 0`) always succeeds.
public typealias LogIndex = UInt64

public struct RaftEntry<Command: Sendable & Equatable & Codable>: Sendable, Equatable, Codable {
    public var term: Term
    public var index: LogIndex
    /// `nil` is the no-op a new leader appends (thesis §6.4: a leader may only commit
    /// entries of earlier terms by committing one of its own term).
    public var command: Command?

    public init(term: Term, index: LogIndex, command: Command?) {
        self.term = term
        self.index = index
        self.command = command
    }
}

/// The part of a node's state that must be on stable storage before it answers anyone
/// (Raft paper Figure 2, "Persistent state on all servers"). `commitIndex` is stored too so a
/// restarted node can re-apply committed entries without first hearing from a leader; it is
/// safe to lose (it would be relearned) but never to store a value that was not committed.
public struct HardState: Sendable, Equatable, Codable {
    public var term: Term
    public var votedFor: RaftNodeID?
    public var commitIndex: LogIndex

    public init(term: Term = 0, votedFor: RaftNodeID? = nil, commitIndex: LogIndex = 0) {
        self.term = term
        self.votedFor = votedFor
        self.commitIndex = commitIndex
    }

    /// What a node that never ran has on disk.
    public static let initial = HardState()
}

public struct RaftConfig: Sendable, Equatable {
    public var id: RaftNodeID
    /// All voters, including `id`. Sorted by the node so that every loop over peers runs in
    /// the same order in every process.
    public var peers: [RaftNodeID]
    /// The election timeout is drawn uniformly from `[electionTicks, 2 * electionTicks)`
    /// (paper §5.2: randomized timeouts make split votes rare). `electionTicks` is also the
    /// leader lease used by pre-vote and check-quorum.
    public var electionTicks: Int
    /// A leader sends heartbeats every `heartbeatTicks` ticks; must be well below `electionTicks`.
    public var heartbeatTicks: Int
    /// Thesis §9.6: campaign for a term only after a majority says it would vote.
    public var preVote: Bool
    /// Thesis §6.2: a leader that has not heard from a quorum within an election timeout steps down.
    public var checkQuorum: Bool
    /// Upper bound on entries per append message (flow control).
    public var maxEntriesPerAppend: Int

    public init(
        id: RaftNodeID,
        peers: [RaftNodeID],
        electionTicks: Int = 10,
        heartbeatTicks: Int = 1,
        preVote: Bool = true,
        checkQuorum: Bool = true,
        maxEntriesPerAppend: Int = 64
    ) {
        self.id = id
        self.peers = peers
        self.electionTicks = electionTicks
        self.heartbeatTicks = heartbeatTicks
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.maxEntriesPerAppend = maxEntriesPerAppend
    }
}

public enum RaftRole: Sendable, Equatable {
    case follower, preCandidate, candidate, leader
}

public enum RaftMessageKind<Command: Sendable & Equatable & Codable>: Sendable, Equatable, Codable {
    /// Sent with `term` = the sender's term + 1, which the sender has *not* adopted (thesis §9.6).
    case preVote(lastLogIndex: LogIndex, lastLogTerm: Term)
    /// When granted, carries the term of the request; when refused, the responder's own term.
    case preVoteResponse(granted: Bool)
    case vote(lastLogIndex: LogIndex, lastLogTerm: Term)
    case voteResponse(granted: Bool)
    case append(prevIndex: LogIndex, prevTerm: Term, entries: [RaftEntry<Command>], leaderCommit: LogIndex)
    /// On success `matchIndex` is the last index the follower now holds in agreement with the
    /// leader. On rejection it is a hint: the largest index that may still match (the leader
    /// retries from `matchIndex + 1`), which skips a whole conflicting term per round trip
    /// (paper §5.3, "the protocol can be optimized to reduce the number of rejected AppendEntries").
    case appendResponse(success: Bool, matchIndex: LogIndex)
    /// Carries `min(follower's match, leader's commit)` so a follower never commits an index
    /// its own log has not been shown to match.
    case heartbeat(leaderCommit: LogIndex)
    case heartbeatResponse
}

public struct RaftMessage<Command: Sendable & Equatable & Codable>: Sendable, Equatable, Codable {
    public var from: RaftNodeID
    public var to: RaftNodeID
    public var term: Term
    public var kind: RaftMessageKind<Command>

    public init(from: RaftNodeID, to: RaftNodeID, term: Term, kind: RaftMessageKind<Command>) {
        self.from = from
        self.to = to
        self.term = term
        self.kind = kind
    }
}

/// One batch of work for the driver. The driver MUST handle it in this order:
///
/// 1. Persist: if `truncateFrom` is set, delete every stored entry with index ≥ `truncateFrom`;
///    append `entriesToPersist` (they start right after the last stored entry); store
///    `hardState` if set; then fsync. Votes and acknowledgements in `messages` are promises
///    about this state (paper Figure 2: "respond to RPCs only after updating stable storage").
/// 2. Send `messages` (any order, any transport; losing some is fine).
/// 3. Apply `committedEntries` to the state machine, in order (entries with a `nil` command
///    are leader no-ops: skip them but count them as applied).
/// 4. Call `advance()`.
///
/// A leader counts its own log towards the commit quorum without waiting for its fsync; that
/// is safe only because of step 1-before-2: no follower can acknowledge an entry before the
/// leader has persisted it, since the entry travels in a message of the same or a later Ready.
public struct RaftReady<Command: Sendable & Equatable & Codable>: Sendable {
    /// Set when term, vote or commit index changed since the last Ready.
    public var hardState: HardState?
    public var truncateFrom: LogIndex?
    public var entriesToPersist: [RaftEntry<Command>]
    public var messages: [RaftMessage<Command>]
    public var committedEntries: [RaftEntry<Command>]

    public init(
        hardState: HardState? = nil,
        truncateFrom: LogIndex? = nil,
        entriesToPersist: [RaftEntry<Command>] = [],
        messages: [RaftMessage<Command>] = [],
        committedEntries: [RaftEntry<Command>] = []
    ) {
        self.hardState = hardState
        self.truncateFrom = truncateFrom
        self.entriesToPersist = entriesToPersist
        self.messages = messages
        self.committedEntries = committedEntries
    }

    public var isEmpty: Bool {
        hardState == nil && truncateFrom == nil && entriesToPersist.isEmpty
            && messages.isEmpty && committedEntries.isEmpty
    }
}
