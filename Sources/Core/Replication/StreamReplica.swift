/// One replica of one stream on one broker: the Kafka/Liftbridge ISR replication protocol as
/// a sans-IO state machine. `handle(_:now:)` takes an input (metadata, a publish, a message,
/// a tick, a disk completion, a restart) and returns effects (send, append, truncate, fsync,
/// checkpoint, ack, propose). It never reads a clock, touches a disk or draws randomness;
/// the same code runs in the simulator and behind SwiftNIO.
///
/// Driver contract:
/// - Execute a batch's effects in order. Storage effects (`appendToLog`, `truncateLog`,
///   `fsync`, `checkpointHighWatermark`, `persistEpochCache`) go to this replica's own files
///   in issue order; an `fsync` covers every append and truncation issued before it.
///   `checkpointHighWatermark` and `persistEpochCache` are whole-file atomic replaces.
/// - Report each `appendToLog` with one `.appendCompleted(upTo:)` and each `fsync` with one
///   `.fsyncCompleted(upTo:)`, in issue order per kind, echoing the effect's end offset.
///   Nothing is acknowledged or counted towards the high-water mark before the completion
///   the policy requires (write for `.leader`/`.all`, fsync too under `.always`).
/// - `send` may be lost, delayed or reordered; the replica re-sends on timeouts and drops
///   stale answers. `propose` goes to the metadata group; the committed result comes back
///   as `.metadataChanged`.
/// - After a crash, create nothing new: feed `.restart(recovered)` with what the disk kept,
///   then the current `.metadataChanged`. Outstanding completions from before the crash
///   must not be delivered.
public struct StreamReplica: Sendable {
    public enum FollowerPhase: Sendable, Equatable {
        /// Reconciling the log with the new leader (KIP-101/KIP-279); no fetching yet.
        case truncating
        case fetching
    }

    public enum Role: Sendable, Equatable {
        /// No metadata yet, no leader, or not a replica of the stream.
        case offline
        case leader
        case follower(leader: BrokerID, phase: FollowerPhase)
    }

    /// The leader's view of one follower.
    struct FollowerProgress: Sendable, Equatable {
        var id: BrokerID
        /// The follower's log end as of its last fetch in this leader epoch (0 = unknown).
        var logEndOffset: UInt64 = 0
        var lastFetchAt: Int64?
        /// The leader's log end when it answered that fetch.
        var leaderEndAtLastFetch: UInt64 = 0
        /// The last time the follower was known to have everything the leader had.
        var lastCaughtUpAt: Int64
        /// The high-water mark in the last fetch answer sent to it (nil: none in this epoch).
        var highWatermarkSent: UInt64?
    }

    /// A fetch the leader holds (long poll, `fetchWaitNanos`) until it appends, its high-water
    /// mark moves or `deadline` passes. At most one per follower.
    struct ParkedFetch: Sendable, Equatable {
        var request: FetchRequest
        var deadline: Int64
    }

    struct PendingPublish: Sendable, Equatable {
        var requestID: UInt64
        var offset: UInt64
        var ack: AckPolicy
    }

    /// An outstanding append or fsync; `generation` tells whether a truncation happened since.
    struct DiskOperation: Sendable, Equatable {
        var end: UInt64
        var generation: UInt64
    }

    enum ProposalKind: Sendable, Equatable { case shrink, expand }

    struct ProposalRecord: Sendable, Equatable {
        var kind: ProposalKind
        var replica: BrokerID
        var at: Int64
    }

    public let stream: String
    public let config: ReplicaConfig
    public var brokerID: BrokerID { config.brokerID }

    /// The latest metadata delivered (nil after a restart until the driver delivers it).
    public private(set) var partition: PartitionState?
    public private(set) var role: Role = .offline
    /// The log as this replica sees it (including appends not yet written or durable).
    public private(set) var log: [LogEntry]
    public private(set) var epochCache: LeaderEpochCache
    /// Never decreases, except when a follower truncates below it.
    public private(set) var highWatermark: UInt64
    /// Entries below this are in the log file (page cache).
    public private(set) var writtenEnd: UInt64
    /// Entries below this survive a power loss.
    public private(set) var durableEnd: UInt64
    public var logEndOffset: UInt64 { UInt64(log.count) }
    /// Idempotent producers' state, kept in step with `log` (unused with idempotence off).
    public private(set) var producers: ProducerTable
    /// Publishes answered with an offset already stored instead of being stored again.
    public private(set) var duplicatesSuppressed: UInt64 = 0

    private var pendingWrites: [DiskOperation] = []
    private var pendingFsyncs: [DiskOperation] = []
    private var diskGeneration: UInt64 = 0
    private var needsFsync = false
    private var epochCacheDirty = false
    private var lastFsyncAt: Int64?
    private var lastCheckpointAt: Int64?
    private var checkpointedHighWatermark: UInt64
    private var lastProducerSnapshotAt: Int64?
    private var producerSnapshotEnd: UInt64?

    // Leader state.
    private var followers: [FollowerProgress] = []
    /// Publishes waiting for their ack, in offset order, from `pendingHead` on: acks leave from
    /// the front, and removing an array's first element moved the rest (0.5% of a simulated
    /// swarm seed in memmove). A deque measured slower here (its field made the compiler copy
    /// the partition state in the leader's timers).
    private var pendingPublishes: [PendingPublish] = []
    private var pendingHead = 0
    private var leaderEpochStartOffset: UInt64 = 0
    private var proposals: [ProposalRecord] = []
    private var parkedFetches: [ParkedFetch] = []

