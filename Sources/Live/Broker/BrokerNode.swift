import Broker
import Foundation
import Logging
import LogStore
import NIOCore
import NIOPosix
import PeerWire
import Raft
import Replication
import Sampling

/// A live broker node: the SwiftNIO *driver* of `BrokerCore` (the metadata Raft node, the
/// metadata state machine and the stream replicas), the same sans-IO code the simulator drives.
/// It moves the cores' messages over TCP, carries out their disk effects on real files (on one
/// storage thread, with group commit), fires their timers from the monotonic clock and answers
/// clients. No protocol decision is made here.
///
/// Concurrency: everything of a node lives on one event loop (its listeners, its connections,
/// its timers); storage work hops to the storage thread and its completions hop back. So the
/// class is confined to `loop` and needs no locks — hence `@unchecked Sendable`.
public final class BrokerNode: @unchecked Sendable {
    public let config: BrokerNodeConfig
    public let loop: EventLoop
    let logger: Logger
    let metrics: BrokerMetrics
    let storage: NodeStore
    /// Test-only storage failpoints (nil unless the config enables them).
    public let failpoints: StorageFailpoints?
    private let storageThread: NIOThreadPool
    var core: BrokerCore
    private let started = NIODeadline.now()
    let incarnation: UInt64

    // Storage: operations asked for while a batch runs form the next batch (group commit).
    private var storageQueue = GroupCommit<StorageCompletion>()

    // Clients and peers (see BrokerNode+Clients.swift and PeerLinks.swift).
    var nextRequestID: UInt64 = 1
    var pendingPublishes: [UInt64: PendingPublish] = [:]
    var pendingFetches: [UInt64: PendingFetch] = [:]
    var pendingAdmin: [PendingAdmin] = []
    var peers: [Int: PeerLink] = [:]
    var dirtyChannels: [ObjectIdentifier: Channel] = [:]
    private var flushScheduled = false
    var ingestion: NATSIngestion?
    /// Listeners, and the connections they accepted (closed when the node stops).
    var channels: [Channel] = []
    private var acceptedChannels: [ObjectIdentifier: Channel] = [:]
    private var timers: [RepeatedTask] = []
    public private(set) var isStopped = false
    /// Called (on the loop) when the node stops itself after a storage failure; the server
    /// process exits so that its supervisor sees a crash.
    public var onFatalError: (@Sendable () -> Void)?

    enum StorageCompletion {
        case appended(stream: String, upTo: UInt64)
        case fsynced(stream: String, upTo: UInt64)
        case raftPersisted(RaftReady<MetadataCommand>)
        /// A `.read` finished: hand its entries on.
        case read(([LogEntry]) -> Void)
    }

