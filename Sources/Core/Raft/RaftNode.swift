import Sampling

/// One Raft voter as a sans-IO state machine, shaped like etcd's `RawNode`: feed it `tick()`,
/// `step(_:)` and `propose(_:)`; collect effects with `ready()`; confirm with `advance()`.
/// It never reads a clock, touches a disk or socket, or draws randomness except from the
/// generator it was given (used only for the randomized election timeout, paper §5.2).
///
/// Not implemented: membership changes, snapshots/log compaction, leadership transfer,
/// read-index. The whole log is kept in memory.
public struct RaftNode<Command: Sendable & Equatable & Codable>: Sendable {
    // MARK: Configuration

    public let config: RaftConfig
    public var id: RaftNodeID { config.id }
    /// Sorted voters; every decision iterates this array, never a hash table.
    private let peers: [RaftNodeID]
    private let quorum: Int

    // MARK: Persistent state (paper Figure 2)

    public private(set) var term: Term
    public private(set) var votedFor: RaftNodeID?
    /// The in-memory log; `log[i - 1].index == i`.
    public private(set) var log: [RaftEntry<Command>]

    // MARK: Volatile state

    public private(set) var role: RaftRole = .follower
    /// The leader of `term` as far as this node knows.
    public private(set) var leader: RaftNodeID?
    public private(set) var commitIndex: LogIndex
    /// Highest index the driver confirmed applied (via `advance()`).
    public private(set) var appliedIndex: LogIndex

    private var rng: SeededGenerator
    /// Ticks since the last election reset. On followers it is reset on hearing from the
    /// current leader or granting a vote, so `leader != nil && electionElapsed < electionTicks`
    /// means "heard from a leader within the minimum election timeout" (thesis §4.2.3).
    private var electionElapsed = 0
    private var heartbeatElapsed = 0
    private var randomizedElectionTimeout = 0
    /// Votes (or pre-votes) received in the current campaign; keyed lookups only.
    private var votes: [RaftNodeID: Bool] = [:]
    /// Leader-only: replication progress, parallel to `peers`.
    private var progress: [Progress] = []

    // MARK: Ready bookkeeping

    private var outbox: [RaftMessage<Command>] = []
    /// HardState as last handed to the driver (or restored from disk).
    private var handedOutHardState: HardState
    /// Entries with index ≥ this have not been handed to the driver for persistence.
    private var unstableFrom: LogIndex
    /// Lowest index at which already-handed-out entries were truncated since the last Ready.
    private var pendingTruncateFrom: LogIndex?
    /// Highest committed index handed to the driver for applying.
    private var handedOutApplyIndex: LogIndex

    struct Progress: Sendable {
        enum State: Sendable { case probe, replicate }
        /// Highest index known to be replicated on the peer.
        var match: LogIndex = 0
        /// Next index to send.
        var next: LogIndex
        /// `probe`: one append per round trip until the peer's position is found;
        /// `replicate`: pipeline optimistically (etcd's progress states).
        var state: State = .probe
        var probeSent = false
        /// Heard from the peer since the last check-quorum round (thesis §6.2).
        var recentActive = false
        /// Commit index carried by the last append sent to the peer.
        var commitSent: LogIndex = 0
    }

    // MARK: - Init

    /// Rebuilds a node from what the driver's disk kept: the last stored `HardState`, the stored
    /// log (contiguous from index 1) and the index the state machine had applied (0 if the state
    /// machine is volatile and must be rebuilt by re-applying). Nothing volatile survives, so a
    /// restart is indistinguishable from a crash.
    public init(
        config: RaftConfig,
        restoring hardState: HardState,
        log: [RaftEntry<Command>],
        appliedIndex: LogIndex,
        rng: SeededGenerator
    ) {
        precondition(config.electionTicks > 0 && config.heartbeatTicks > 0 && config.maxEntriesPerAppend > 0,
                     "RaftConfig: electionTicks, heartbeatTicks and maxEntriesPerAppend must be positive")
        let sortedPeers = Array(Set(config.peers + [config.id])).sorted()
        for (offset, entry) in log.enumerated() {
            precondition(entry.index == LogIndex(offset + 1), "restored log must be contiguous from index 1")
        }
        self.config = config
        self.peers = sortedPeers
        self.quorum = sortedPeers.count / 2 + 1
        self.term = hardState.term
        self.votedFor = hardState.votedFor
        self.log = log
        self.rng = rng
        let last = LogIndex(log.count)
        // A commit index beyond the stored log can only come from a corrupted disk; clamping
        // keeps the node from handing out entries it does not have.
        self.commitIndex = min(hardState.commitIndex, last)
        self.appliedIndex = min(appliedIndex, commitIndex)
        self.handedOutApplyIndex = self.appliedIndex
        self.handedOutHardState = hardState
        self.unstableFrom = last + 1
        resetElectionTimer()
    }