    // Follower state.
    private var lastLeaderContact: Int64 = 0
    private var lastFailureReportAt: Int64?
    private var requestInFlightSince: Int64?
    private var inFlightEpochRequest: UInt64?
    private var nextRequestAt: Int64 = 0

    // Restart state: a replica that restarted must not lead again in an epoch it may have led
    // before (see `applyMetadata`).
    private var session: UInt64 = 0
    private var epochToRenew: UInt64?
    private var lastRenewalRequestAt: Int64?

    /// A replica with what `recovered` kept (`.empty` for a new one). It does nothing until
    /// it receives metadata.
    public init(stream: String, config: ReplicaConfig, recovered: RecoveredLog = .empty) {
        self.stream = stream
        self.config = config
        var entries: [LogEntry] = []
        for entry in recovered.entries {
            guard entry.offset == UInt64(entries.count),
                entries.last.map({ $0.leaderEpoch <= entry.leaderEpoch }) ?? true
            else { break }
            entries.append(entry)
        }
        log = entries
        epochCache = LeaderEpochCache(rebuiltFrom: entries, persisted: recovered.epochCache)
        epochCacheDirty = epochCache.entries != recovered.epochCache
        let end = UInt64(entries.count)
        writtenEnd = end
        durableEnd = end
        highWatermark = min(recovered.highWatermarkCheckpoint, end)
        checkpointedHighWatermark = recovered.highWatermarkCheckpoint
        producers = ProducerTable(capacity: config.maxProducers, window: config.producerWindow,
                                  expiryNanos: config.producerExpiryNanos)
        if config.idempotence {
            producers.rebuild(from: entries[...], snapshot: recovered.producerSnapshot)
            if let snapshot = recovered.producerSnapshot, snapshot.endOffset == end, snapshot.matches(entries[...]) {
                producerSnapshotEnd = end
            }
        }
    }

    public var leaderEpoch: UInt64? { partition?.leaderEpoch }
    public var isLeader: Bool { role == .leader }

    /// The log end this replica may count as stored: with fsync `.always` only what is
    /// durable, otherwise what is written.
    var storedEnd: UInt64 { config.fsync == .always ? durableEnd : writtenEnd }

    // MARK: - Input

    public mutating func handle(_ input: ReplicaInput, now: Int64) -> [ReplicaEffect] {
        var out: [ReplicaEffect] = []
        handle(input, now: now, into: &out)
        return out
    }

    /// `handle`, appending the effects to `out`: a driver that keeps one buffer saves the
    /// allocations of a fresh array per input (the simulator feeds hundreds of thousands).
    public mutating func handle(_ input: ReplicaInput, now: Int64, into out: inout [ReplicaEffect]) {
        switch input {
        case .metadataChanged(let state):
            applyMetadata(state, now: now, &out)
        case .publish(let requestID, let payload, let ack):
            publish(requestID: requestID, payload: payload, ack: ack ?? config.ackPolicy, now: now, &out)
        case .consume(let requestID, let offset, let maxEntries):
            if role == .leader {
                // Committed only: a consumer must never see an entry that a failover could undo.
                let end = min(highWatermark, offset &+ UInt64(max(0, maxEntries)), logEndOffset)
                let entries = offset < end ? Array(log[Int(offset)..<Int(end)]) : []
                out.append(.deliver(requestID: requestID, entries: entries, highWatermark: highWatermark))
            } else {
                out.append(.reject(requestID: requestID, reason: .notLeader(leader: partition?.leader)))
            }
        case .receive(let message):
            guard message.stream == stream, message.from != brokerID else { break }
            switch message {
            case .fetchRequest(let request): answerFetch(request, now: now, &out)
            case .fetchResponse(let response): handleFetchResponse(response, now: now, &out)
            case .epochEndOffsetRequest(let request): answerEpochEndOffset(request, &out)
            case .epochEndOffsetResponse(let response): handleEpochEndOffsetResponse(response, now: now, &out)
            }
        case .tick:
            break
        case .appendCompleted(let upTo):
            guard let op = pendingWrites.first, op.end == upTo else { break }
            pendingWrites.remove(at: 0)  // a short array; `removeFirst()` took the generic replaceSubrange path
            if op.generation == diskGeneration { writtenEnd = max(writtenEnd, min(op.end, logEndOffset)) }
        case .fsyncCompleted(let upTo):
            guard let op = pendingFsyncs.first, op.end == upTo else { break }
            pendingFsyncs.remove(at: 0)
            if op.generation == diskGeneration {
                durableEnd = max(durableEnd, min(op.end, logEndOffset))
                writtenEnd = max(writtenEnd, durableEnd)
            }
        case .restart(let recovered):
            self = StreamReplica(stream: stream, config: config, recovered: recovered)
            session = recovered.session
        }
        housekeeping(now: now, &out)
    }

    // MARK: - Metadata

