import Broker
import Checkers
import Clients
import LogStore
import Raft
import Replication
import Scenario
import SimCore
import Stats

/// A message between simulated processes of the broker model. Bodies are not plain values,
/// so they live in a slot table and events carry only the slot number.
enum BrokerMessage: Sendable {
    case raft(RaftMessage<MetadataCommand>)
    case replication(ReplicationMessage)
    /// A replica asks the metadata leader to commit a command (ISR change, failure report).
    case proposal(MetadataCommand)
    /// Client → broker. `requestID` packs (request << 8 | attempt), so answers find their attempt.
    case publish(stream: Int32, requestID: UInt64, payload: LogPayload)
    case publishAck(requestID: UInt64, offset: UInt64)
    case publishReject(requestID: UInt64, PublishRejection)
    /// Consumer → stream leader: committed entries from `offset`.
    case consume(stream: Int32, requestID: UInt64, offset: UInt64, maxEntries: Int32)
    case delivered(requestID: UInt64, entries: [LogEntry], highWatermark: UInt64)

    /// Bytes the network charges for (headers plus modelled payload sizes).
    var wireBytes: Int {
        switch self {
        case .raft(let m):
            if case .append(_, _, let entries, _) = m.kind { return 64 + 128 * entries.count }
            return 64
        case .replication(.fetchResponse(let r)):
            return 64 + r.entries.reduce(0) { $0 + 40 + $1.payload.bytes }
        case .replication: return 64
        case .proposal: return 128
        case .publish(_, _, let payload): return 48 + payload.bytes
        case .publishAck, .publishReject, .consume: return 48
        case .delivered(_, let entries, _): return 48 + entries.reduce(0) { $0 + 40 + $1.payload.bytes }
        }
    }

    /// The publish request this message answers, if it is a publish's answer.
    var answeredRequest: UInt64? {
        switch self {
        case .publishAck(let requestID, _), .publishReject(let requestID, _): return requestID
        default: return nil
        }
    }

    var kindName: String {
        switch self {
        case .raft: return "raft"
        case .replication(.fetchRequest): return "fetch"
        case .replication(.fetchResponse): return "fetch_response"
        case .replication(.epochEndOffsetRequest): return "epoch_end_offset"
        case .replication(.epochEndOffsetResponse): return "epoch_end_offset_response"
        case .proposal: return "proposal"
        case .publish: return "publish"
        case .publishAck: return "publish_ack"
        case .publishReject: return "publish_reject"
        case .consume: return "consume"
        case .delivered: return "delivered"
        }
    }
}

struct BrokerMail: Sendable {
    var from: NodeID
    var to: NodeID
    var body: BrokerMessage
    /// When it was sent: a reset of its link while it is in flight loses it.
    var sentAt: VirtualTime
}

/// Volatile state of one broker process; rebuilt from its disk at restart.
struct SimulatedBroker: Sendable {
    /// The node's protocol state (Raft, metadata, replicas); the rest is the driver's.
    var core: BrokerCore
    /// The node's storage queue (LogStore's group commit, as on a live node): one batch at a
    /// time on the node's disk, everything asked for meanwhile forming the next batch.
    var storage = GroupCommit<StorageCompletion>()
    /// The fsyncs the running batch began; they complete when it is done (a crash first loses
    /// what they had not made durable).
    var batchTickets: [FsyncTicket] = []
    /// Last high-water mark seen per stream (checkers observe advances).
    var lastHighWatermark: [UInt64]

    /// What a finished batch hands back to the protocol.
    enum StorageCompletion: Sendable {
        case appended(stream: Int, upTo: UInt64)
        case fsynced(stream: Int, upTo: UInt64)
        case raftPersisted
    }
}

/// One simulated producer connection: the Clients producer core (window, leader belief,
/// re-send rounds, ledger) and what the simulator needs around it.
struct SimPublisher: Sendable {
    /// Timer kinds carried by `.publishTimeout(request: publisher, attempt: kind)` events.
    static let sweepTimer: UInt32 = 0
    static let backoffTimer: UInt32 = 1
    static let reconnectTimer: UInt32 = 2
    /// The reset of a connection whose broker process died reaches the client (see `clientsSeeCrash`).
    static let resetTimer: UInt32 = 3

    var workload: Int
    var stream: Int
    var payloadBytes: Int
    var core: ProducerCore<NodeID>
    /// When the last answer sent to this connection reaches the client: a reset sent after it
    /// (its broker was killed) arrives no earlier, as TCP delivers a connection's bytes in order.
    var answersArriveBy: VirtualTime = 0
    /// When the last publish sent on this connection reaches its broker (`node`): the next one
    /// arrives no earlier, as TCP delivers a connection's bytes in order.
    var publishesArriveBy: (node: NodeID, time: VirtualTime) = (-1, 0)
    /// The dead broker whose reset is still on its way to this connection.
    var resetFrom: NodeID?
    /// Whether a message's end-to-end latency was measured already (by ledger slot).
    var endToEndMeasured: [Bool] = []
}

/// One consumer: the Clients consumer core and its stream.
struct SimConsumer: Sendable {
    var stream: Int
    var core: ConsumerCore<NodeID>
    /// The time of the one poll event that counts; others are stale.
    var armedAt: VirtualTime?
}