    /// A node that has never run.
    public init(config: RaftConfig, rng: SeededGenerator) {
        self.init(config: config, restoring: .initial, log: [], appliedIndex: 0, rng: rng)
    }

    // MARK: - Queries

    public var lastIndex: LogIndex { LogIndex(log.count) }
    public var lastTerm: Term { log.last?.term ?? 0 }
    public var hardState: HardState { HardState(term: term, votedFor: votedFor, commitIndex: commitIndex) }

    /// Term of the entry at `index`; 0 for the sentinel index 0; nil beyond the log.
    public func term(at index: LogIndex) -> Term? {
        if index == 0 { return 0 }
        guard index <= lastIndex else { return nil }
        return log[Int(index - 1)].term
    }

    // MARK: - Inputs

    /// One unit of logical time. Followers and candidates count towards an election; leaders
    /// towards heartbeats and the check-quorum round.
    public mutating func tick() {
        switch role {
        case .leader:
            tickLeader()
        case .follower, .preCandidate, .candidate:
            electionElapsed += 1
            if electionElapsed >= randomizedElectionTimeout {
                startElection()
            }
        }
    }

    /// Proposes `command`; returns the index it will have if it commits, or nil if this node
    /// is not the leader (the driver forwards or rejects). The entry can still be lost if
    /// leadership changes before it commits; callers learn the outcome from `committedEntries`.
    @discardableResult
    public mutating func propose(_ command: Command) -> LogIndex? {
        guard role == .leader else { return nil }
        let index = appendToLog(command)
        for (i, peer) in peers.enumerated() where peer != id {
            sendAppend(peerAt: i)
        }
        _ = maybeCommit()  // a single-node cluster commits at once
        return index
    }

    public mutating func step(_ m: RaftMessage<Command>) {
        guard m.to == id, m.from != id, peers.contains(m.from) else { return }

        if m.term > term {
            let heardFromLeader = leader != nil && electionElapsed < config.electionTicks
            switch m.kind {
            case .preVote:
                // Thesis §9.6 with §4.2.3: a node that heard from a leader within the minimum
                // election timeout refuses, so a rejoining partitioned node cannot even start
                // a real election while the cluster has a healthy leader.
                if heardFromLeader {
                    send(to: m.from, term: term, .preVoteResponse(granted: false))
                    return
                }
            case .vote:
                // §6.2/§4.2.3 (etcd): with check-quorum a live leader is guaranteed to step down
                // when it loses its quorum, so a vote request inside the lease is a disruption.
                if config.checkQuorum && heardFromLeader { return }
            default:
                break
            }
            switch m.kind {
            case .preVote:
                break  // pre-votes never change terms (§9.6)
            case .preVoteResponse(granted: true):
                break  // a grant carries the term we would campaign in, not one we must adopt
            case .append, .heartbeat:
                becomeFollower(term: m.term, leader: m.from)
            default:
                becomeFollower(term: m.term, leader: nil)
            }
        } else if m.term < term {
            switch m.kind {
            case .append, .heartbeat:
                // Answer a stale leader with our term so it steps down; otherwise a leader cut
                // off by check-quorum/pre-vote peers that ignore it would never learn the term.
                send(to: m.from, term: term, .appendResponse(success: false, matchIndex: lastIndex))
            case .preVote:
                send(to: m.from, term: term, .preVoteResponse(granted: false))
            default:
                break  // stale responses and requests: ignore
            }
            return
        }

        switch m.kind {
        case let .preVote(lastLogIndex, lastLogTerm):
            handleVoteRequest(m, preVote: true, lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm)
        case let .vote(lastLogIndex, lastLogTerm):
            handleVoteRequest(m, preVote: false, lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm)
        default:
            switch role {
            case .leader: stepLeader(m)
            case .candidate, .preCandidate: stepCandidate(m)
            case .follower: stepFollower(m)
            }
        }
    }

    // MARK: - Ready / Advance

    public var hasReady: Bool {
        !outbox.isEmpty || hardState != handedOutHardState || unstableFrom <= lastIndex
            || pendingTruncateFrom != nil || commitIndex > handedOutApplyIndex
    }

