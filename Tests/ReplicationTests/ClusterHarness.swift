/// A tiny deterministic driver for scripted replication tests (etcd-style): N stream replicas
/// plus a `MetadataStateMachine`, a FIFO network that can isolate brokers, disks that keep a
/// volatile and a durable view, and crash/restart that keeps only what was fsynced and the
/// last checkpoints. Everything is ordered by sorted broker ids and FIFO queues.
import Replication
import XCTest

struct SimulatedDisk {
    var volatile: [LogEntry] = []
    var durable: [LogEntry] = []
    var highWatermarkCheckpoint: UInt64 = 0
    var epochCache: [EpochStart] = []
    var producerSnapshot: ProducerSnapshot?
    /// Completions held back while the disk is "slow" (`holdDisk`).
    var heldAppends: [UInt64] = []
    var heldFsyncs: [(snapshot: [LogEntry], upTo: UInt64)] = []
}

final class Cluster {
    let stream = "orders"
    let ids: [BrokerID]
    var now: Int64 = 0
    var metadata: MetadataStateMachine
    var raftIndex: UInt64 = 0
    var configs: [BrokerID: ReplicaConfig] = [:]
    var replicas: [BrokerID: StreamReplica] = [:]
    var disks: [BrokerID: SimulatedDisk] = [:]
    var down: Set<BrokerID> = []
    /// Messages from or to these brokers are dropped (in flight too).
    var isolated: Set<BrokerID> = []
    /// These brokers do not hear from the metadata group.
    var metadataCutOff: Set<BrokerID> = []
    /// Disk completions of these brokers wait for `releaseDisk`.
    var holdDisk: Set<BrokerID> = []
    var network: [(to: BrokerID, message: ReplicationMessage)] = []
    var inbox: [(to: BrokerID, input: ReplicaInput)] = []
    var acked: [UInt64: UInt64] = [:]
    var rejected: [UInt64: PublishRejection] = [:]
    var metadataHistory: [(MetadataCommand, MetadataApplyResult)] = []
    /// Every input and effect, for the determinism test and for debugging failures.
    var trace: [String] = []

    static let fetchInterval: Int64 = 10_000_000

    static func config(
        _ id: BrokerID, ackPolicy: AckPolicy = .all, truncation: TruncationMode = .leaderEpoch,
        fsync: FsyncPolicy = .always
    ) -> ReplicaConfig {
        ReplicaConfig(
            brokerID: id, ackPolicy: ackPolicy, truncation: truncation, fsync: fsync,
            replicaLagMaxNanos: 1_000_000_000, leaderTimeoutNanos: 2_000_000_000,
            fetchIntervalNanos: fetchInterval, requestTimeoutNanos: 50_000_000,
            hwCheckpointIntervalNanos: 0, maxFetchBatch: 100)
    }

    init(
        brokers: Int = 3, minISR: Int = 2, ackPolicy: AckPolicy = .all, truncation: TruncationMode = .leaderEpoch,
        fsync: FsyncPolicy = .always, metadataConfig: MetadataConfig = MetadataConfig()
    ) {
        ids = (1...brokers).map { BrokerID(UInt32($0)) }
        metadata = MetadataStateMachine(config: metadataConfig)
        for id in ids {
            configs[id] = Cluster.config(id, ackPolicy: ackPolicy, truncation: truncation, fsync: fsync)
            replicas[id] = StreamReplica(stream: stream, config: configs[id]!)
            disks[id] = SimulatedDisk()
        }
        let spec = StreamSpec(
            name: stream, subject: "orders.>", replicationFactor: brokers, minISR: minISR, replicas: ids)
        let result = propose(.createStream(spec))
        precondition(result.isAccepted, "createStream: \(result)")
        run()
    }

    // MARK: - Metadata

    var partition: PartitionState { metadata.stream(named: stream)! }
    var leader: BrokerID? { partition.leader }

    @discardableResult
    func propose(_ command: MetadataCommand) -> MetadataApplyResult {
        raftIndex += 1
        let result = metadata.apply(command, index: raftIndex)
        metadataHistory.append((command, result))
        trace.append("meta@\(raftIndex) \(command) -> \(result)")
        if case .accepted(.updated(let state)) = result {
            for id in ids where !down.contains(id) && !metadataCutOff.contains(id) {
                inbox.append((id, .metadataChanged(state)))
            }
        }
        return result
    }

    /// Delivers the current metadata to `id` (after a metadata partition heals).
    func deliverMetadata(to id: BrokerID) {
        metadataCutOff.remove(id)
        inbox.append((id, .metadataChanged(partition)))
        run()
    }

    // MARK: - Driving

    func input(_ id: BrokerID, _ input: ReplicaInput) {
        guard !down.contains(id), var replica = replicas[id] else { return }
        trace.append("t=\(now) \(id) <- \(input)")
        let effects = replica.handle(input, now: now)
        replicas[id] = replica
        for effect in effects { perform(effect, at: id) }
    }

