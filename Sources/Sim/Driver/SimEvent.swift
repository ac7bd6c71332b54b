import SimCore

/// Everything that can happen in a run: the events of the run itself (faults, the nemesis, the
/// load driver giving up on a request, the end of the safety phase) and those each model owns.
/// Plain values (no closures) so the event queue stays a flat array of structs; see `EventQueue`.
enum SimEvent: Sendable {
    case station(StationEvent)
    case broker(BrokerEvent)
    case mesh(MeshEvent)
    /// The load driver stops waiting for `request` (station and mesh workloads).
    case timeout(request: UInt64)
    /// Scheduled fault `index` starts, or (undo) its `for:` duration ends.
    case fault(index: Int32)
    case undoFault(index: Int32)
    /// The nemesis strikes (tick `tick`) or heals what that strike did.
    case nemesisStrike(tick: Int32)
    case nemesisHeal(tick: Int32)
    /// The scheduled duration of a broker run is over: heal everything and start the liveness phase.
    case endSafetyPhase

    var name: String {
        switch self {
        case .station(let e): return e.name
        case .broker(let e): return e.name
        case .mesh(let e): return e.name
        case .timeout: return "timeout"
        case .fault: return "fault"
        case .undoFault: return "undo_fault"
        case .nemesisStrike: return "nemesis_strike"
        case .nemesisHeal: return "nemesis_heal"
        case .endSafetyPhase: return "end_safety_phase"
        }
    }

    /// What the trace hash folds per event: a stable numeric code per kind (codes are global
    /// across models, so a trace hash is comparable between versions) and two identifying words.
    /// One switch gives all three: as separate `code` and `words` properties every event paid
    /// two switches over the payload (~7 instructions an event of an OAuth fan-out run).
    @inline(__always) var traceKey: (code: UInt64, a: UInt64, b: UInt64) {
        switch self {
        case .station(let e): return e.traceKey
        case .broker(let e): return e.traceKey
        case .mesh(let e): return e.traceKey
        case .timeout(let r): return (5, 0, r)
        case .fault(let i): return (6, UInt64(i), 0)
        case .undoFault(let i): return (7, UInt64(i), 0)
        case .nemesisStrike(let t): return (8, UInt64(t), 0)
        case .nemesisHeal(let t): return (9, UInt64(t), 0)
        case .endSafetyPhase: return (20, 0, 0)
        }
    }
}

/// The station model's events (see `StationModel`).
enum StationEvent: Sendable {
    /// The open-loop generator of workload `workload` emits its next request.
    case arrival(workload: Int32)
    /// A request message reaches the node hosting `station`.
    // The 8-byte request first in both cases (then 4-byte, then 1-byte fields): without the
    // padding an Int32 before it needs, `SimEvent` is 14 bytes and fits the 16 payload bytes of
    // a heap element (see `ScheduledEvent`; scheduling a larger payload traps).
    case requestArrives(request: UInt64, station: Int32)
    /// A response message from `from` reaches the client.
    case responseArrives(request: UInt64, from: Int32, answer: Answer)
    /// A server of `station` finishes; `incarnation` fences completions scheduled before a crash.
    case serviceDone(station: Int32, server: Int32, incarnation: UInt32)

    enum Answer: UInt8, Sendable { case ok = 1, rejected = 2 }

    var name: String {
        switch self {
        case .arrival: return "arrival"
        case .requestArrives: return "request_arrives"
        case .responseArrives: return "response_arrives"
        case .serviceDone: return "service_done"
        }
    }

    @inline(__always) var traceKey: (code: UInt64, a: UInt64, b: UInt64) {
        switch self {
        case .arrival(let w): return (1, UInt64(w), 0)
        case .requestArrives(let r, let s): return (2, UInt64(s), r)
        case .responseArrives(let r, let f, let a): return (3, UInt64(f) << 8 | UInt64(a.rawValue), r)
        case .serviceDone(let s, let server, let inc): return (4, UInt64(s) << 32 | UInt64(server), UInt64(inc))
        }
    }
}

/// The broker model's events (see `BrokerModel`).
enum BrokerEvent: Sendable {
    /// A broker message (its body sits in the mail slot table) reaches its destination.
    case mail(slot: Int32)
    case raftTick(node: Int32, incarnation: UInt32)
    case replicaTick(node: Int32, incarnation: UInt32)
    /// A node's storage batch (group commit: Raft `Ready`s, appends, fsyncs, checkpoints) is
    /// done: its fsyncs complete and its completions reach the protocol, in the order asked for.
    case storageBatchDone(node: Int32, incarnation: UInt32)
    /// The open-loop publisher of workload `workload` emits its next message.
    case publish(workload: Int32)
    /// A publisher's timer (`request`: the publisher, `attempt`: the timer kind, see `SimPublisher`).
    case publishTimeout(request: UInt64, attempt: UInt32)
    case adminTick
    /// A consumer polls its stream's leader.
    case consumePoll(consumer: Int32)
    case livenessCheck