    private mutating func applyMetadata(_ state: PartitionState, now: Int64, _ out: inout [ReplicaEffect]) {
        guard state.name == stream else { return }
        let previous = partition
        if let previous, state.epoch <= previous.epoch { return }
        partition = state
        proposals.removeAll()

        // After a restart, metadata (replayed from the Raft log, or simply not yet updated)
        // may name this replica as leader in an epoch it led before the crash. Followers may
        // hold entries of that epoch that this replica lost, and writing new entries under the
        // same (offset, epoch) would be invisible to epoch-based truncation. So a restarted
        // replica leads only in a leadership bound to its own session: otherwise it asks for
        // a fresh epoch (`MetadataCommand.renewLeaderEpoch`) and stays offline meanwhile.
        // Costs one metadata round trip per leadership after a restart.
        if session != 0, state.leader == brokerID, state.leaderSession != session {
            if epochToRenew != state.leaderEpoch { lastRenewalRequestAt = nil }
            epochToRenew = state.leaderEpoch
            becomeOffline(&out)
            requestRenewal(now: now, &out)
            return
        }
        epochToRenew = nil

        guard state.replicas.contains(brokerID) else {
            becomeOffline(&out)
            return
        }
        let leadershipChanged =
            previous == nil || previous!.leaderEpoch != state.leaderEpoch || previous!.leader != state.leader
        if !leadershipChanged {
            return  // ISR change only: housekeeping recomputes the high-water mark.
        }
        switch state.leader {
        case .some(let leader) where leader == brokerID: becomeLeader(now: now, &out)
        case .some(let leader): becomeFollower(of: leader, now: now, &out)
        case .none: becomeOffline(&out)
        }
    }

    /// When no replica could take over (every ISR member had failed, unclean election off),
    /// the stream has no leader and the failed members stay in the ISR. One of them coming
    /// back claims the leadership — it holds every committed entry — as Kafka's controller
    /// elects the first ISR member to return. Whoever's claim commits first wins; the others
    /// are stale by then.
    private mutating func claimVacantLeadership(now: Int64, _ out: inout [ReplicaEffect]) {
        guard let state = partition, state.leader == nil, state.isr.contains(brokerID) else { return }
        if let last = lastRenewalRequestAt, now - last < config.requestTimeoutNanos { return }
        lastRenewalRequestAt = now
        out.append(.propose(.changeLeader(stream: stream, newLeader: brokerID, expectedLeaderEpoch: state.leaderEpoch)))
    }

    private mutating func requestRenewal(now: Int64, _ out: inout [ReplicaEffect]) {
        guard let renew = epochToRenew else { return }
        if let last = lastRenewalRequestAt, now - last < config.requestTimeoutNanos { return }
        lastRenewalRequestAt = now
        out.append(.propose(.renewLeaderEpoch(stream: stream, leader: brokerID, leaderEpoch: renew, session: session)))
    }

    private mutating func abandonPendingPublishes(_ out: inout [ReplicaEffect]) {
        for pending in pendingPublishes[pendingHead...] {
            out.append(.reject(requestID: pending.requestID, reason: .leadershipChanged))
        }
        pendingPublishes.removeAll()
        pendingHead = 0
    }

    private mutating func becomeOffline(_ out: inout [ReplicaEffect]) {
        abandonPendingPublishes(&out)
        role = .offline
        releaseParkedFetches(.notLeader, &out)
        followers.removeAll()
        requestInFlightSince = nil
        inFlightEpochRequest = nil
    }

    private mutating func becomeLeader(now: Int64, _ out: inout [ReplicaEffect]) {
        guard let state = partition else { return }
        abandonPendingPublishes(&out)
        role = .leader
        releaseParkedFetches(.fencedLeaderEpoch, &out)  // held in the previous leader epoch
        requestInFlightSince = nil
        inFlightEpochRequest = nil
        // KIP-101: the new leader records where its epoch starts, even before it writes
        // anything, so that followers asking about older epochs get the right end offset.
        leaderEpochStartOffset = logEndOffset
        if epochCache.prepareAppend(epoch: state.leaderEpoch, at: logEndOffset) == true {
            epochCacheDirty = true
        }
        // Followers get a full lag period from now before they can be dropped from the ISR.
        followers = state.replicas.filter { $0 != brokerID }.map { FollowerProgress(id: $0, lastCaughtUpAt: now) }
    }

    private mutating func becomeFollower(of leader: BrokerID, now: Int64, _ out: inout [ReplicaEffect]) {
        abandonPendingPublishes(&out)
        releaseParkedFetches(.notLeader, &out)
        followers.removeAll()
        lastLeaderContact = now
        lastFailureReportAt = nil
        requestInFlightSince = nil
        inFlightEpochRequest = nil
        nextRequestAt = now
        switch config.truncation {
        case .highWatermark:
            // Pre-KIP-101: whatever is above the local high-water mark is presumed
            // uncommitted. The local HW lags the leader's by a fetch round trip, so this can
            // drop entries that were committed and acknowledged (KIP-101, scenario 1).
            truncate(to: highWatermark, &out)
            role = .follower(leader: leader, phase: .fetching)
        case .leaderEpoch, .leaderEpochV1:
            role = .follower(leader: leader, phase: epochCache.latestEpoch == nil ? .fetching : .truncating)
        }
    }

    // MARK: - Leader

