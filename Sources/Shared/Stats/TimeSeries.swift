/// One quantity of one run, window by window: throughput, error rate, a latency percentile, a
/// stream's ISR size… Simulated and live runs record the same series (Results/README.md,
/// table `timeseries`). `points[i]` covers `[start + i·window, start + (i+1)·window)`; nil
/// where the window has no value (no request finished, nothing sampled yet).
public struct TimeSeries: Codable, Sendable, Equatable {
    public var name: String
    /// "/s", "ratio", "ms", "count", "node" (a 1-based node number).
    public var unit: String
    public var startNanos: Int64
    public var windowNanos: Int64
    public var points: [Double?]

    public init(name: String, unit: String, startNanos: Int64 = 0, windowNanos: Int64, points: [Double?]) {
        self.name = name
        self.unit = unit
        self.startNanos = startNanos
        self.windowNanos = windowNanos
        self.points = points
    }
}

/// Records a run's series window by window, for either driver: the simulator passes virtual
/// time, the live load driver nanoseconds since its time zero. Series are declared up front and
/// addressed by handle (an index), so recording on the hot path is an array access, never a
/// dictionary lookup by name.
///
/// Size is bounded: a run never has more than `maxWindows` windows per series — a longer run
/// gets proportionally wider windows (a whole multiple of the one asked for).
public struct TimeSeriesRecorder: Sendable {
    public struct Handle: Sendable, Hashable {
        let index: Int
    }

    enum Kind: Sendable {
        /// Events per second in the window.
        case rate
        /// Hits over trials in the window (an error rate); nil without trials.
        case ratio
        /// The last value set in or before the window (a state: ISR size, the leader).
        case gauge
        /// The 50th and 99th percentiles of the window's own latencies, in ms.
        case latency
    }

    struct Series: Sendable {
        var name: String
        var unit: String
        var kind: Kind
        var sums: [Double]
        var trials: [Double]
        var hasValue: [Bool]
        /// Each window's latencies (empty where none finished).
        var latencies: [WindowLatencies]

    }

    /// The slots of latency windows: two significant digits are plenty for a plotted
    /// percentile and halve the memory.
    let latencyLayout = BucketLayout(significantDigits: .two)

    public static let defaultWindowNanos: Int64 = 1_000_000_000
    public static let defaultMaxWindows = 2_000

    public let windowNanos: Int64
    public let windows: Int
    var series: [Series] = []

    /// Windows of `window` (widened when `span / window` would exceed `maxWindows`) covering
    /// `[0, span)`; anything recorded at or after `span` counts in the last window.
    public init(window: Int64 = Self.defaultWindowNanos, span: Int64, maxWindows: Int = Self.defaultMaxWindows) {
        let asked = Swift.max(window, 1)
        let needed = Swift.max(1, (Swift.max(span, 1) + asked - 1) / asked)
        let widen = (needed + Int64(maxWindows) - 1) / Int64(maxWindows)
        windowNanos = asked * Swift.max(widen, 1)
        windows = Int(Swift.max(1, (Swift.max(span, 1) + windowNanos - 1) / windowNanos))
    }

    // MARK: - Declaring series

    public mutating func rate(_ name: String, unit: String = "/s") -> Handle { declare(name, unit, .rate) }
    public mutating func ratio(_ name: String) -> Handle { declare(name, "ratio", .ratio) }
    public mutating func gauge(_ name: String, unit: String) -> Handle { declare(name, unit, .gauge) }
    /// Becomes two series, `NAME.p50` and `NAME.p99`, in ms.
    public mutating func latency(_ name: String) -> Handle { declare(name, "ms", .latency) }

    mutating func declare(_ name: String, _ unit: String, _ kind: Kind) -> Handle {
        series.append(Series(name: name, unit: unit, kind: kind,
                             sums: Array(repeating: 0, count: windows),
                             trials: kind == .ratio ? Array(repeating: 0, count: windows) : [],
                             hasValue: kind == .gauge ? Array(repeating: false, count: windows) : [],
                             latencies: kind == .latency ? Array(repeating: WindowLatencies(), count: windows) : []))
        return Handle(index: series.count - 1)
    }

    // MARK: - Recording

    @inline(__always) public func window(at nanos: Int64) -> Int {
        nanos <= 0 ? 0 : Swift.min(Int(nanos / windowNanos), windows - 1)
    }