    /// Hands out all pending work exactly once (see `RaftReady` for the order the driver must
    /// follow). Calling `ready()` again before `advance()` returns only work created since.
    public mutating func ready() -> RaftReady<Command> {
        var rd = RaftReady<Command>()
        let hs = hardState
        if hs != handedOutHardState {
            rd.hardState = hs
            handedOutHardState = hs
        }
        rd.truncateFrom = pendingTruncateFrom
        pendingTruncateFrom = nil
        if unstableFrom <= lastIndex {
            rd.entriesToPersist = Array(log[Int(unstableFrom - 1)...])
            unstableFrom = lastIndex + 1
        }
        rd.messages = outbox
        outbox = []
        if commitIndex > handedOutApplyIndex {
            rd.committedEntries = Array(log[Int(handedOutApplyIndex)..<Int(commitIndex)])
            handedOutApplyIndex = commitIndex
        }
        return rd
    }

    /// The driver persisted, sent and applied everything from the previous `ready()`.
    public mutating func advance() {
        appliedIndex = handedOutApplyIndex
    }

    // MARK: - Roles

    private mutating func resetElectionTimer() {
        electionElapsed = 0
        // §5.2: uniform in [electionTicks, 2 * electionTicks) so split votes resolve quickly.
        randomizedElectionTimeout = config.electionTicks + rng.index(below: config.electionTicks)
    }

    private mutating func becomeFollower(term newTerm: Term, leader newLeader: RaftNodeID?) {
        if newTerm > term {
            term = newTerm
            votedFor = nil
        }
        role = .follower
        leader = newLeader
        votes = [:]
        progress = []
        resetElectionTimer()
    }

    private mutating func startElection() {
        if config.preVote {
            becomePreCandidate()
        } else {
            becomeCandidate()
        }
    }

    /// Thesis §9.6: ask first, without touching `term` or `votedFor`, whether a majority would
    /// vote for us; a node that cannot win (stale log, or peers in a leader's lease) therefore
    /// never inflates the cluster's term.
    private mutating func becomePreCandidate() {
        role = .preCandidate
        leader = nil
        votes = [id: true]
        progress = []
        resetElectionTimer()
        if grantedVotes() >= quorum {
            becomeCandidate()
            return
        }
        for peer in peers where peer != id {
            send(to: peer, term: term + 1, .preVote(lastLogIndex: lastIndex, lastLogTerm: lastTerm))
        }
    }

    private mutating func becomeCandidate() {
        role = .candidate
        term += 1
        votedFor = id
        leader = nil
        votes = [id: true]
        progress = []
        resetElectionTimer()
        if grantedVotes() >= quorum {
            becomeLeader()
            return
        }
        for peer in peers where peer != id {
            send(to: peer, term: term, .vote(lastLogIndex: lastIndex, lastLogTerm: lastTerm))
        }
    }

    private mutating func becomeLeader() {
        role = .leader
        leader = id
        votes = [:]
        electionElapsed = 0
        heartbeatElapsed = 0
        let next = lastIndex + 1
        progress = peers.map { peer in
            Progress(next: next, recentActive: peer == id)
        }
        // Thesis §6.4 / paper §5.4.2: entries of earlier terms can only be committed by
        // committing an entry of the leader's own term, so append one right away.
        _ = appendToLog(nil)
        for (i, peer) in peers.enumerated() where peer != id {
            sendAppend(peerAt: i)
        }
        _ = maybeCommit()
    }

    // MARK: - Elections

    private func isUpToDate(lastLogIndex: LogIndex, lastLogTerm: Term) -> Bool {
        // Paper §5.4.1: compare last terms, then lengths.
        lastLogTerm > lastTerm || (lastLogTerm == lastTerm && lastLogIndex >= lastIndex)
    }

    private mutating func handleVoteRequest(
        _ m: RaftMessage<Command>, preVote: Bool, lastLogIndex: LogIndex, lastLogTerm: Term
    ) {
        // m.term >= term here. A real vote is given once per term (votedFor is persisted
        // before the response goes out, see RaftReady). A node that knows this term's leader
        // does not vote for anyone else in it. A pre-vote for a future term commits to nothing.
        let canVote = votedFor == m.from
            || (votedFor == nil && leader == nil)
            || (preVote && m.term > term)
        if canVote && isUpToDate(lastLogIndex: lastLogIndex, lastLogTerm: lastLogTerm) {
            if preVote {
                send(to: m.from, term: m.term, .preVoteResponse(granted: true))
            } else {
                votedFor = m.from
                resetElectionTimer()
                send(to: m.from, term: m.term, .voteResponse(granted: true))
            }
        } else {
            send(to: m.from, term: term, preVote ? .preVoteResponse(granted: false) : .voteResponse(granted: false))
        }
    }