    var name: String {
        switch self {
        case .mail: return "broker_mail"
        case .raftTick: return "raft_tick"
        case .replicaTick: return "replica_tick"
        case .storageBatchDone: return "storage_batch_done"
        case .publish: return "publish"
        case .publishTimeout: return "publish_timeout"
        case .adminTick: return "admin_tick"
        case .livenessCheck: return "liveness_check"
        case .consumePoll: return "consume_poll"
        }
    }

    @inline(__always) var traceKey: (code: UInt64, a: UInt64, b: UInt64) {
        switch self {
        case .mail(let slot): return (10, UInt64(slot), 0)
        case .raftTick(let n, let i): return (11, UInt64(n), UInt64(i))
        case .replicaTick(let n, let i): return (13, UInt64(n), UInt64(i))
        case .storageBatchDone(let n, let i): return (14, UInt64(n), UInt64(i))
        case .publish(let w): return (17, UInt64(w), 0)
        case .publishTimeout(let r, let a): return (18, r, UInt64(a))
        case .adminTick: return (19, 0, 0)
        case .livenessCheck: return (21, 0, 0)
        case .consumePoll(let c): return (22, UInt64(c), 0)
        }
    }
}

/// The OAuth fan-out model's events (see `MeshModel`). Call and tokeninfo-call records sit in
/// tables of the mesh world; events carry their indices.
enum MeshEvent: Sendable {
    /// The open-loop generator of mesh workload `workload` sends its next request.
    case clientArrival(workload: Int32)
    case callArrives(call: UInt64)
    case workDone(replica: Int32, server: Int32, incarnation: UInt32)
    case reply(call: UInt64)
    case callTimeout(call: UInt64)
    case tokeninfoSend(ti: UInt64)
    case tokeninfoArrives(ti: UInt64)
    case tokeninfoDone(node: Int32, server: Int32, incarnation: UInt32)
    case tokeninfoReply(ti: UInt64)
    case tokeninfoTimeout(ti: UInt64)
    /// kind 0: the JWKS document, 1: the revocation list.
    case keysRequest(replica: Int32, kind: UInt8, seq: UInt32)
    case keysReply(replica: Int32, kind: UInt8, seq: UInt32)
    case keysTimeout(replica: Int32, kind: UInt8, seq: UInt32)
    case validatorTick(replica: Int32)
    case tokenRefresh(client: Int32)
    case tokenRequest(client: Int32)
    case tokenIssued(client: Int32, token: UInt32)
    case revoke

    var name: String {
        switch self {
        case .clientArrival: return "mesh_arrival"
        case .callArrives: return "call_arrives"
        case .workDone: return "work_done"
        case .reply: return "call_reply"
        case .callTimeout: return "call_timeout"
        case .tokeninfoSend: return "tokeninfo_send"
        case .tokeninfoArrives: return "tokeninfo_arrives"
        case .tokeninfoDone: return "tokeninfo_done"
        case .tokeninfoReply: return "tokeninfo_reply"
        case .tokeninfoTimeout: return "tokeninfo_timeout"
        case .keysRequest: return "keys_request"
        case .keysReply: return "keys_reply"
        case .keysTimeout: return "keys_timeout"
        case .validatorTick: return "validator_tick"
        case .tokenRefresh: return "token_refresh"
        case .tokenRequest: return "token_request"
        case .tokenIssued: return "token_issued"
        case .revoke: return "revoke"
        }
    }

    @inline(__always) var traceKey: (code: UInt64, a: UInt64, b: UInt64) {
        switch self {
        case .clientArrival(let w): return (23, UInt64(w), 0)
        case .callArrives(let c): return (24, c, 0)
        case .workDone(let r, let server, let inc): return (25, UInt64(r) << 32 | UInt64(server), UInt64(inc))
        case .reply(let c): return (26, c, 0)
        case .callTimeout(let c): return (27, c, 0)
        case .tokeninfoSend(let t): return (28, t, 0)
        case .tokeninfoArrives(let t): return (29, t, 0)
        case .tokeninfoDone(let n, let server, let inc): return (30, UInt64(n) << 32 | UInt64(server), UInt64(inc))
        case .tokeninfoReply(let t): return (31, t, 0)
        case .tokeninfoTimeout(let t): return (32, t, 0)
        case .keysRequest(let r, let kind, let seq): return (33, UInt64(r) << 8 | UInt64(kind), UInt64(seq))
        case .keysReply(let r, let kind, let seq): return (34, UInt64(r) << 8 | UInt64(kind), UInt64(seq))
        case .keysTimeout(let r, let kind, let seq): return (35, UInt64(r) << 8 | UInt64(kind), UInt64(seq))
        case .validatorTick(let r): return (36, UInt64(r), 0)
        case .tokenRefresh(let c): return (37, UInt64(c), 0)
        case .tokenRequest(let c): return (38, UInt64(c), 0)
        case .tokenIssued(let c, let t): return (39, UInt64(c), UInt64(t))
        case .revoke: return (40, 0, 0)
        }
    }
}