    /// `count` events of a rate series at `nanos`.
    @inline(__always) public mutating func count(_ handle: Handle, at nanos: Int64, _ count: Double = 1) {
        series[handle.index].sums[window(at: nanos)] += count
    }

    /// One trial of a ratio series; `hit` counts towards the numerator.
    @inline(__always) public mutating func trial(_ handle: Handle, at nanos: Int64, hit: Bool) {
        let w = window(at: nanos)
        series[handle.index].trials[w] += 1
        if hit { series[handle.index].sums[w] += 1 }
    }

    /// A gauge's value from `nanos` on (until set again); `.nan` for "none" (no value from then on).
    @inline(__always) public mutating func set(_ handle: Handle, at nanos: Int64, _ value: Double) {
        let w = window(at: nanos)
        series[handle.index].sums[w] = value
        series[handle.index].hasValue[w] = true
    }

    /// A latency (ns) that ended at `nanos`.
    @inline(__always) public mutating func latency(_ handle: Handle, at nanos: Int64, _ latency: Int64) {
        series[handle.index].latencies[window(at: nanos)].record(latency, latencyLayout)
    }

    /// The three series of a stream of requests (or publishes): successes per second, the error
    /// rate (failures over outcomes) and the successes' latency percentiles.
    public struct OutcomeHandles: Sendable {
        public let throughput: Handle
        public let errors: Handle
        public let latency: Handle

        public init(throughput: Handle, errors: Handle, latency: Handle) {
            self.throughput = throughput
            self.errors = errors
            self.latency = latency
        }
    }

    /// One request's outcome at `nanos`: a trial of `errors` (a hit unless it succeeded) and, when
    /// it succeeded, a count of `throughput` and its `latency` (ns) — what `trial`, `count` and
    /// `latency` record, with the window found once: as three calls they cost the station path
    /// ~325 instructions a request.
    public mutating func outcome(_ handles: OutcomeHandles, at nanos: Int64, succeeded: Bool, latency: Int64) {
        let w = window(at: nanos)
        series[handles.errors.index].trials[w] += 1
        guard succeeded else {
            series[handles.errors.index].sums[w] += 1
            return
        }
        series[handles.throughput.index].sums[w] += 1
        series[handles.latency.index].latencies[w].record(latency, latencyLayout)
    }

    // MARK: - Reading

    /// The series, sorted by name. Windows after `end` (when given) are dropped: a run that
    /// stopped early does not report empty windows it never lived through.
    public func finished(end: Int64? = nil) -> [TimeSeries] {
        let kept = end.map { Swift.min(windows, Swift.max(1, Int(($0 + windowNanos - 1) / windowNanos))) } ?? windows
        let seconds = Double(windowNanos) / 1e9
        var out: [TimeSeries] = []
        for s in series {
            func make(_ name: String, _ unit: String, _ points: [Double?]) {
                out.append(TimeSeries(name: name, unit: unit, windowNanos: windowNanos, points: Array(points.prefix(kept))))
            }
            switch s.kind {
            case .rate:
                make(s.name, s.unit, s.sums.map { $0 / seconds })
            case .ratio:
                make(s.name, s.unit, zip(s.sums, s.trials).map { hits, trials in trials > 0 ? hits / trials : nil })
            case .gauge:
                // A non-finite value (set as NaN: "none", e.g. no leader) reads as no value.
                var last: Double?
                make(s.name, s.unit, s.sums.indices.map { w in
                    if s.hasValue[w] { last = s.sums[w].isFinite ? s.sums[w] : nil }
                    return last
                })
            case .latency:
                let layout = latencyLayout
                for (suffix, p) in [(".p50", 50.0), (".p99", 99.0)] {
                    make(s.name + suffix, "ms", s.latencies.map { $0.isEmpty ? nil : $0.percentile(p, layout) / 1e6 })
                }
            }
        }
        return out.sorted { $0.name < $1.name }
    }
}