    private func grantedVotes() -> Int {
        peers.filter { votes[$0] == true }.count
    }

    private func rejectedVotes() -> Int {
        peers.filter { votes[$0] == false }.count
    }

    private mutating func stepCandidate(_ m: RaftMessage<Command>) {
        switch m.kind {
        case .append, .heartbeat:
            // A leader exists for our term (we could not have been elected in it, or it is the
            // term we are pre-campaigning from): follow it.
            becomeFollower(term: m.term, leader: m.from)
            stepFollower(m)
        case let .preVoteResponse(granted):
            guard role == .preCandidate else { return }
            // Grants from an earlier pre-campaign for another term do not count.
            if granted && m.term != term + 1 { return }
            poll(m.from, granted: granted)
        case let .voteResponse(granted):
            guard role == .candidate else { return }
            poll(m.from, granted: granted)
        default:
            break
        }
    }

    private mutating func poll(_ from: RaftNodeID, granted: Bool) {
        if votes[from] == nil { votes[from] = granted }
        if grantedVotes() >= quorum {
            if role == .preCandidate { becomeCandidate() } else { becomeLeader() }
        } else if rejectedVotes() > peers.count - quorum {
            becomeFollower(term: term, leader: nil)
        }
    }

    // MARK: - Follower

    private mutating func stepFollower(_ m: RaftMessage<Command>) {
        switch m.kind {
        case let .append(prevIndex, prevTerm, entries, leaderCommit):
            leader = m.from
            electionElapsed = 0
            handleAppend(from: m.from, prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: leaderCommit)
        case let .heartbeat(leaderCommit):
            leader = m.from
            electionElapsed = 0
            // The leader sends min(our match, its commit), so our log agrees up to there.
            if leaderCommit > commitIndex {
                commitIndex = min(leaderCommit, lastIndex)
            }
            send(to: m.from, term: term, .heartbeatResponse)
        default:
            break
        }
    }

    private mutating func handleAppend(
        from leaderID: RaftNodeID, prevIndex: LogIndex, prevTerm: Term,
        entries: [RaftEntry<Command>], leaderCommit: LogIndex
    ) {
        // Malformed input (non-contiguous indices, entries from the future) is dropped, not trusted.
        for (k, entry) in entries.enumerated() {
            guard entry.index == prevIndex + 1 + LogIndex(k), entry.term <= term, entry.term >= prevTerm else { return }
        }
        // Paper §5.3 consistency check.
        guard let localPrevTerm = term(at: prevIndex), localPrevTerm == prevTerm else {
            // Largest index that could still match: indices whose local term exceeds prevTerm
            // cannot (terms only grow along a log), nor can prevIndex itself.
            var hint = prevIndex == 0 ? 0 : min(prevIndex - 1, lastIndex)
            while hint > 0, let t = term(at: hint), t > prevTerm { hint -= 1 }
            send(to: leaderID, term: term, .appendResponse(success: false, matchIndex: hint))
            return
        }
        // Skip entries we already hold; truncate only at a real conflict, so a delayed shorter
        // append can never cut off entries a newer one added (and acknowledged).
        var k = 0
        while k < entries.count, let t = term(at: entries[k].index), t == entries[k].term { k += 1 }
        if k < entries.count {
            let first = entries[k].index
            if first <= lastIndex {
                // Committed entries agree with every later leader (Leader Completeness, §5.4),
                // so a conflict at or below commitIndex means a broken peer: refuse the message
                // rather than lose a committed entry (and don't crash: bad input is not a bug here).
                guard first > commitIndex else { return }
                truncateLog(from: first)
            }
            log.append(contentsOf: entries[k...])
        }
        let lastNew = prevIndex + LogIndex(entries.count)
        // Figure 2: commitIndex = min(leaderCommit, index of last new entry) — only what this
        // message proved matches, never our possibly stale tail.
        let newCommit = min(leaderCommit, lastNew)
        if newCommit > commitIndex { commitIndex = newCommit }
        send(to: leaderID, term: term, .appendResponse(success: true, matchIndex: lastNew))
    }

