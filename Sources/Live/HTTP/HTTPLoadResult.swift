import LoadCore

/// What a load run measured, merged over its event loops.
public struct HTTPLoadResult: Sendable {
    /// Latency (corrected from the intended send time, and uncorrected from the actual send),
    /// timeouts, drops, transport errors and error outcomes by kind. Times are ns since `start`.
    public var recorder: OpenLoopRecorder
    /// Responses per HTTP status, ascending by status.
    public var statusCounts: [(status: Int, count: Int)]
    /// Responses per outcome kind (`ok`, each rejection kind, each error kind), by kind.
    public var outcomeCounts: [(kind: String, count: Int)]
    /// Requests written to a connection.
    public var sent: Int
    /// Responses received, whatever their status or outcome.
    public var completed: Int
    public var timeouts: Int { recorder.timeouts }
    /// Transport failures (`connection_closed`, `malformed_response`) plus `.error` outcomes.
    public var errors: Int { recorder.errorCount }
    /// Due requests never sent: the wait queue was full, or the run ended first.
    public var dropped: Int { recorder.dropped }
    /// Failed attempts to reopen a connection during the run.
    public var connectFailures: Int
    /// Requests sent that got no answer because their connection closed (not timeouts, not
    /// answers the classifier called errors).
    public var transportErrors = 0
    /// The earliest intended send time (closed loop: the first send), ns since `start`.
    public var firstIntended: Int64?
    /// The latest response, ns since `start`.
    public var lastCompletion: Int64?

    /// `completed / (lastCompletion − firstIntended)`, per second: what the server actually
    /// answered, including any backlog drained after the schedule ended.
    public var achievedRate: Double {
        guard let first = firstIntended, let last = lastCompletion, last > first else { return 0 }
        return Double(completed) / (Double(last - first) / 1e9)
    }

    public func count(status: Int) -> Int {
        statusCounts.first { $0.status == status }?.count ?? 0
    }

    public func count(outcome kind: String) -> Int {
        outcomeCounts.first { $0.kind == kind }?.count ?? 0
    }

    /// Several runs (e.g. one per entry replica) as one: recorders merged, counts added.
    public static func merged(_ results: [HTTPLoadResult]) -> HTTPLoadResult {
        var merged = HTTPLoadResult(merging: [])
        merged.recorder = OpenLoopRecorder.merged(results.map(\.recorder))
        var statuses: [Int: Int] = [:]
        var outcomes: [String: Int] = [:]
        for r in results {
            for (status, count) in r.statusCounts { statuses[status, default: 0] += count }
            for (kind, count) in r.outcomeCounts { outcomes[kind, default: 0] += count }
            merged.sent += r.sent
            merged.completed += r.completed
            merged.connectFailures += r.connectFailures
            merged.transportErrors += r.transportErrors
            if let t = r.firstIntended { merged.firstIntended = min(merged.firstIntended ?? t, t) }
            if let t = r.lastCompletion { merged.lastCompletion = max(merged.lastCompletion ?? t, t) }
        }
        merged.statusCounts = statuses.keys.sorted().map { ($0, statuses[$0]!) }
        merged.outcomeCounts = outcomes.keys.sorted().map { ($0, outcomes[$0]!) }
        return merged
    }

    init(merging tallies: [HTTPLoadTally]) {
        recorder = OpenLoopRecorder.merged(tallies.map(\.recorder))
        var statuses: [Int: Int] = [:]
        var outcomes: [String: Int] = [:]
        sent = 0
        completed = 0
        connectFailures = 0
        for tally in tallies {
            for (status, count) in tally.statuses.enumerated() where count > 0 { statuses[status, default: 0] += count }
            for (status, count) in tally.otherStatuses { statuses[status, default: 0] += count }
            for (kind, count) in tally.outcomes { outcomes[kind, default: 0] += count }
            if tally.ok > 0 { outcomes["ok", default: 0] += tally.ok }
            sent += tally.sent
            completed += tally.completed
            connectFailures += tally.connectFailures
            transportErrors += tally.transportErrors
            if let t = tally.firstIntended { firstIntended = min(firstIntended ?? t, t) }
            if let t = tally.lastCompletion { lastCompletion = max(lastCompletion ?? t, t) }
        }
        statusCounts = statuses.keys.sorted().map { ($0, statuses[$0]!) }
        outcomeCounts = outcomes.keys.sorted().map { ($0, outcomes[$0]!) }
    }
}

/// One event loop's counts during a run; merged into an `HTTPLoadResult` at the end.
struct HTTPLoadTally {
    var recorder: OpenLoopRecorder
    /// Indexed by status code: a counter per response without hashing.
    var statuses = [Int](repeating: 0, count: 600)
    var otherStatuses: [Int: Int] = [:]
    var ok = 0
    var outcomes: [String: Int] = [:]
    var sent = 0
    var completed = 0
    var connectFailures = 0
    var transportErrors = 0
    var firstIntended: Int64?
    var lastCompletion: Int64?

    init(lateThreshold: Int64, timeSeriesWindow: Int64 = 1_000_000_000) {
        recorder = OpenLoopRecorder(lateThreshold: lateThreshold, windowNanos: timeSeriesWindow)
    }

    mutating func count(status: Int) {
        if status >= 0, status < statuses.count {
            statuses[status] += 1
        } else {
            otherStatuses[status, default: 0] += 1
        }
    }
}