    private mutating func publish(requestID: UInt64, payload: LogPayload, ack: AckPolicy, now: Int64, _ out: inout [ReplicaEffect]) {
        guard role == .leader, let leaderEpoch = partition?.leaderEpoch else {
            out.append(.reject(requestID: requestID, reason: .notLeader(leader: partition?.leader)))
            return
        }
        // Kafka's NotEnoughReplicas: refuse before appending, so a refused publish never
        // shows up later. `.leader`/`.none` publishes are appended but not committed: the
        // high-water mark stays put until the ISR is large enough again.
        if ack == .all, let isrCount = partition?.isr.count, let minISR = partition?.minISR, isrCount < minISR {
            out.append(.reject(requestID: requestID, reason: .notEnoughReplicas))
            return
        }
        if config.idempotence {
            switch producers.verdict(for: payload, now: now) {
            case .append:
                break
            case .duplicate(let offset):
                answerDuplicate(requestID: requestID, storedAt: offset, ack: ack, &out)
                return
            case .duplicateOutsideWindow:
                // Older than the offsets the table keeps: a producer that kept sending while one
                // early message went unanswered (its ack lost, its retry behind a partition). The
                // log is in memory, so look the entry up — rare, and bounded.
                if let offset = storedOffset(of: payload) {
                    answerDuplicate(requestID: requestID, storedAt: offset, ack: ack, &out)
                } else {
                    duplicatesSuppressed += 1
                    out.append(.reject(requestID: requestID, reason: .duplicateSequence))
                }
                return
            case .outOfOrder(let expected):
                out.append(.reject(requestID: requestID, reason: .outOfOrderSequence(expected: expected)))
                return
            case .fenced(let current):
                out.append(.reject(requestID: requestID, reason: .fencedProducer(currentEpoch: current)))
                return
            }
        }
        let offset = logEndOffset
        guard append([LogEntry(offset: offset, leaderEpoch: leaderEpoch, payload: payload)], now: now, &out) else {
            out.append(.reject(requestID: requestID, reason: .leadershipChanged))
            return
        }
        if ack == .none {
            out.append(.ack(requestID: requestID, offset: offset))
        } else {
            pendingPublishes.append(PendingPublish(requestID: requestID, offset: offset, ack: ack))
        }
    }

    /// A re-send of the entry at `offset` (stored already, perhaps by an earlier leader): answered
    /// with that offset once the ack policy's condition holds for it. Queued behind earlier
    /// publishes, so acks still leave in publish order.
    private mutating func answerDuplicate(requestID: UInt64, storedAt offset: UInt64, ack: AckPolicy, _ out: inout [ReplicaEffect]) {
        duplicatesSuppressed += 1
        if ack == .none {
            out.append(.ack(requestID: requestID, offset: offset))
        } else {
            pendingPublishes.append(PendingPublish(requestID: requestID, offset: offset, ack: ack))
        }
    }

    /// The offset of the entry `payload` (producer, epoch, sequence) re-sends, searched back from
    /// the log end over at most `maxDuplicateSearch` entries. A producer's sequences grow along
    /// the log within an epoch, so the search stops at its first older sequence.
    private func storedOffset(of payload: LogPayload) -> UInt64? {
        var index = log.count - 1
        let stop = max(0, log.count - Self.maxDuplicateSearch)
        while index >= stop {
            let stored = log[index].payload
            if stored.producerID == payload.producerID {
                if stored.producerEpoch != payload.producerEpoch || stored.sequence < payload.sequence { return nil }
                if stored.sequence == payload.sequence { return UInt64(index) }
            }
            index -= 1
        }
        return nil
    }

    /// Bounds the search for a re-sent message older than the producer table's window (a few
    /// milliseconds of scanning at most, and only for such re-sends).
    static let maxDuplicateSearch = 1 << 20

    private func respondFetch(to request: FetchRequest, error: ReplicationError) -> ReplicaEffect {
        .send(
            to: request.from,
            .fetchResponse(
                FetchResponse(
                    stream: stream, from: brokerID, leaderEpoch: partition?.leaderEpoch ?? 0,
                    fetchOffset: request.fetchOffset, highWatermark: highWatermark, logEndOffset: logEndOffset,
                    entries: [], error: error)))
    }

    /// KIP-320 fencing: a request must carry exactly the responder's leader epoch.
    private func fencingError(requestEpoch: UInt64, from: BrokerID) -> ReplicationError? {
        guard role == .leader, let leaderEpoch = partition?.leaderEpoch else { return .notLeader }
        if requestEpoch < leaderEpoch { return .fencedLeaderEpoch }
        if requestEpoch > leaderEpoch { return .unknownLeaderEpoch }
        if partition?.replicas.contains(from) != true { return .notAReplica }
        return nil
    }

