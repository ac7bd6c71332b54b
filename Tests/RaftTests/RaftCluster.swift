import Raft
import SimCore

/// The commands the test clusters replicate.
typealias Cmd = String

/// What a node keeps across a crash: the persisted HardState and log, and the state machine
/// (durable here, so `appliedIndex` is restored and nothing is applied twice).
struct Disk {
    var hardState = HardState.initial
    var log: [RaftEntry<Cmd>] = []
    var applied: [RaftEntry<Cmd>] = []
}

/// An in-memory driver for a group of `RaftNode`s plus the checkers that watch it from outside
/// (TigerBeetle style: checkers observe, never change state). Used by the script interpreter
/// and by the randomized property test. Every driver step handles a whole Ready in the order
/// the contract demands: persist, send, apply, advance.
struct RaftCluster {
    let ids: [RaftNodeID]
    var configs: [RaftConfig]
    let seed: UInt64
    var nodes: [RaftNode<Cmd>?]
    var disks: [Disk]
    var incarnations: [Int]
    /// In-flight messages, oldest first.
    var pending: [RaftMessage<Cmd>] = []
    /// Partition group per node; nodes talk only within a group. All zero when healed.
    var groups: [Int]
    /// Truncation points of each node's last Readys (for scripts).
    var lastTruncateFrom: [LogIndex?]

    // Checker state.
    var failures: [String] = []
    var leaderOfTerm: [Term: RaftNodeID] = [:]
    /// Every entry anyone applied, by index, with the lowest term of a node seen applying it:
    /// every leader of that term or later must hold it (Leader Completeness, paper §5.4).
    var committed: [RaftEntry<Cmd>] = []
    var committedObservedTerm: [Term] = []
    var highestCommit: [LogIndex]

    init(ids: [RaftNodeID], seed: UInt64 = 1, configure: (inout RaftConfig) -> Void = { _ in }) {
        precondition(ids == Array(1...ids.count), "node ids are 1...n")
        self.ids = ids
        self.seed = seed
        configs = ids.map { id in
            var c = RaftConfig(id: id, peers: ids)
            configure(&c)
            return c
        }
        nodes = Array(repeating: nil, count: ids.count)
        disks = Array(repeating: Disk(), count: ids.count)
        incarnations = Array(repeating: 0, count: ids.count)
        groups = Array(repeating: 0, count: ids.count)
        lastTruncateFrom = Array(repeating: nil, count: ids.count)
        highestCommit = Array(repeating: 0, count: ids.count)
        for id in ids { start(id) }
    }

    // MARK: Access

    func node(_ id: RaftNodeID) -> RaftNode<Cmd>? { nodes[id - 1] }
    func isUp(_ id: RaftNodeID) -> Bool { nodes[id - 1] != nil }
    var upIDs: [RaftNodeID] { ids.filter(isUp) }
    var leaders: [RaftNodeID] { upIDs.filter { node($0)!.role == .leader } }

    func connected(_ a: RaftNodeID, _ b: RaftNodeID) -> Bool { groups[a - 1] == groups[b - 1] }

    // MARK: Lifecycle

    /// (Re)builds a node from its disk only; a fresh election-timeout stream per incarnation.
    mutating func start(_ id: RaftNodeID) {
        let d = disks[id - 1]
        let rng = SeededGenerator(seed: seed).stream("raft.n\(id).i\(incarnations[id - 1])")
        nodes[id - 1] = RaftNode(config: configs[id - 1], restoring: d.hardState, log: d.log,
                                 appliedIndex: LogIndex(d.applied.count), rng: rng)
        incarnations[id - 1] += 1
        drain(id)
    }

    mutating func crash(_ id: RaftNodeID) {
        nodes[id - 1] = nil
        pending.removeAll { $0.to == id }
    }

    mutating func restart(_ id: RaftNodeID) {
        guard !isUp(id) else { return }
        start(id)
    }

    // MARK: Inputs

    mutating func tick(_ id: RaftNodeID) {
        guard isUp(id) else { return }
        nodes[id - 1]!.tick()
        drain(id)
    }

    @discardableResult
    mutating func propose(_ id: RaftNodeID, _ command: Cmd) -> LogIndex? {
        guard isUp(id) else { return nil }
        let index = nodes[id - 1]!.propose(command)
        drain(id)
        return index
    }

    /// Delivers `m` if its receiver is up and reachable; partitions cut at delivery time too.
    mutating func deliver(_ m: RaftMessage<Cmd>) {
        guard isUp(m.to), connected(m.from, m.to) else { return }
        nodes[m.to - 1]!.step(m)
        drain(m.to)
    }

    /// Delivers the pending message at `position`, removing it.
    mutating func deliver(at position: Int) {
        let m = pending.remove(at: position)
        deliver(m)
    }

    // MARK: Driver

