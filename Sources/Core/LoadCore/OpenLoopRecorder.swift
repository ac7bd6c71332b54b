import Stats

/// What one connection of an open-loop load driver saw; the driver merges its connections'
/// recorders at the end (`merged(_:)`). Times are ns since the run's start.
///
/// Latency is recorded twice, as wrk2 does: *corrected* from the intended send time (what a
/// user arriving on schedule waits, coordinated-omission correct) and *uncorrected* from the
/// actual send. When the driver or the server stalls, sends fall behind schedule: the corrected
/// histogram shows the stall, the uncorrected one hides it. A large difference between the two
/// is itself a finding (the driver could not keep up, or the server stalled).
public struct OpenLoopRecorder: Sendable, Equatable {
    /// A send later than this after its intended time counts as `late` (ns).
    public var lateThreshold: Int64
    /// Gaps between acknowledgements shorter than this are not kept (ns): a bound on memory at
    /// low per-connection rates; only gaps this long can be reported by `longestAckGap(after:)`.
    public let gapFloor: Int64

    /// `completed − intended` of every successful request (ns).
    public private(set) var corrected = LatencyHistogram()
    /// `completed − sent` of every successful request (ns).
    public private(set) var uncorrected = LatencyHistogram()
    public private(set) var completed = 0
    /// Sends more than `lateThreshold` behind their intended time.
    public private(set) var late = 0
    /// The furthest a send fell behind its intended time (ns).
    public private(set) var worstSendLag: Int64 = 0
    /// Requests never sent (the driver gave up on them, e.g. out of connections).
    public private(set) var dropped = 0
    public private(set) var timeouts = 0
    /// Failed requests by kind (e.g. `not_leader`, `connection_reset`).
    public private(set) var errors: [String: Int] = [:]
    /// Successful completions per second of the run: index `i` counts those in `[i s, (i+1) s)`.
    public private(set) var completionsPerSecond: [Int] = []
    /// Successes, failures and latencies window by window, warm-up included (the run's time series).
    public private(set) var windows = WindowedOutcomes()
    /// Intervals with no acknowledgement on this connection, sorted and disjoint: the one before
    /// the first ack (from `Int64.min`), every gap between acks of at least `gapFloor`, and the
    /// one after the last ack (to `Int64.max`). Empty until the first ack. Kept this way rather
    /// than as ack times so that merging is exact (see `merge(_:)`) in memory independent of load.
    private var idle: [Idle] = []

    struct Idle: Sendable, Equatable {
        var from: Int64
        var to: Int64
        var length: Int64 { to &- from }
        var bounded: Bool { from != .min && to != .max }
    }

    public init(lateThreshold: Int64 = 1_000_000, gapFloor: Int64 = 10_000_000,
                windowNanos: Int64 = TimeSeriesRecorder.defaultWindowNanos) {
        self.lateThreshold = lateThreshold
        self.gapFloor = gapFloor
        windows = WindowedOutcomes(windowNanos: windowNanos)
    }

    /// A request answered successfully at `at`, for the time series only (the warm-up's too;
    /// `record` keeps the measured ones).
    public mutating func windowSucceeded(at: Int64, latency: Int64) { windows.succeeded(at: at, latency: latency) }

    /// A request that failed (error, time-out, given up, never sent) at `at`, for the time series.
    public mutating func windowFailed(at: Int64, count: Int = 1) { windows.failed(at: at, count: count) }

    // MARK: Recording

    /// A request intended at `intended`, sent at `sent` and successfully answered at `completed`.
    public mutating func record(intended: Int64, sent: Int64, completed at: Int64) {
        corrected.record(at - intended)
        uncorrected.record(at - sent)
        completed += 1
        let lag = sent - intended
        if lag > lateThreshold { late += 1 }
        worstSendLag = max(worstSendLag, lag)
        let second = Int(max(0, at) / 1_000_000_000)
        if second >= completionsPerSecond.count {
            completionsPerSecond += Array(repeating: 0, count: second + 1 - completionsPerSecond.count)
        }
        completionsPerSecond[second] += 1
        acknowledged(at: at)
    }

    /// A request that was due but never sent.
    public mutating func recordDropped() { dropped += 1 }

    public mutating func recordTimeout() { timeouts += 1 }