/// One moment of a run's timeline: a fault injected or undone, a nemesis strike or heal, a node
/// crashed or restarted, a leader change. Simulated runs stamp virtual time, live runs wall time
/// since their time zero (monotonic).
public struct TimelineEvent: Codable, Sendable, Equatable {
    /// Nanoseconds since the run's time zero.
    public var atNanos: Int64
    /// When what began here ends, if known then (a fault with `for:`, a nemesis strike): plots draw a band.
    public var endNanos: Int64?
    /// "fault", "undo", "nemesis", "heal", "exit", "leader" (a stream's), "metadata_leader", "probe".
    public var kind: String
    /// What happened, e.g. "partition leader(orders)" or "orders: n1 → n2".
    public var description: String
    /// The nodes it hit or named.
    public var nodes: [String]

    public init(atNanos: Int64, endNanos: Int64? = nil, kind: String, description: String, nodes: [String] = []) {
        self.atNanos = atNanos
        self.endNanos = endNanos
        self.kind = kind
        self.description = description
        self.nodes = nodes
    }
}

/// A load driver's outcomes window by window, for runs whose length is not known up front
/// (live loads): successes, failures and the successes' latencies per window, growing as time
/// goes on, mergeable across connections. Becomes `throughput`, `error_rate` and
/// `<latency>.p50/.p99` series, named as the simulator names them.
public struct WindowedOutcomes: Sendable, Equatable {
    public let windowNanos: Int64
    public private(set) var succeeded: [Double] = []
    public private(set) var failed: [Double] = []
    var latencies: [LatencyHistogram?] = []
    /// A run longer than this many windows counts the rest in the last one (a bound on memory).
    public static let maxWindows = 100_000

    public init(windowNanos: Int64 = TimeSeriesRecorder.defaultWindowNanos) {
        self.windowNanos = Swift.max(windowNanos, 1)
    }

    mutating func slot(_ nanos: Int64) -> Int {
        let w = Swift.min(nanos <= 0 ? 0 : Int(nanos / windowNanos), Self.maxWindows - 1)
        if w >= succeeded.count {
            let more = w + 1 - succeeded.count
            succeeded += Array(repeating: 0, count: more)
            failed += Array(repeating: 0, count: more)
            latencies += Array(repeating: nil, count: more)
        }
        return w
    }

    public mutating func succeeded(at nanos: Int64, latency: Int64) {
        let w = slot(nanos)
        succeeded[w] += 1
        if latencies[w] == nil { latencies[w] = LatencyHistogram(significantDigits: .two) }
        latencies[w]!.record(latency)
    }

    public mutating func failed(at nanos: Int64, count: Int = 1) {
        failed[slot(nanos)] += Double(count)
    }

    public mutating func merge(_ other: WindowedOutcomes) {
        guard !other.succeeded.isEmpty else { return }
        _ = slot(Int64(other.succeeded.count - 1) * windowNanos)
        for w in other.succeeded.indices {
            succeeded[w] += other.succeeded[w]
            failed[w] += other.failed[w]
            if let h = other.latencies[w] {
                if latencies[w] == nil { latencies[w] = h } else { latencies[w]!.merge(h) }
            }
        }
    }

    /// `throughput` (successes per second), `error_rate` and `<latencyName>.p50/.p99` (ms), the
    /// first `windows` windows (all when nil).
    public func series(latencyName: String, throughputName: String = "throughput", errorName: String = "error_rate",
                       windows: Int? = nil) -> [TimeSeries] {
        let n = windows ?? succeeded.count
        func padded<T>(_ values: [T], _ empty: T) -> [T] {
            Array(values.prefix(n)) + Array(repeating: empty, count: Swift.max(0, n - values.count))
        }
        let seconds = Double(windowNanos) / 1e9
        let ok = padded(succeeded, 0), bad = padded(failed, 0), latency = padded(latencies, nil).map { $0?.summarised() }
        return [
            TimeSeries(name: throughputName, unit: "/s", windowNanos: windowNanos, points: ok.map { $0 / seconds }),
            TimeSeries(name: errorName, unit: "ratio", windowNanos: windowNanos,
                       points: zip(ok, bad).map { s, f in s + f > 0 ? f / (s + f) : nil }),
            TimeSeries(name: latencyName + ".p50", unit: "ms", windowNanos: windowNanos, points: latency.map { $0.map { $0.percentile(50) / 1e6 } }),
            TimeSeries(name: latencyName + ".p99", unit: "ms", windowNanos: windowNanos, points: latency.map { $0.map { $0.percentile(99) / 1e6 } }),
        ].sorted { $0.name < $1.name }
    }
}
