import SimCore

/// Everything that can happen in a station-model run. Plain values (no closures) so the
/// event queue stays a flat array of structs; see `EventQueue`.
enum SimEvent: Sendable {
    /// The open-loop generator of workload `workload` emits its next request.
    case arrival(workload: Int32)
    /// A request message reaches the node hosting `station`.
    case requestArrives(station: Int32, request: UInt64)
    /// A response message from `from` reaches the client.
    case responseArrives(from: Int32, request: UInt64, answer: Answer)
    /// A server of `station` finishes; `incarnation` fences completions scheduled before a crash.
    case serviceDone(station: Int32, server: Int32, incarnation: UInt32)
    /// The client stops waiting for `request`.
    case timeout(request: UInt64)
    /// Scheduled fault `index` starts, or (undo) its `for:` duration ends.
    case fault(index: Int32)
    case undoFault(index: Int32)
    /// The nemesis strikes (tick `tick`) or heals what that strike did.
    case nemesisStrike(tick: Int32)
    case nemesisHeal(tick: Int32)

    // The broker model (see Broker/BrokerDriver.swift).
    /// A broker message (its body sits in the mail slot table) reaches its destination.
    case brokerMail(slot: Int32)
    case raftTick(node: Int32, incarnation: UInt32)
    /// The disk finished persisting a node's Raft `Ready`: now it may send and apply.
    case raftPersisted(node: Int32, incarnation: UInt32)
    case replicaTick(node: Int32, incarnation: UInt32)
    case logAppended(node: Int32, incarnation: UInt32, stream: Int32, upTo: UInt64)
    case logSynced(node: Int32, incarnation: UInt32, stream: Int32, upTo: UInt64)
    case checkpointSynced(node: Int32, incarnation: UInt32, ticket: UInt64)
    /// The open-loop publisher of workload `workload` emits its next message.
    case publish(workload: Int32)
    /// No answer for this attempt (high bit set: a back-off timer before resending).
    case publishTimeout(request: UInt64, attempt: UInt32)
    case adminTick
    /// A consumer polls its stream's leader.
    case consumePoll(consumer: Int32)
    /// The scheduled duration is over: heal everything and start the liveness phase.
    case endSafetyPhase
    case livenessCheck

    // The OAuth fan-out model (see Mesh/MeshDriver.swift). Call and tokeninfo-call records
    // sit in tables of the mesh world; events carry their indices.
    case meshArrival(workload: Int32)
    case meshCallArrives(call: UInt64)
    case meshWorkDone(replica: Int32, server: Int32, incarnation: UInt32)
    case meshReply(call: UInt64)
    case meshCallTimeout(call: UInt64)
    case meshTokeninfoSend(ti: UInt64)
    case meshTokeninfoArrives(ti: UInt64)
    case meshTokeninfoDone(node: Int32, server: Int32, incarnation: UInt32)
    case meshTokeninfoReply(ti: UInt64)
    case meshTokeninfoTimeout(ti: UInt64)
    /// kind 0: the JWKS document, 1: the revocation list.
    case meshKeysRequest(replica: Int32, kind: UInt8, seq: UInt32)
    case meshKeysReply(replica: Int32, kind: UInt8, seq: UInt32)
    case meshKeysTimeout(replica: Int32, kind: UInt8, seq: UInt32)
    case meshValidatorTick(replica: Int32)
    case meshTokenRefresh(client: Int32)
    case meshTokenRequest(client: Int32)
    case meshTokenIssued(client: Int32, token: UInt32)
    case meshRevoke

    enum Answer: UInt8, Sendable { case ok = 1, rejected = 2 }

    /// Stable numeric code per kind, folded into the trace hash.
    var code: UInt64 {
        switch self {
        case .arrival: return 1
        case .requestArrives: return 2
        case .responseArrives: return 3
        case .serviceDone: return 4
        case .timeout: return 5
        case .fault: return 6
        case .undoFault: return 7
        case .nemesisStrike: return 8
        case .nemesisHeal: return 9
        case .brokerMail: return 10
        case .raftTick: return 11
        case .raftPersisted: return 12
        case .replicaTick: return 13
        case .logAppended: return 14
        case .logSynced: return 15
        case .checkpointSynced: return 16
        case .publish: return 17
        case .publishTimeout: return 18
        case .adminTick: return 19
        case .endSafetyPhase: return 20
        case .livenessCheck: return 21
        case .consumePoll: return 22
        case .meshArrival: return 23
        case .meshCallArrives: return 24
        case .meshWorkDone: return 25
        case .meshReply: return 26
        case .meshCallTimeout: return 27
        case .meshTokeninfoSend: return 28
        case .meshTokeninfoArrives: return 29
        case .meshTokeninfoDone: return 30
        case .meshTokeninfoReply: return 31
        case .meshTokeninfoTimeout: return 32
        case .meshKeysRequest: return 33
        case .meshKeysReply: return 34
        case .meshKeysTimeout: return 35
        case .meshValidatorTick: return 36
        case .meshTokenRefresh: return 37
        case .meshTokenRequest: return 38
        case .meshTokenIssued: return 39
        case .meshRevoke: return 40
        }
    }

