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
        }
    }
}