    /// Monotonic nanoseconds since the node started: the cores' `now`.
    func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds - started.uptimeNanoseconds) }

    init(config: BrokerNodeConfig, loop: EventLoop, logger: Logger) throws {
        self.config = config
        self.loop = loop
        self.logger = logger
        metrics = BrokerMetrics(node: config.me.name)
        let root = URL(fileURLWithPath: config.dataDirectory)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        failpoints = config.failpoints.map { StorageFailpoints(config: $0, root: root.path) }
        storage = try NodeStorage.open(root: root, segmentBytes: config.segmentBytes, failpoints: failpoints)
        storageThread = NIOThreadPool(numberOfThreads: 1)
        storageThread.start()
        incarnation = try NodeStorage.nextIncarnation(root: root)

        let (hardState, entries) = try storage.recoverRaft()
        let raft = RaftNode<MetadataCommand>(
            config: RaftConfig(id: config.id, peers: config.members.map(\.id), electionTicks: config.electionTicks,
                               heartbeatTicks: config.heartbeatTicks, preVote: true, checkQuorum: true),
            restoring: hardState, log: entries, appliedIndex: 0,
            // Live mode needs no reproducibility; each start draws fresh election timeouts.
            rng: SeededGenerator(seed: UInt64.random(in: 1 ... .max)))
        var template = config.replica
        template.brokerID = BrokerID(UInt32(config.id))
        var names: [String] = []
        var replicas: [StreamReplica?] = []
        var restarts: [(String, RecoveredLog)] = []
        for name in try storage.storedStreams() {
            var recovered = try storage.recoverStream(name)
            // Replicas keep only the entries' identity after a restart; the message bytes are
            // read back from the log when sent.
            for i in recovered.entries.indices { recovered.entries[i].payload.data = [] }
            recovered.session = incarnation
            names.append(name)
            replicas.append(StreamReplica(stream: name, config: template))
            restarts.append((name, recovered))
        }
        core = BrokerCore(raft: raft, metadata: MetadataStateMachine(config: MetadataConfig()), streamNames: names,
                          replicas: replicas, newStreamConfig: template)
        logger.info("recovered", metadata: [
            "incarnation": "\(incarnation)", "raft_term": "\(hardState.term)", "raft_entries": "\(entries.count)",
            "streams": "\(names.joined(separator: ","))",
        ])
        // A replica that comes back from disk learns it restarted (it must not lead on in an
        // epoch it led before the crash); its start-up effects run once the loop runs.
        loop.execute { [self, restarts] in
            for (name, recovered) in restarts {
                if let stream = core.streamNames.firstIndex(of: name) {
                    metrics.recoveredEntries.increment(by: Int64(recovered.entries.count))
                    replicaInput(stream, .restart(recovered))
                }
            }
            drainRaft()
        }
    }

    /// Starts the protocol timers (after the listeners are bound).
    func startTimers() {
        let raftTick = TimeAmount.nanoseconds(config.raftTickNanos)
        timers.append(loop.scheduleRepeatedTask(initialDelay: raftTick, delay: raftTick) { [self] _ in
            core.raft.tick()
            drainRaft()
        })
        let replicaTick = TimeAmount.nanoseconds(config.replica.tickIntervalNanos)
        timers.append(loop.scheduleRepeatedTask(initialDelay: replicaTick, delay: replicaTick) { [self] _ in
            for stream in core.replicas.indices where core.replicas[stream] != nil {
                replicaInput(stream, .tick)
            }
            expireAdmin()
            releaseOldPayloads()
        })
    }

    // MARK: - Raft

    /// Hands the core's next Ready to storage (Figure 2: persist before answering anyone); once
    /// it is durable, `finish` sends, applies and advances (the core's Ready loop).
    func drainRaft() {
        guard !isStopped, let ready = core.nextReady() else { return }
        if BrokerCore.needsPersisting(ready) {
            enqueue(.raft(truncateFrom: ready.truncateFrom, entries: ready.entriesToPersist, hardState: ready.hardState),
                    completion: .raftPersisted(ready))
        } else {
            finish(ready)
        }
    }

    private func finish(_ ready: RaftReady<MetadataCommand>) {
        for message in ready.messages { sendPeer(message.to, .raft(message)) }
        let wasLeader = core.raft.role == .leader
        while let outputs = core.applyNextCommitted(now: now()) {
            for output in outputs { handle(output) }
        }
        core.advance()
        if wasLeader != (core.raft.role == .leader) {
            logger.info("metadata leadership", metadata: ["leader": "\(core.raft.role == .leader)", "term": "\(core.raft.term)"])
        }
        if !ready.committedEntries.isEmpty { answerAdmin() }
        drainRaft()
    }

    private func handle(_ output: BrokerCore.Output) {
        switch output {
        case .replicaCreated(let stream):
            enqueue(.openStream(name: core.streamNames[stream]))
        case .streamState(let stream, let state):
            logger.debug("stream state", metadata: [
                "stream": "\(state.name)", "leader": "\(state.leader.map { "\($0.rawValue)" } ?? "none")",
                "leader_epoch": "\(state.leaderEpoch)", "isr": "\(state.isr.map(\.rawValue))",
            ])
            ingestion?.streamChanged(stream: stream, state: state, leadsHere: state.leader == core.brokerID)
        case .replicaEffects(let stream, let effects):
            for effect in effects { carryOut(effect, stream: stream) }
        case .streamDeleted(let stream):
            let name = core.streamNames[stream]
            ingestion?.streamChanged(stream: stream, state: nil, leadsHere: false)
            failPending(stream: name, reason: "stream deleted")
            enqueue(.deleteStream(name: name))
            logger.info("stream deleted", metadata: ["stream": "\(name)"])
        }
    }

    /// Submits a metadata command where it belongs: the local Raft log, or the metadata leader.
    func propose(_ command: MetadataCommand) {
        switch core.route(command) {
        case .proposed: drainRaft()
        case .forward(let leader): sendPeer(leader, .proposal(command))
        case .dropped: break
        }
    }

    // MARK: - Replicas

    func replicaInput(_ stream: Int, _ input: ReplicaInput) {
        guard !isStopped, core.replicas.indices.contains(stream), core.replicas[stream] != nil else { return }
        let effects = core.replicas[stream]!.handle(input, now: now())
        for effect in effects { carryOut(effect, stream: stream) }
    }

    private func carryOut(_ effect: ReplicaEffect, stream: Int) {
        let name = core.streamNames[stream]
        switch effect {
        case .send(let to, .fetchResponse(let response)):
            withPayloads(response.entries, stream: stream) { [self] entries in
                var response = response
                response.entries = entries
                sendPeer(Int(to.rawValue), .replication(.fetchResponse(response)))
            }
        case .send(let to, let message):
            sendPeer(Int(to.rawValue), .replication(message))
        case .appendToLog(let entries):
            guard let last = entries.last else { return }
            metrics.appendedEntries.increment(by: Int64(entries.count))
            enqueue(.append(stream: name, entries), completion: .appended(stream: name, upTo: last.offset + 1))
        case .truncateLog(let from):
            metrics.truncations.increment()
            logger.info("truncate", metadata: ["stream": "\(name)", "from": "\(from)"])
            enqueue(.truncate(stream: name, from: from))
        case .fsync(let upTo):
            enqueue(.fsync(stream: name), completion: .fsynced(stream: name, upTo: upTo))
        case .checkpointHighWatermark(let hw):
            enqueue(.checkpointHighWatermark(stream: name, hw))
        case .persistEpochCache(let cache):
            enqueue(.persistEpochCache(stream: name, cache))
        case .persistProducerSnapshot(let snapshot):
            enqueue(.persistProducerSnapshot(stream: name, snapshot))
        case .ack(let requestID, let offset):
            acknowledge(requestID, offset: offset)
        case .deliver(let requestID, let entries, let highWatermark):
            withPayloads(entries, stream: stream) { [self] entries in
                deliver(requestID, entries: entries, highWatermark: highWatermark)
            }
        case .reject(let requestID, let reason):
            reject(requestID, reason: reason)
        case .propose(let command):
            propose(command)
        }
    }

    // MARK: - Storage

    private func enqueue(_ op: StorageOp, completion: StorageCompletion? = nil) {
        storageQueue.submit(op, completion: completion)
        runStorage()
    }

    /// Runs the next batch: on the storage thread, or — when it only appends to logs (no fsync,
    /// no file replaced or read: `NodeStorage.runsOnLoop`) — right here on the loop, since a
    /// `write` into the page cache costs less than the two thread hops. Either way the batch's
    /// completions come back as a later loop task, in order, never from inside the caller.
    private func runStorage() {
        guard !isStopped, let ops = storageQueue.nextBatch() else { return }
        let storage = self.storage
        if NodeStorage.runsOnLoop(ops) {
            metrics.storageBatchesOnLoop.increment()
            let result = Result { try storage.run(ops) }
            loop.execute { [self] in storageFinished(result) }
        } else {
            storageThread.runIfActive(eventLoop: loop) { try storage.run(ops) }.whenComplete { [self] in storageFinished($0) }
        }
    }

    private func storageFinished(_ result: Result<[[LogEntry]], Error>) {
        // Its completions wait in the queue, on the loop.
        let completions = storageQueue.finish()
        switch result {
        case .success(var reads):
            metrics.storageBatches.increment()
            for completion in completions {
                if case .read(let then) = completion {
                    then(reads.isEmpty ? [] : reads.removeFirst())
                } else {
                    complete(completion)
                }
            }
            runStorage()
        case .failure(let error):
            // A disk that refuses writes leaves no safe way on: the node stops, as a crash
            // would, and recovers from what reached the disk when it is restarted.
            logger.critical("storage failed; stopping the node", metadata: ["error": "\(error)"])
            stop()
            onFatalError?()
        }
    }

    private func complete(_ completion: StorageCompletion) {
        switch completion {
        case .appended(let name, let upTo):
            if let stream = core.streamNames.firstIndex(of: name) { replicaInput(stream, .appendCompleted(upTo: upTo)) }
        case .fsynced(let name, let upTo):
            if let stream = core.streamNames.firstIndex(of: name) { replicaInput(stream, .fsyncCompleted(upTo: upTo)) }
        case .raftPersisted(let ready):
            finish(ready)
        case .read(let then):
            then([])
        }
    }

    // MARK: - Message bytes

    /// Lets each replica drop the message bytes of entries older than its recent window (what
    /// followers at the tail fetch); older bytes are read back from the log file when needed.
    func releaseOldPayloads() {
        for stream in core.replicas.indices {
            guard let replica = core.replicas[stream], let last = replica.log.last else { continue }
            let keep = UInt64(max(16, config.payloadCacheBytes / max(64, last.payload.bytes)))
            let below = min(replica.highWatermark, replica.writtenEnd)
            if below > keep { core.replicas[stream]!.releasePayloadData(below: below - keep) }
        }
    }

    /// Calls `then` with `entries` whose released bytes have been read back from the file.
    func withPayloads(_ entries: [LogEntry], stream: Int, then: @escaping ([LogEntry]) -> Void) {
        guard let missing = entries.firstIndex(where: { $0.payload.data.count != $0.payload.bytes }) else { return then(entries) }
        let lastMissing = entries.lastIndex { $0.payload.data.count != $0.payload.bytes }!
        let from = entries[missing].offset
        let count = lastMissing - missing + 1
        metrics.payloadReads.increment(by: Int64(count))
        enqueue(.read(stream: core.streamNames[stream], from: from, count: count), completion: .read { read in
            var filled = entries
            for entry in read {
                let i = Int(entry.offset - entries[0].offset)
                // Same offset and epoch: the same entry (a truncation since would change the epoch or drop it).
                if filled.indices.contains(i), filled[i].offset == entry.offset, filled[i].leaderEpoch == entry.leaderEpoch {
                    filled[i].payload.data = entry.payload.data
                }
            }
            // Whatever could not be read back (truncated meanwhile) is not sent.
            if let gap = filled.firstIndex(where: { $0.payload.data.count != $0.payload.bytes }) {
                filled.removeSubrange(gap...)
            }
            then(filled)
        })
    }

    // MARK: - Output

    /// Queues bytes on a channel; everything queued in one event-loop turn is flushed together.
    func write(_ bytes: [UInt8], to channel: Channel) {
        guard channel.isActive else { return }
        channel.write(channel.allocator.buffer(bytes: bytes), promise: nil)
        dirtyChannels[ObjectIdentifier(channel)] = channel
        if !flushScheduled {
            flushScheduled = true
            loop.execute { [self] in
                flushScheduled = false
                let dirty = dirtyChannels
                dirtyChannels = [:]
                for channel in dirty.values { channel.flush() }
            }
        }
    }

    func accepted(_ channel: Channel) {
        if isStopped { channel.close(promise: nil) } else { acceptedChannels[ObjectIdentifier(channel)] = channel }
    }

    func closed(_ channel: Channel) {
        acceptedChannels[ObjectIdentifier(channel)] = nil
    }

    /// Stops timers, listeners and connections; queued storage work is abandoned (as in a crash:
    /// what matters is only what the disk already has).
    public func stop() {
        guard !isStopped else { return }
        isStopped = true
        for timer in timers { timer.cancel() }
        for channel in channels { channel.close(promise: nil) }
        for channel in acceptedChannels.values { channel.close(promise: nil) }
        acceptedChannels = [:]
        for link in peers.values { link.close() }
        ingestion?.close()
        try? storageThread.syncShutdownGracefully()
    }
}