/// Everything the broker model adds to a simulation run.
struct BrokerWorld: Sendable {
    var spec: BrokerSpec
    var streamNames: [String]
    /// Replica nodes per stream (sorted node ids).
    var replicaNodes: [[NodeID]]
    /// By node id: the node's open stores (the live broker's LogStore on its disk); nil when
    /// `nodes` is. Kept apart from `nodes` so a store operation does not copy the node out.
    var files: [BrokerFiles?]
    var nodes: [SimulatedBroker?]           // by node id; nil for non-broker processes (the client) or crashed
    /// `nodes[n] != nil`, kept as flags: testing an optional struct against nil copies it.
    var up: [Bool] = []
    /// How often each node ticks its replicas (`ReplicaConfig.tickIntervalNanos`, as live).
    var replicaTick: VirtualTime = 0
    /// Whether node n holds a replica of stream s (`hosts[n][s]`), fixed for the run.
    var hosts: [[Bool]] = []
    /// Newest stream state epoch already written to the trace, per stream.
    var tracedEpoch: [UInt64] = []
    /// Per stream: the newest stream state the timeline has seen, and its leader.
    var timelineEpoch: [UInt64] = []
    var timelineLeader: [NodeID?] = []
    /// The clients' time series (nil without publishers).
    var publishSeries: PublishSeries?
    var mail = MailSlots()
    var publishers: [SimPublisher] = []
    /// `publishers[i]`'s producer id, by `i`.
    var producerIDs: [UInt32] = []
    var publishersOfWorkload: [[Int]] = []
    /// Round robin of each workload's arrivals over its connections.
    var nextConnection: [Int] = []
    /// Offsets per stream whose first commit was already measured (end-to-end latency).
    var committedMeasured: [UInt64] = []
    var raftRngs: [SeededGenerator]
    var replicaConfigs: [[ReplicaConfig]]  // [stream][position in replicaNodes]
    var lastCreateProposal: VirtualTime = Int64.min / 2
    var streamsCreated = false
    var livenessDeadline: VirtualTime = 0
    var converged = false
    var convergedAt: VirtualTime?
    var lastConvergenceProblem = "not checked"

    // Checkers and measurements.
    var acknowledged: AcknowledgedLossChecker
    var hwMonotonic: HighWatermarkMonotonicChecker
    var leaderEpochs: OneLeaderPerEpochChecker
    var electionSafety = RaftElectionSafetyChecker()
    var minISR = MinISRCommitChecker()
    var publishLatency = LatencyHistogram()
    var endToEndLatency = LatencyHistogram()
    var failoverTime = LatencyHistogram()
    /// A stream's leader became unavailable (crash/pause/isolation) at this time; the next
    /// ack measures failover time.
    var leaderLostAt: [VirtualTime?]
    var underReplicatedSince: [VirtualTime?]
    var underReplicatedTotal: [VirtualTime]
    var leaderlessSince: [VirtualTime?]
    var leaderlessTotal: [VirtualTime]
    var consumers: [SimConsumer] = []
    /// What consumers read, per stream, by offset: every consumer must read the same message
    /// at an offset, and it must still be there at the end (committed means final).
    var consumedLog: [[MessageID]] = []
    var consumerViolations: [CheckViolation] = []
    var diskBytesWritten: UInt64 = 0
    var fsyncs: UInt64 = 0
    /// Logs that recovery cut at a record failing its CRC or framing, and the bytes it dropped.
    var recoveryCuts: UInt64 = 0
    /// Nodes that stopped themselves on a failed fsync (`disk: {fsync_error: true}`).
    var failStops: UInt64 = 0
    var recoveryCutBytes: UInt64 = 0

    func streamIndex(_ name: String) -> Int? { streamNames.firstIndex(of: name) }
}

/// The broker model: the replicated log's nodes (`BrokerCore` per process, on the live
/// broker's `LogStore` over the simulated disk), its clients (the `Clients` cores) and its
/// checkers, driven by the run's events. It owns `BrokerEvent`s and its world; the virtual
/// cluster it runs on is lent to each handler.
struct BrokerModel {
    var world: BrokerWorld
    /// The committed logs at the end of the run, once computed (see `committedLogs`).
    var committedAtEnd: [[ObservedEntry]?]?
    /// The acknowledged-loss verdict at the end of the run (a metric and a check read it).
    var acknowledgedAtEnd: (report: CheckReport, lost: Int)?
    /// Scratch buffer for replica effects (`replicaInput`), kept to avoid an allocation per input.
    var replicaEffects: [ReplicaEffect] = []
    /// Scratch buffer for producer effects (kept to avoid an allocation per event).
    var producerEffects: [ProducerEffect<NodeID>] = []
    var drainingEffects = false
    /// Rotates leader look-ups through the brokers, as a client library does.
    var lookupCursor = 0
    /// One arrival stream per publish workload.
    var publishRngs: [SeededGenerator]

    init(_ spec: BrokerSpec, nodes: [NodeSpec], publishWorkloads: Int, root: SeededGenerator) throws {
        world = try Self.makeBrokerWorld(spec, nodes: nodes, root: root.stream("broker"))
        publishRngs = (0..<publishWorkloads).map { root.stream("publish.\($0)") }
    }

    /// Trace fields of a broker event.
    func describe(_ event: BrokerEvent, into line: inout TraceLine, _ cluster: VirtualCluster) {
        switch event {
        case .mail(let slot):
            if let mail = world.mail[Int(slot)] {
                line.add("from", cluster.processes[mail.from].name)
                line.add("to", cluster.processes[mail.to].name)
                line.add("message", mail.body.kindName)
            }
        case .raftTick(let n, let i), .replicaTick(let n, let i), .storageBatchDone(let n, let i):
            line.add("node", cluster.processes[Int(n)].name)
            line.add("incarnation", Int(i))
        case .publish(let w):
            line.add("workload", Int(w))
        case .publishTimeout(let r, let a):
            line.add("request", r)
            line.add("attempt", Int(a & 0x7FFF_FFFF))
        case .adminTick, .livenessCheck:
            break
        case .consumePoll(let c):
            line.add("consumer", Int(c))
        }
    }
}