    private func perform(_ effect: ReplicaEffect, at id: BrokerID) {
        trace.append("t=\(now) \(id) -> \(effect)")
        switch effect {
        case .send(let to, let message):
            if !isolated.contains(id) && !isolated.contains(to) { network.append((to, message)) }
        case .appendToLog(let entries):
            precondition(entries.first?.offset == UInt64(disks[id]!.volatile.count), "append out of place")
            disks[id]!.volatile.append(contentsOf: entries)
            let upTo = entries.last!.offset + 1
            if holdDisk.contains(id) { disks[id]!.heldAppends.append(upTo) } else { inbox.append((id, .appendCompleted(upTo: upTo))) }
        case .truncateLog(let from):
            disks[id]!.volatile.removeSubrange(Int(from)...)
        case .fsync(let upTo):
            if holdDisk.contains(id) {
                disks[id]!.heldFsyncs.append((disks[id]!.volatile, upTo))
            } else {
                disks[id]!.durable = disks[id]!.volatile
                inbox.append((id, .fsyncCompleted(upTo: upTo)))
            }
        case .checkpointHighWatermark(let hw):
            disks[id]!.highWatermarkCheckpoint = hw
        case .persistEpochCache(let cache):
            disks[id]!.epochCache = cache
        case .persistProducerSnapshot(let snapshot):
            disks[id]!.producerSnapshot = snapshot
        case .deliver:
            break  // the harness has no consumers
        case .ack(let requestID, let offset):
            precondition(acked[requestID] == nil, "double ack")
            acked[requestID] = offset
        case .reject(let requestID, let reason):
            rejected[requestID] = reason
        case .propose(let command):
            propose(command)
        }
    }

    /// Completes the held disk operations of `id`: appends first, then fsyncs.
    func releaseDisk(_ id: BrokerID, appends: Bool = true, fsyncs: Bool = true) {
        if appends {
            let held = disks[id]!.heldAppends
            disks[id]!.heldAppends = []
            for upTo in held { inbox.append((id, .appendCompleted(upTo: upTo))) }
        }
        if fsyncs {
            let held = disks[id]!.heldFsyncs
            disks[id]!.heldFsyncs = []
            for fsync in held {
                disks[id]!.durable = fsync.snapshot
                inbox.append((id, .fsyncCompleted(upTo: fsync.upTo)))
            }
        }
        run()
    }

    /// Processes local inputs first, then network messages one at a time (FIFO), until both
    /// queues are empty or `stop` holds.
    func run(includingNetwork: Bool = true, until stop: (() -> Bool)? = nil) {
        var steps = 0
        while true {
            if let stop, stop() { return }
            steps += 1
            precondition(steps < 1_000_000, "livelock")
            if !inbox.isEmpty {
                let (to, item) = inbox.removeFirst()
                input(to, item)
            } else if includingNetwork && !network.isEmpty {
                let (to, message) = network.removeFirst()
                if down.contains(to) || isolated.contains(to) || isolated.contains(message.from) { continue }
                input(to, .receive(message))
            } else {
                return
            }
        }
    }

    /// Advances virtual time in fetch-interval steps, ticking every live replica (sorted).
    func advance(by nanos: Int64, until stop: (() -> Bool)? = nil) {
        let end = now + nanos
        while now < end {
            if let stop, stop() { return }
            now = min(end, now + Cluster.fetchInterval)
            for id in ids where !down.contains(id) { inbox.append((id, .tick)) }
            run(until: stop)
        }
    }

    func publish(_ requestID: UInt64, to id: BrokerID? = nil) {
        input(id ?? leader!, .publish(requestID: requestID, payload: Cluster.payload(requestID)))
        run()
    }

    /// Message `sequence` of the scripts: each one its own producer, so scripts may publish any
    /// messages to any leader without idempotence refusing a sequence gap (`IdempotenceTests`
    /// script one producer's sequences).
    static func payload(_ sequence: UInt64) -> LogPayload {
        LogPayload(producerID: 1_000 + sequence, sequence: sequence, bytes: 100)
    }

    // MARK: - Faults

    /// Power loss: memory and everything not fsynced are gone.
    func crash(_ id: BrokerID) {
        trace.append("t=\(now) crash \(id)")
        down.insert(id)
        disks[id]!.volatile = disks[id]!.durable
        disks[id]!.heldAppends = []
        disks[id]!.heldFsyncs = []
        inbox.removeAll { $0.to == id }
        network.removeAll { $0.to == id }
    }

    /// Restarts from the durable disk, then hears the current metadata. Runs local inputs
    /// only, so the restarted replica's first requests are still in flight afterwards.
    func restart(_ id: BrokerID) {
        trace.append("t=\(now) restart \(id)")
        down.remove(id)
        let disk = disks[id]!
        input(
            id,
            .restart(
                RecoveredLog(
                    entries: disk.durable, highWatermarkCheckpoint: disk.highWatermarkCheckpoint,
                    epochCache: disk.epochCache, producerSnapshot: disk.producerSnapshot)))
        if !metadataCutOff.contains(id) { inbox.append((id, .metadataChanged(partition))) }
        run(includingNetwork: false)
    }

    // MARK: - Observations

    func replica(_ id: BrokerID) -> StreamReplica { replicas[id]! }
    func sequences(_ id: BrokerID) -> [UInt64] { replica(id).log.map(\.payload.sequence) }
    func holds(_ id: BrokerID, sequence: UInt64) -> Bool { sequences(id).contains(sequence) }

    /// Whether two logs hold different entries at some offset both have.
    func diverged(_ a: BrokerID, _ b: BrokerID) -> Bool {
        zip(replica(a).log, replica(b).log).contains { $0 != $1 }
    }
}