    private mutating func truncateLog(from index: LogIndex) {
        log.removeSubrange(Int(index - 1)...)
        if index < unstableFrom {
            // Part of what we cut is already on the driver's disk.
            pendingTruncateFrom = min(pendingTruncateFrom ?? index, index)
            unstableFrom = index
        }
    }

    // MARK: - Leader

    private mutating func appendToLog(_ command: Command?) -> LogIndex {
        let index = lastIndex + 1
        log.append(RaftEntry(term: term, index: index, command: command))
        return index
    }

    private mutating func tickLeader() {
        electionElapsed += 1
        if electionElapsed >= config.electionTicks {
            electionElapsed = 0
            if config.checkQuorum {
                // §6.2: a leader cut off from a majority steps down, so clients stop trusting it
                // and its followers' leases (which reject pre-votes) expire with it.
                let active = peers.indices.filter { peers[$0] == id || progress[$0].recentActive }.count
                if active < quorum {
                    becomeFollower(term: term, leader: nil)
                    return
                }
                for i in progress.indices where peers[i] != id { progress[i].recentActive = false }
            }
        }
        heartbeatElapsed += 1
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            for (i, peer) in peers.enumerated() where peer != id {
                send(to: peer, term: term, .heartbeat(leaderCommit: min(progress[i].match, commitIndex)))
            }
        }
    }

    private mutating func sendAppend(peerAt i: Int) {
        var pr = progress[i]
        if pr.state == .probe && pr.probeSent { return }
        let prevIndex = pr.next - 1
        guard let prevTerm = term(at: prevIndex) else { return }
        let end = min(lastIndex, prevIndex + LogIndex(config.maxEntriesPerAppend))
        let entries = prevIndex < end ? Array(log[Int(prevIndex)..<Int(end)]) : []
        send(to: peers[i], term: term, .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: commitIndex))
        switch pr.state {
        case .replicate:
            pr.next = end + 1  // optimistic pipelining; a gap comes back as a rejection
        case .probe:
            pr.probeSent = true
        }
        pr.commitSent = commitIndex
        progress[i] = pr
    }

    private mutating func stepLeader(_ m: RaftMessage<Command>) {
        guard let i = peers.firstIndex(of: m.from) else { return }
        switch m.kind {
        case let .appendResponse(success, matchIndex):
            progress[i].recentActive = true
            progress[i].probeSent = false
            if success {
                guard matchIndex <= lastIndex else { return }
                if matchIndex > progress[i].match {
                    progress[i].match = matchIndex
                    progress[i].state = .replicate
                }
                progress[i].next = max(progress[i].next, matchIndex + 1)
                if maybeCommit() {
                    // Tell everyone the new commit index now rather than at the next heartbeat.
                    for (j, peer) in peers.enumerated() where peer != id { sendAppend(peerAt: j) }
                } else if progress[i].next <= lastIndex
                            || progress[i].commitSent < min(commitIndex, progress[i].match) {
                    // More to send, or a commit the peer missed while its probe was outstanding.
                    sendAppend(peerAt: i)
                }
            } else {
                let retry = max(progress[i].match + 1, min(matchIndex, lastIndex) + 1)
                // A rejection that does not lower `next` answers an append we already
                // superseded (reordered or duplicated): ignore it.
                if retry < progress[i].next {
                    progress[i].next = retry
                    progress[i].state = .probe
                    sendAppend(peerAt: i)
                }
            }
        case .heartbeatResponse:
            progress[i].recentActive = true
            progress[i].probeSent = false
            if progress[i].match < lastIndex { sendAppend(peerAt: i) }
        default:
            break
        }
    }

    /// Paper §5.3/§5.4.2 (the Figure 8 rule): commit the highest index stored on a quorum, but
    /// only if that entry is from the current term; earlier-term entries commit indirectly.
    private mutating func maybeCommit() -> Bool {
        guard role == .leader else { return false }
        var matches = peers.indices.map { peers[$0] == id ? lastIndex : progress[$0].match }
        matches.sort(by: >)
        let candidate = matches[quorum - 1]
        guard candidate > commitIndex, term(at: candidate) == term else { return false }
        commitIndex = candidate
        return true
    }

    // MARK: - Output

    private mutating func send(to peer: RaftNodeID, term messageTerm: Term, _ kind: RaftMessageKind<Command>) {
        outbox.append(RaftMessage(from: id, to: peer, term: messageTerm, kind: kind))
    }
}