    private mutating func answerFetch(_ request: FetchRequest, now: Int64, _ out: inout [ReplicaEffect]) {
        // A newer fetch from the same follower replaces one still held (its answer would be stale).
        if !parkedFetches.isEmpty { parkedFetches.removeAll { $0.request.from == request.from } }
        if let error = fencingError(requestEpoch: request.leaderEpoch, from: request.from) {
            out.append(respondFetch(to: request, error: error))
            return
        }
        // The two fields needed are read in place: copying the partition state out (and
        // destroying the copy through its generic value witness) cost 0.2% of a broker run.
        guard let leaderEpoch = partition?.leaderEpoch, let index = followers.firstIndex(where: { $0.id == request.from }) else {
            out.append(respondFetch(to: request, error: .notAReplica))
            return
        }
        let wasInISR = partition?.isr.contains(request.from) == true
        let leaderEnd = logEndOffset
        guard request.fetchOffset <= leaderEnd else {
            out.append(respondFetch(to: request, error: .offsetOutOfRange))
            return
        }
        // Kafka's lag rule (KAFKA-1546, replica.lag.time.max.ms): a follower is caught up when
        // it fetches from the leader's log end, or from where the log ended at its previous
        // fetch (then it was caught up as of that previous fetch).
        var progress = followers[index]
        if request.fetchOffset >= leaderEnd {
            progress.lastCaughtUpAt = now
        } else if let last = progress.lastFetchAt, request.fetchOffset >= progress.leaderEndAtLastFetch {
            progress.lastCaughtUpAt = max(progress.lastCaughtUpAt, last)
        }
        progress.lastFetchAt = now
        progress.leaderEndAtLastFetch = leaderEnd
        progress.logEndOffset = request.fetchOffset
        followers[index] = progress

        advanceHighWatermark(&out)

        // Re-admit a follower once it has caught up with the high-water mark and holds
        // everything of this leader epoch's predecessors (Kafka requires both, so that an ISR
        // member never lacks a committed entry).
        if !wasInISR, request.fetchOffset >= highWatermark,
            request.fetchOffset >= leaderEpochStartOffset
        {
            propose(.expand, replica: request.from, now: now, &out)
        }

        // Long poll: nothing to send and nothing the follower does not know yet (no entries, no
        // high-water-mark advance) — hold the fetch until there is, as Kafka's fetch wait does.
        if config.fetchWaitNanos > 0, request.fetchOffset == leaderEnd,
            followers[index].highWatermarkSent == highWatermark
        {
            parkedFetches.append(ParkedFetch(request: request, deadline: now + config.fetchWaitNanos))
            return
        }
        out.append(fetchResponse(to: request, follower: index, leaderEpoch: leaderEpoch))
    }

    /// The answer to `request` with what the log holds from its offset on (bounded by
    /// `maxFetchBatch`/`maxFetchBytes`) and the current high-water mark.
    private mutating func fetchResponse(to request: FetchRequest, follower index: Int, leaderEpoch: UInt64) -> ReplicaEffect {
        let leaderEnd = logEndOffset
        var end = min(leaderEnd, request.fetchOffset + UInt64(config.maxFetchBatch))
        if config.maxFetchBytes < .max, request.fetchOffset < end {
            var budget = config.maxFetchBytes
            var cut = request.fetchOffset
            while cut < end, cut == request.fetchOffset || budget >= log[Int(cut)].payload.bytes {
                budget -= log[Int(cut)].payload.bytes
                cut += 1
            }
            end = cut
        }
        let entries = Array(log[Int(request.fetchOffset)..<Int(end)])
        followers[index].highWatermarkSent = highWatermark
        return .send(
            to: request.from,
            .fetchResponse(
                FetchResponse(
                    stream: stream, from: brokerID, leaderEpoch: leaderEpoch,
                    fetchOffset: request.fetchOffset, highWatermark: highWatermark,
                    logEndOffset: leaderEnd, entries: entries, error: nil)))
    }

    /// Answers the held fetches that now have something to carry (entries appended since, a
    /// high-water-mark advance) or whose wait is over. Runs after every input, so a publish's
    /// entries leave for the followers right behind the leader's own append — before its fsync,
    /// as Kafka's followers fetch before the leader flushes; the commit rule still counts the
    /// leader only as far as `storedEnd`.
    private mutating func answerParkedFetches(now: Int64, _ out: inout [ReplicaEffect]) {
        guard !parkedFetches.isEmpty, let leaderEpoch = partition?.leaderEpoch else { return }
        var kept: [ParkedFetch] = []
        for parked in parkedFetches {
            guard let index = followers.firstIndex(where: { $0.id == parked.request.from }) else { continue }
            // Held only while the follower had the leader's whole log: it was caught up until
            // this input (a parked fetch must not look like a lagging follower, KAFKA-1546).
            followers[index].lastCaughtUpAt = now
            let hasNews = logEndOffset > parked.request.fetchOffset
                || followers[index].highWatermarkSent != highWatermark
            guard hasNews || now >= parked.deadline else {
                kept.append(parked)
                continue
            }
            followers[index].lastFetchAt = now
            followers[index].leaderEndAtLastFetch = logEndOffset
            out.append(fetchResponse(to: parked.request, follower: index, leaderEpoch: leaderEpoch))
        }
        parkedFetches = kept
    }

    /// On a leadership change held fetches are answered with `error`, so a follower that has
    /// not heard of the change yet backs off instead of waiting out its fetch timeout.
    private mutating func releaseParkedFetches(_ error: ReplicationError, _ out: inout [ReplicaEffect]) {
        guard !parkedFetches.isEmpty else { return }
        for parked in parkedFetches {
            out.append(respondFetch(to: parked.request, error: error))
        }
        parkedFetches.removeAll()
    }

    private func answerEpochEndOffset(_ request: EpochEndOffsetRequest, _ out: inout [ReplicaEffect]) {
        var response = EpochEndOffsetResponse(
            stream: stream, from: brokerID, leaderEpoch: partition?.leaderEpoch ?? 0,
            requestedEpoch: request.requestedEpoch, epoch: nil, endOffset: 0, error: nil)
        if let error = fencingError(requestEpoch: request.leaderEpoch, from: request.from) {
            response.error = error
        } else {
            switch request.version {
            case .v1:
                // KIP-101: a bare offset, the start of the first epoch after the requested
                // one. An epoch the leader never saw is indistinguishable from one it saw.
                response.endOffset = epochCache.firstOffsetAfterEpoch(request.requestedEpoch, logEndOffset: logEndOffset)
            case .v2:
                // KIP-279: also say which epoch the offset ends, so the follower can check it
                // has that epoch too.
                if let found = epochCache.endOffset(forEpoch: request.requestedEpoch, logEndOffset: logEndOffset) {
                    response.epoch = found.epoch
                    response.endOffset = found.endOffset
                } else {
                    response.endOffset = epochCache.firstOffsetAfterEpoch(request.requestedEpoch, logEndOffset: logEndOffset)
                }
            }
        }
        out.append(.send(to: request.from, .epochEndOffsetResponse(response)))
    }