    var name: String {
        switch self {
        case .arrival: return "arrival"
        case .requestArrives: return "request_arrives"
        case .responseArrives: return "response_arrives"
        case .serviceDone: return "service_done"
        case .timeout: return "timeout"
        case .fault: return "fault"
        case .undoFault: return "undo_fault"
        case .nemesisStrike: return "nemesis_strike"
        case .nemesisHeal: return "nemesis_heal"
        case .brokerMail: return "broker_mail"
        case .raftTick: return "raft_tick"
        case .raftPersisted: return "raft_persisted"
        case .replicaTick: return "replica_tick"
        case .logAppended: return "log_appended"
        case .logSynced: return "log_synced"
        case .checkpointSynced: return "checkpoint_synced"
        case .publish: return "publish"
        case .publishTimeout: return "publish_timeout"
        case .adminTick: return "admin_tick"
        case .endSafetyPhase: return "end_safety_phase"
        case .livenessCheck: return "liveness_check"
        case .consumePoll: return "consume_poll"
        case .meshArrival: return "mesh_arrival"
        case .meshCallArrives: return "call_arrives"
        case .meshWorkDone: return "work_done"
        case .meshReply: return "call_reply"
        case .meshCallTimeout: return "call_timeout"
        case .meshTokeninfoSend: return "tokeninfo_send"
        case .meshTokeninfoArrives: return "tokeninfo_arrives"
        case .meshTokeninfoDone: return "tokeninfo_done"
        case .meshTokeninfoReply: return "tokeninfo_reply"
        case .meshTokeninfoTimeout: return "tokeninfo_timeout"
        case .meshKeysRequest: return "keys_request"
        case .meshKeysReply: return "keys_reply"
        case .meshKeysTimeout: return "keys_timeout"
        case .meshValidatorTick: return "validator_tick"
        case .meshTokenRefresh: return "token_refresh"
        case .meshTokenRequest: return "token_request"
        case .meshTokenIssued: return "token_issued"
        case .meshRevoke: return "revoke"
        }
    }

    /// Two identifying words for the trace hash.
    var words: (UInt64, UInt64) {
        switch self {
        case .arrival(let w): return (UInt64(w), 0)
        case .requestArrives(let s, let r): return (UInt64(s), r)
        case .responseArrives(let f, let r, let a): return (UInt64(f) << 8 | UInt64(a.rawValue), r)
        case .serviceDone(let s, let server, let inc): return (UInt64(s) << 32 | UInt64(server), UInt64(inc))
        case .timeout(let r): return (0, r)
        case .fault(let i), .undoFault(let i): return (UInt64(i), 0)
        case .nemesisStrike(let t), .nemesisHeal(let t): return (UInt64(t), 0)
        case .brokerMail(let slot): return (UInt64(slot), 0)
        case .raftTick(let n, let i), .raftPersisted(let n, let i), .replicaTick(let n, let i):
            return (UInt64(n), UInt64(i))
        case .logAppended(let n, let i, let s, let upTo), .logSynced(let n, let i, let s, let upTo):
            return (UInt64(n) << 32 | UInt64(s), upTo ^ UInt64(i) << 48)
        case .checkpointSynced(let n, let i, let ticket): return (UInt64(n) << 32 | UInt64(i), ticket)
        case .publish(let w): return (UInt64(w), 0)
        case .publishTimeout(let r, let a): return (r, UInt64(a))
        case .adminTick, .endSafetyPhase, .livenessCheck: return (0, 0)
        case .consumePoll(let c): return (UInt64(c), 0)
        case .meshArrival(let w): return (UInt64(w), 0)
        case .meshCallArrives(let c), .meshReply(let c), .meshCallTimeout(let c): return (c, 0)
        case .meshTokeninfoSend(let t), .meshTokeninfoArrives(let t), .meshTokeninfoReply(let t), .meshTokeninfoTimeout(let t):
            return (t, 0)
        case .meshWorkDone(let r, let server, let inc), .meshTokeninfoDone(let r, let server, let inc):
            return (UInt64(r) << 32 | UInt64(server), UInt64(inc))
        case .meshKeysRequest(let r, let kind, let seq), .meshKeysReply(let r, let kind, let seq),
             .meshKeysTimeout(let r, let kind, let seq):
            return (UInt64(r) << 8 | UInt64(kind), UInt64(seq))
        case .meshValidatorTick(let r): return (UInt64(r), 0)
        case .meshTokenRefresh(let c), .meshTokenRequest(let c): return (UInt64(c), 0)
        case .meshTokenIssued(let c, let t): return (UInt64(c), UInt64(t))
        case .meshRevoke: return (0, 0)
        }
    }
}