    /// Handles every Ready the node has, in contract order, checking the contract as it goes.
    mutating func drain(_ id: RaftNodeID) {
        var guardCount = 0
        while nodes[id - 1]?.hasReady == true {
            guardCount += 1
            if guardCount > 100 { fail("n\(id): hasReady never settles"); return }
            let rd = nodes[id - 1]!.ready()
            var disk = disks[id - 1]

            // 1. Persist.
            if let t = rd.truncateFrom {
                lastTruncateFrom[id - 1] = t
                if t <= disk.hardState.commitIndex { fail("n\(id): truncates committed index \(t)") }
                if t >= 1 && Int(t - 1) < disk.log.count { disk.log.removeSubrange(Int(t - 1)...) }
            }
            if let first = rd.entriesToPersist.first, first.index != LogIndex(disk.log.count + 1) {
                fail("n\(id): entries to persist start at \(first.index), disk has \(disk.log.count)")
            }
            disk.log.append(contentsOf: rd.entriesToPersist)
            if let hs = rd.hardState { disk.hardState = hs }
            let n = nodes[id - 1]!
            if disk.log != n.log { fail("n\(id): persisted log differs from the node's log") }
            if disk.hardState != n.hardState { fail("n\(id): persisted hard state \(disk.hardState) != \(n.hardState)") }

            // 2. Send — only promises the disk can back.
            for m in rd.messages {
                switch m.kind {
                case .voteResponse(granted: true):
                    if disk.hardState.term != m.term || disk.hardState.votedFor != m.to {
                        fail("n\(id): vote for n\(m.to) in term \(m.term) sent before it was persisted")
                    }
                case let .appendResponse(success: true, matchIndex):
                    if matchIndex > LogIndex(disk.log.count) {
                        fail("n\(id): acknowledged index \(matchIndex) before persisting it")
                    }
                default:
                    break
                }
                if connected(m.from, m.to) { pending.append(m) }
            }

            // 3. Apply.
            for e in rd.committedEntries {
                if e.index != LogIndex(disk.applied.count + 1) {
                    fail("n\(id): applies index \(e.index) after \(disk.applied.count)")
                }
                disk.applied.append(e)
                recordApplied(e, by: id, term: n.term)
            }
            disks[id - 1] = disk
            nodes[id - 1]!.advance()
        }
        checkNode(id)
    }

    // MARK: Checkers

    mutating func fail(_ message: String) {
        if failures.count < 20 { failures.append(message) }
    }

    /// State machine safety: everyone applies the same entry at each index.
    private mutating func recordApplied(_ e: RaftEntry<Cmd>, by id: RaftNodeID, term: Term) {
        let i = Int(e.index) - 1
        if i < committed.count {
            if committed[i] != e { fail("n\(id) applied \(e) at \(e.index) but \(committed[i]) was applied elsewhere") }
            committedObservedTerm[i] = min(committedObservedTerm[i], term)
        } else if i == committed.count {
            committed.append(e)
            committedObservedTerm.append(term)
        } else {
            fail("n\(id) applied \(e.index) with a gap")
        }
    }

    /// Cheap checks after every driver step.
    mutating func checkNode(_ id: RaftNodeID) {
        guard let n = node(id) else { return }
        if n.commitIndex < highestCommit[id - 1] {
            fail("n\(id): commit index regressed from \(highestCommit[id - 1]) to \(n.commitIndex)")
        }
        highestCommit[id - 1] = max(highestCommit[id - 1], n.commitIndex)
        if n.role == .leader {
            // Election safety (paper §5.2): at most one leader per term, ever.
            if let other = leaderOfTerm[n.term], other != id {
                fail("two leaders in term \(n.term): n\(other) and n\(id)")
            } else if leaderOfTerm[n.term] == nil {
                leaderOfTerm[n.term] = id
                checkLeaderCompleteness(id)
            }
        }
    }

    /// Leader completeness (paper §5.4): a leader holds every entry committed in its term or before.
    mutating func checkLeaderCompleteness(_ id: RaftNodeID) {
        guard let n = node(id), n.role == .leader else { return }
        let log = n.log
        for i in committed.indices where committedObservedTerm[i] <= n.term {
            if i >= log.count || log[i] != committed[i] {
                fail("leader n\(id) of term \(n.term) lacks committed entry \(committed[i])")
                return
            }
        }
    }

    /// Log matching (paper §5.3): if two logs hold an entry with the same index and term, they
    /// are identical up to it. Logs are read from disk so crashed nodes count too.
    mutating func checkLogMatching() {
        for a in ids {
            for b in ids where b > a {
                let la = disks[a - 1].log, lb = disks[b - 1].log
                var i = min(la.count, lb.count) - 1
                while i >= 0 && la[i].term != lb[i].term { i -= 1 }
                if i >= 0 && la[0...i] != lb[0...i] {
                    fail("logs of n\(a) and n\(b) share index \(i + 1) term \(la[i].term) but differ before it")
                }
            }
        }
    }

    mutating func checkAll() {
        checkLogMatching()
        for id in leaders { checkLeaderCompleteness(id) }
    }
}