    /// HW = min over the ISR of each member's stored log end (the leader's own counted only
    /// as far as `storedEnd`); never decreases; frozen while |ISR| < minISR.
    private mutating func advanceHighWatermark(_ out: inout [ReplicaEffect]) {
        // Fields are read in place, through optional chaining (`partition!` copies the whole
        // state too): copying the partition state out (names, replica lists) and destroying the
        // copy through its generic value witness cost 2% of a broker run.
        guard role == .leader, let minISR = partition?.minISR, let isr = partition?.isr else { return }
        if isr.count >= minISR {
            var candidate = storedEnd
            for member in isr where member != brokerID {
                candidate = min(candidate, followers.first(where: { $0.id == member })?.logEndOffset ?? 0)
            }
            // Maximal ISR (KIP-497/KIP-841): a replica whose expansion is proposed may join the
            // ISR at any moment, so the HW must not pass it meanwhile. Proposals are dropped on
            // every metadata change, and the metadata rejects expansions decided before one.
            for proposal in proposals where proposal.kind == .expand {
                candidate = min(candidate, followers.first(where: { $0.id == proposal.replica })?.logEndOffset ?? 0)
            }
            if candidate > highWatermark { highWatermark = candidate }
        }
        while pendingHead < pendingPublishes.count {
            let pending = pendingPublishes[pendingHead]
            let done: Bool
            switch pending.ack {
            case .none, .leader: done = storedEnd > pending.offset
            case .all: done = highWatermark > pending.offset
            }
            guard done else { break }
            out.append(.ack(requestID: pending.requestID, offset: pending.offset))
            pendingHead += 1
        }
        if pendingHead > 0 && pendingHead == pendingPublishes.count {
            pendingPublishes.removeAll(keepingCapacity: true)
            pendingHead = 0
        } else if pendingHead > 1024 && pendingHead * 2 > pendingPublishes.count {
            pendingPublishes.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    /// Proposes an ISR change unless the same one was proposed within the last lag period
    /// (proposals can be lost or rejected; metadata changes clear the record).
    private mutating func propose(_ kind: ProposalKind, replica: BrokerID, now: Int64, _ out: inout [ReplicaEffect]) {
        guard let state = partition else { return }
        if let record = proposals.first(where: { $0.kind == kind && $0.replica == replica }),
            now - record.at < config.replicaLagMaxNanos
        {
            return
        }
        proposals.removeAll { $0.kind == kind && $0.replica == replica }
        proposals.append(ProposalRecord(kind: kind, replica: replica, at: now))
        switch kind {
        case .shrink:
            out.append(.propose(.shrinkISR(stream: stream, replica: replica, leader: brokerID, leaderEpoch: state.leaderEpoch)))
        case .expand:
            out.append(.propose(.expandISR(stream: stream, replica: replica, leader: brokerID, leaderEpoch: state.leaderEpoch,
                                           partitionEpoch: state.epoch)))
        }
    }

    // MARK: - Follower

    private mutating func handleFetchResponse(_ response: FetchResponse, now: Int64, _ out: inout [ReplicaEffect]) {
        guard case .follower(let leader, .fetching) = role, let leaderEpoch = partition?.leaderEpoch, response.from == leader,
            requestInFlightSince != nil, response.fetchOffset == logEndOffset
        else { return }
        if let error = response.error {
            requestInFlightSince = nil
            switch error {
            case .offsetOutOfRange:
                // Pre-KIP-101 Kafka's answer to a follower ahead of its leader: cut back to
                // the leader's log end. Only diverged logs get here.
                lastLeaderContact = now
                truncate(to: min(logEndOffset, response.logEndOffset), &out)
                nextRequestAt = now
            case .fencedLeaderEpoch, .unknownLeaderEpoch, .notLeader, .notAReplica:
                // Someone's metadata is behind; it catches up through the metadata group.
                nextRequestAt = now + config.fetchIntervalNanos
            }
            return
        }
        guard response.leaderEpoch == leaderEpoch else { return }
        let sentAt = requestInFlightSince ?? now
        requestInFlightSince = nil
        lastLeaderContact = now
        if !response.entries.isEmpty {
            _ = append(response.entries, now: now, &out)
        }
        // A follower's HW is the leader's, capped by what it holds itself.
        let followerHW = min(response.highWatermark, logEndOffset)
        let highWatermarkMoved = followerHW > highWatermark
        if highWatermarkMoved { highWatermark = followerHW }
        // An empty answer that a long-polling leader held (its wait ran out, or it brought a
        // high-water-mark advance) is no reason to pause: fetch again at once. Any other empty
        // answer (a leader that does not hold fetches) waits a fetch interval, as before.
        let heldByLeader = config.fetchWaitNanos > 0 && (highWatermarkMoved || now - sentAt >= config.fetchWaitNanos)
        nextRequestAt = response.entries.isEmpty && !heldByLeader ? now + config.fetchIntervalNanos : now
    }

    private mutating func handleEpochEndOffsetResponse(
        _ response: EpochEndOffsetResponse, now: Int64, _ out: inout [ReplicaEffect]
    ) {
        guard case .follower(let leader, .truncating) = role, let state = partition, response.from == leader,
            requestInFlightSince != nil, inFlightEpochRequest == response.requestedEpoch
        else { return }
        requestInFlightSince = nil
        inFlightEpochRequest = nil
        if response.error != nil || response.leaderEpoch != state.leaderEpoch {
            nextRequestAt = now + config.fetchIntervalNanos
            return
        }
        lastLeaderContact = now
        var done = true
        switch config.truncation {
        case .highWatermark, .leaderEpochV1:
            // KIP-101: trust the bare offset. After back-to-back leader changes the leader
            // may never have seen our latest epoch, and its "end" can lie beyond where our
            // logs part (the divergence KIP-279 describes).
            truncate(to: min(response.endOffset, logEndOffset), &out)
        case .leaderEpoch:
            if let leaderEpoch = response.epoch {
                if let mine = epochCache.endOffset(forEpoch: leaderEpoch, logEndOffset: logEndOffset) {
                    if mine.epoch == leaderEpoch {
                        // Both know this epoch: the logs agree up to where the shorter one ends it.
                        truncate(to: min(response.endOffset, mine.endOffset), &out)
                    } else {
                        // KIP-279: we never saw the leader's epoch. Cut back to the end of our
                        // largest epoch below it and ask again about that one.
                        truncate(to: mine.endOffset, &out)
                        done = epochCache.latestEpoch == nil
                    }
                } else {
                    // All our epochs are newer than anything the leader has: none of our
                    // entries can be on the leader.
                    truncate(to: min(response.endOffset, epochCache.entries.first?.startOffset ?? 0), &out)
                }
            } else {
                truncate(to: min(response.endOffset, logEndOffset), &out)
            }
        }
        nextRequestAt = now
        if done { role = .follower(leader: leader, phase: .fetching) }
    }

    // MARK: - Log

    /// Entries below this offset have had their `payload.data` released.
    public private(set) var payloadDataReleasedBelow: UInt64 = 0

    /// Lets go of the message bytes (`payload.data`) of entries below `offset`, keeping their
    /// identity, epoch and size. A live driver does this for entries already in its log file,
    /// so a long run does not hold every message in memory; entries this replica later hands
    /// out (fetch responses, deliveries) then come with empty `data` below that offset, and
    /// the driver fills them in from its file. Only entries already written may be released.
    public mutating func releasePayloadData(below offset: UInt64) {
        let end = min(offset, writtenEnd, logEndOffset)
        guard end > payloadDataReleasedBelow else { return }
        for i in Int(payloadDataReleasedBelow)..<Int(end) where !log[i].payload.data.isEmpty {
            log[i].payload.data = []
        }
        payloadDataReleasedBelow = end
    }

    /// Appends contiguous entries at the log end, keeping the epoch cache in step. Returns
    /// false (appending nothing more) if an entry is out of place or its epoch goes backwards.
    @discardableResult
    private mutating func append(_ entries: [LogEntry], now: Int64, _ out: inout [ReplicaEffect]) -> Bool {
        var accepted = 0
        // Read in place, copied once (into the log): binding each entry (`for entry in`)
        // copied it through its value witness before the append copied it again.
        for index in entries.indices {
            guard entries[index].offset == logEndOffset,
                let changed = epochCache.prepareAppend(epoch: entries[index].leaderEpoch, at: entries[index].offset)
            else { break }
            if changed { epochCacheDirty = true }
            log.append(entries[index])
            accepted += 1
            if config.idempotence {
                producers.record(producerID: entries[index].payload.producerID, producerEpoch: entries[index].payload.producerEpoch,
                                 sequence: entries[index].payload.sequence, offset: entries[index].offset, now: now)
            }
        }
        guard accepted > 0 else { return false }
        // Usually all of them: hand on the caller's array rather than build a copy entry by
        // entry (an allocation per append, 1.7% of a simulated swarm seed).
        out.append(.appendToLog(accepted == entries.count ? entries : Array(entries[..<accepted])))
        pendingWrites.append(DiskOperation(end: logEndOffset, generation: diskGeneration))
        needsFsync = true
        return accepted == entries.count
    }

    private mutating func truncate(to offset: UInt64, _ out: inout [ReplicaEffect]) {
        guard offset < logEndOffset else { return }
        log.removeSubrange(Int(offset)...)
        payloadDataReleasedBelow = min(payloadDataReleasedBelow, offset)
        out.append(.truncateLog(from: offset))
        if epochCache.truncateFromEnd(offset) { epochCacheDirty = true }
        writtenEnd = min(writtenEnd, offset)
        durableEnd = min(durableEnd, offset)
        highWatermark = min(highWatermark, offset)
        if config.idempotence {
            // The truncated entries' sequences are no longer stored: a re-send must be appended.
            // Rare (leader changes with divergent tails), so a replay of the log is affordable.
            producers.rebuild(from: log[...])
            producerSnapshotEnd = nil
        }
        // Completions of operations issued before this truncation say nothing about what
        // is now at those offsets.
        diskGeneration += 1
        needsFsync = true
    }

    private mutating func issueFsync(now: Int64, _ out: inout [ReplicaEffect]) {
        out.append(.fsync(upTo: logEndOffset))
        pendingFsyncs.append(DiskOperation(end: logEndOffset, generation: diskGeneration))
        needsFsync = false
        lastFsyncAt = now
    }

    // MARK: - Timers and deferred work

    /// Runs after every input: flushes, checkpoints, commits, timers and requests.
    private mutating func housekeeping(now: Int64, _ out: inout [ReplicaEffect]) {
        if lastFsyncAt == nil { lastFsyncAt = now }
        if lastCheckpointAt == nil { lastCheckpointAt = now }

        switch config.fsync {
        case .always:
            // Also after a truncation alone: it must become durable (or a crash resurrects
            // the dropped entries), and a fsync that was in flight across the truncation no
            // longer counts, so without a new one `durableEnd` would stay short of the log
            // end and the follower would never fetch again (found by swarm.yaml, seed 81).
            if needsFsync { issueFsync(now: now, &out) }
        case .interval(let period):
            if needsFsync && now - lastFsyncAt! >= period { issueFsync(now: now, &out) }
        case .never:
            break
        }
        if epochCacheDirty {
            out.append(.persistEpochCache(epochCache.entries))
            epochCacheDirty = false
        }

        switch role {
        case .offline:
            requestRenewal(now: now, &out)  // proposals can be lost: ask again until answered
            claimVacantLeadership(now: now, &out)
        case .leader:
            advanceHighWatermark(&out)
            answerParkedFetches(now: now, &out)
            leaderTimers(now: now, &out)
        case .follower(let leader, let phase):
            followerTimers(leader: leader, phase: phase, now: now, &out)
        }

        if highWatermark != checkpointedHighWatermark
            && now - lastCheckpointAt! >= config.hwCheckpointIntervalNanos
        {
            out.append(.checkpointHighWatermark(highWatermark))
            checkpointedHighWatermark = highWatermark
            lastCheckpointAt = now
            snapshotProducers(now: now, &out)
        }
    }

    /// With the HW checkpoint, at most every `producerSnapshotIntervalNanos` and only when the
    /// log moved: the producer table as of the log end, so a restart need not replay the log.
    private mutating func snapshotProducers(now: Int64, _ out: inout [ReplicaEffect]) {
        guard config.idempotence, producerSnapshotEnd != logEndOffset,
            lastProducerSnapshotAt.map({ now - $0 >= config.producerSnapshotIntervalNanos }) ?? true
        else { return }
        lastProducerSnapshotAt = now
        producerSnapshotEnd = logEndOffset
        out.append(.persistProducerSnapshot(producers.snapshot(endOffset: logEndOffset, lastEntryEpoch: log.last?.leaderEpoch ?? 0)))
    }

    private mutating func leaderTimers(now: Int64, _ out: inout [ReplicaEffect]) {
        guard let isr = partition?.isr else { return }
        for member in isr where member != brokerID {
            guard let progress = followers.first(where: { $0.id == member }) else { continue }
            if now - progress.lastCaughtUpAt > config.replicaLagMaxNanos {
                propose(.shrink, replica: member, now: now, &out)
            }
        }
    }

    private mutating func followerTimers(leader: BrokerID, phase: FollowerPhase, now: Int64, _ out: inout [ReplicaEffect]) {
        guard let leaderEpoch = partition?.leaderEpoch else { return }
        if now - lastLeaderContact >= config.leaderTimeoutNanos,
            lastFailureReportAt.map({ now - $0 >= config.leaderTimeoutNanos }) ?? true
        {
            lastFailureReportAt = now
            out.append(
                .propose(
                    .reportLeaderFailure(
                        stream: stream, witness: brokerID, leader: leader, leaderEpoch: leaderEpoch)))
        }
        // A fetch may be held by the leader for `fetchWaitNanos` on top of the round trip.
        let timeout = phase == .fetching ? config.fetchTimeoutNanos : config.requestTimeoutNanos
        let timedOut = requestInFlightSince.map { now - $0 >= timeout } ?? false
        switch phase {
        case .truncating:
            guard let latest = epochCache.latestEpoch else {
                role = .follower(leader: leader, phase: .fetching)
                followerTimers(leader: leader, phase: .fetching, now: now, &out)
                return
            }
            guard timedOut || (requestInFlightSince == nil && now >= nextRequestAt) else { return }
            requestInFlightSince = now
            inFlightEpochRequest = latest
            let version: EpochEndOffsetVersion = config.truncation == .leaderEpoch ? .v2 : .v1
            out.append(
                .send(
                    to: leader,
                    .epochEndOffsetRequest(
                        EpochEndOffsetRequest(
                            stream: stream, from: brokerID, version: version, requestedEpoch: latest,
                            leaderEpoch: leaderEpoch))))
        case .fetching:
            // One fetch at a time, and only once everything fetched so far is stored: the
            // fetch offset tells the leader what we hold, and it counts that towards its HW.
            let due = timedOut || (requestInFlightSince == nil && now >= nextRequestAt)
            guard due && storedEnd == logEndOffset else { return }
            requestInFlightSince = now
            out.append(
                .send(
                    to: leader,
                    .fetchRequest(
                        FetchRequest(
                            stream: stream, from: brokerID, fetchOffset: logEndOffset, leaderEpoch: leaderEpoch))))
        }
    }
}