    public mutating func recordError(kind: String) { errors[kind, default: 0] += 1 }

    /// `errors` in a stable order (by kind), for reports.
    public var errorsByKind: [(kind: String, count: Int)] {
        errors.keys.sorted().map { ($0, errors[$0]!) }
    }

    public var errorCount: Int { errors.values.reduce(0, +) }

    private mutating func acknowledged(at t: Int64) {
        guard let last = idle.last else {
            idle = [Idle(from: .min, to: t), Idle(from: t, to: .max)]
            return
        }
        if t >= last.from {
            // The usual case: acks on one connection come in time order.
            guard t > last.from else { return }
            idle.removeLast()
            let gap = Idle(from: last.from, to: t)
            if gap.length >= gapFloor || !gap.bounded { idle.append(gap) }
            idle.append(Idle(from: t, to: .max))
            return
        }
        // An ack earlier than the latest one: split the idle interval that holds it, if any.
        guard let i = idle.firstIndex(where: { $0.from < t && t < $0.to }) else { return }
        let old = idle[i]
        let pieces = [Idle(from: old.from, to: t), Idle(from: t, to: old.to)]
            .filter { !$0.bounded || $0.length >= gapFloor }
        idle.replaceSubrange(i...i, with: pieces)
    }

    // MARK: Merging

    /// Adds `other`'s counts; this recorder's `lateThreshold` and `gapFloor` stay (`late` was
    /// already judged by each recorder's own threshold).
    ///
    /// The merged idle intervals are the intersections of both sides': a time with no ack on any
    /// connection is idle on each. An intersection is no longer than either interval it comes
    /// from, so dropping gaps below `gapFloor` per connection loses no merged gap of that length.
    public mutating func merge(_ other: OpenLoopRecorder) {
        corrected.merge(other.corrected)
        uncorrected.merge(other.uncorrected)
        completed += other.completed
        late += other.late
        worstSendLag = max(worstSendLag, other.worstSendLag)
        dropped += other.dropped
        timeouts += other.timeouts
        for (kind, count) in other.errors { errors[kind, default: 0] += count }
        if other.completionsPerSecond.count > completionsPerSecond.count {
            completionsPerSecond += Array(repeating: 0, count: other.completionsPerSecond.count - completionsPerSecond.count)
        }
        for (second, count) in other.completionsPerSecond.enumerated() { completionsPerSecond[second] += count }
        idle = Self.intersect(idle, other.idle, floor: gapFloor)
        windows.merge(other.windows)
    }

    public static func merged(_ recorders: [OpenLoopRecorder]) -> OpenLoopRecorder {
        guard var result = recorders.first else { return OpenLoopRecorder() }
        for recorder in recorders.dropFirst() { result.merge(recorder) }
        return result
    }

    /// Intersection of two sorted lists of disjoint open intervals; an empty list (no ack yet)
    /// is idle everywhere.
    static func intersect(_ a: [Idle], _ b: [Idle], floor: Int64) -> [Idle] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var result: [Idle] = []
        var i = 0, j = 0
        while i < a.count, j < b.count {
            let piece = Idle(from: max(a[i].from, b[j].from), to: min(a[i].to, b[j].to))
            if piece.from < piece.to, !piece.bounded || piece.length >= floor { result.append(piece) }
            if a[i].to < b[j].to { i += 1 } else { j += 1 }
        }
        return result
    }

    // MARK: Reading

    /// The longest time with no successful acknowledgement on any connection, between two acks,
    /// among the gaps that end after `time` (a fault's time: the gap that the fault opened is
    /// measured from the last ack before it): e.g. a leader failover as clients see it.
    /// `nil` if there is no such gap of at least `gapFloor`.
    public func longestAckGap(after time: Int64 = .min) -> (start: Int64, length: Int64)? {
        var best: Idle?
        for gap in idle where gap.bounded && gap.to > time {
            if best == nil || gap.length > best!.length { best = gap }
        }
        return best.map { ($0.from, $0.length) }
    }

    /// Every gap between acks of at least `gapFloor`, in time order.
    public var ackGaps: [(start: Int64, length: Int64)] {
        idle.filter(\.bounded).map { ($0.from, $0.length) }
    }
}
