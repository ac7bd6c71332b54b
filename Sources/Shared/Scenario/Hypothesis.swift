import Foundation

/// `hypothesis:` — a chaos experiment's steady-state hypothesis (Chaos Toolkit's model): probes
/// with thresholds on the live system, checked over a sliding window of the load just before the
/// method (the fault schedule) starts — when it does not hold, nothing is injected — optionally
/// all through the method (`during:`; a deviation stops the method and heals), and again after
/// the method's last step, where it must hold again within `recover_within`.
/// Live runs only: the simulator's checkers and SLOs judge simulated runs.
public struct HypothesisSpec: Sendable, Equatable {
    /// Each probe looks at the load of the last `window` ns.
    public var window: Int64 = 2_000_000_000
    /// How often the probes are read during and after the method (ns).
    public var every: Int64 = 1_000_000_000
    /// After the method's last step, the steady state must hold again within this (ns).
    public var recoverWithin: Int64 = 10_000_000_000
    /// Must hold before the method and again after it.
    public var steadyState: [ProbeSpec] = []
    /// Must hold while the method runs; empty: not checked during the method (Chaos Toolkit's
    /// default strategy, before and after).
    public var during: [ProbeSpec] = []
    public var location: SourceLocation

    public init(location: SourceLocation) { self.location = location }

    public static let keys = ["window", "every", "recover_within", "steady_state", "during"]
}

/// One probe of a hypothesis: a quantity read from the live run and its bounds.
public struct ProbeSpec: Sendable, Equatable {
    public enum Quantity: Sendable, Equatable {
        /// Acknowledged publishes per second over the window.
        case throughput
        /// Failed attempts (refused, lost, timed out) over all attempts answered in the window.
        case errorRate
        /// Coordinated-omission-corrected publish latency of the acks in the window, in ms:
        /// a quantile, or nil for the largest.
        case publishLatency(quantile: Double?)
        /// Every stream has a leader and the metadata group has one (1 or 0).
        case leaderPresent
        /// The smallest in-sync replica set over the streams.
        case isrSize
        /// A value scraped from the nodes' `/metrics` (Prometheus text), matched by name and
        /// labels, combined over the running nodes.
        case scraped(metric: String, labels: [Label], combine: Combine)
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public enum Combine: String, Sendable, Equatable, CaseIterable {
        case sum, min, max
    }

    public enum Bound: Sendable, Equatable {
        case atLeast(Double)
        case atMost(Double)
    }

    /// As written (`publish_latency_p99`, `metric faultline_broker_is_metadata_leader`).
    public var name: String
    public var quantity: Quantity
    public var bounds: [Bound]
    public var location: SourceLocation

    public init(name: String, quantity: Quantity, bounds: [Bound], location: SourceLocation) {
        self.name = name
        self.quantity = quantity
        self.bounds = bounds
        self.location = location
    }

    /// The unit a probe's value is shown in.
    public var unit: String {
        switch quantity {
        case .throughput: "/s"
        case .errorRate: ""
        case .publishLatency: "ms"
        case .leaderPresent, .isrSize, .scraped: ""
        }
    }

    /// Probe names of the compact form, with what their value means.
    static let latencyQuantiles: [(suffix: String, quantile: Double?)] =
        [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999), ("max", nil)]
    static let names = ["throughput_min", "error_rate", "leader_present", "isr_size_min", "metrics"]
        + latencyQuantiles.map { "publish_latency_\($0.suffix)" }
}

/// `rollbacks:` — actions that always run after the method (it ended, was aborted, or never
/// started because the hypothesis did not hold), as Chaos Toolkit's rollbacks: `heal`,
/// `restart`, `resume`, or `disk` (e.g. `slow_fsync: 0ms` to disarm).
public struct RollbackStep: Sendable {
    public var action: FaultAction
    public var location: SourceLocation

    public init(action: FaultAction, location: SourceLocation) {
        self.action = action
        self.location = location
    }

    static let actions = ["heal", "restart", "resume", "disk"]
}

extension Scenario {
    /// When the method (the fault schedule: `faults:` and the nemesis) starts and when its last
    /// step is due (ns from the run's start), or nil when the scenario injects nothing.
    public var methodSpan: (start: Int64, end: Int64)? {
        var starts = faults.map(\.at)
        var ends = faults.map { $0.at + ($0.duration ?? 0) }
        if let nemesis {
            let stop = min(nemesis.stop ?? duration, duration)
            if nemesis.start < stop {
                starts.append(nemesis.start)
                ends.append(stop + nemesis.duration)
            }
        }
        guard let start = starts.min(), let end = ends.max() else { return nil }
        return (start, end)
    }
}

extension ScenarioBuilder {
    func hypothesis(_ node: SourceNode, _ path: String) -> HypothesisSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: HypothesisSpec.keys,
                               what: "a steady-state hypothesis (window, every, recover_within, steady_state, during)")
        else { return nil }
        var spec = HypothesisSpec(location: node.location)
        if let n = f["window"], let v = r.duration(n, f.path("window"), positive: true) { spec.window = v }
        if let n = f["every"], let v = r.duration(n, f.path("every"), positive: true) { spec.every = v }
        if let n = f["recover_within"], let v = r.duration(n, f.path("recover_within"), positive: true) { spec.recoverWithin = v }
        if let n = r.required(f, "steady_state", expected: "the probes that must hold before and after the method, such as {throughput_min: 900/s, publish_latency_p99: 250ms}") {
            spec.steadyState = probes(n, f.path("steady_state"))
        }
        if let n = f["during"] { spec.during = probes(n, f.path("during")) }
        return spec
    }

    /// `{throughput_min: 900/s, error_rate: 1%, publish_latency_p99: 250ms, leader_present: true,
    /// isr_size_min: 3, metrics: [{metric: NAME{label="v"}, of: sum, min: 1, max: 1}]}`:
    /// a name is an upper bound, `_min` a lower one (as `slos:`).
    func probes(_ node: SourceNode, _ path: String) -> [ProbeSpec] {
        let r = reader
        guard let f = r.fields(node, path, allowed: ProbeSpec.names,
                               what: "probes such as {throughput_min: 900/s, error_rate: 1%, publish_latency_p99: 250ms}")
        else { return [] }
        var result: [ProbeSpec] = []
        for key in f.order {
            guard let n = f[key] else {
                if let raw = f.raw(key) { r.fail(raw, f.path(key), expected: "a threshold") }
                continue
            }
            let p = f.path(key)
            let at = f.keyLocation(key)
            switch key {
            case "throughput_min":
                if let v = r.unit(n, p, expected: "a throughput such as 900/s", Units.rate) {
                    result.append(ProbeSpec(name: key, quantity: .throughput, bounds: [.atLeast(v)], location: at))
                }
            case "error_rate":
                if let v = r.probability(n, p) {
                    result.append(ProbeSpec(name: key, quantity: .errorRate, bounds: [.atMost(v)], location: at))
                }
            case "leader_present":
                if let v = r.bool(n, p) {
                    if v {
                        result.append(ProbeSpec(name: key, quantity: .leaderPresent, bounds: [.atLeast(1)], location: at))
                    } else {
                        r.fail(n, p, expected: "true (every stream and the metadata group have a leader)", found: "false",
                               hint: "leave the probe out rather than hoping for no leader")
                    }
                }
            case "isr_size_min":
                if let v = r.integer(n, p, minimum: 1, expected: "a whole number ≥ 1") {
                    result.append(ProbeSpec(name: key, quantity: .isrSize, bounds: [.atLeast(Double(v))], location: at))
                }
            case "metrics":
                guard let items = r.sequence(n, p, of: "scraped metrics such as {metric: faultline_broker_is_metadata_leader, of: sum, min: 1, max: 1}")
                else { continue }
                for (i, item) in items.enumerated() {
                    if let probe = scrapedProbe(item, KeyPath.index(p, i)) { result.append(probe) }
                }
            default:
                guard let quantile = ProbeSpec.latencyQuantiles.first(where: { "publish_latency_\($0.suffix)" == key }) else { continue }
                if let v = r.unit(n, p, expected: "a latency limit such as 250ms", { text throws(UnitError) in try Units.durationNanos(text) }) {
                    result.append(ProbeSpec(name: key, quantity: .publishLatency(quantile: quantile.quantile), bounds: [.atMost(v / 1e6)], location: at))
                }
            }
        }
        if result.isEmpty && r.errors.isEmpty { r.fail(node, path, expected: "at least one probe") }
        return result
    }

    private func scrapedProbe(_ node: SourceNode, _ path: String) -> ProbeSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["metric", "of", "min", "max"],
                               what: "a scraped metric such as {metric: faultline_broker_stream_isr_size{stream=\"orders\"}, of: min, min: 3}")
        else { return nil }
        guard let text = r.required(f, "metric", expected: "a Prometheus metric name, optionally with labels: name{label=\"value\"}")
            .flatMap({ r.string($0, f.path("metric")) }) else { return nil }
        guard let (metric, labels) = Self.metricSelector(text) else {
            r.fail(f["metric"]!, f.path("metric"), expected: "a Prometheus metric name, optionally with labels: name{label=\"value\",…}",
                   found: "'\(text)'")
            return nil
        }
        var combine = ProbeSpec.Combine.sum
        if let n = f["of"] {
            guard let c = n.scalar.flatMap(ProbeSpec.Combine.init(rawValue:)) else {
                r.fail(n, f.path("of"), expected: "sum, min or max (how the running nodes' values combine)")
                return nil
            }
            combine = c
        }
        var bounds: [ProbeSpec.Bound] = []
        if let n = f["min"], let v = r.number(n, f.path("min"), expected: "a number") { bounds.append(.atLeast(v)) }
        if let n = f["max"], let v = r.number(n, f.path("max"), expected: "a number") { bounds.append(.atMost(v)) }
        guard !bounds.isEmpty else {
            r.fail(node, path, expected: "a bound: min, max or both", found: "neither")
            return nil
        }
        return ProbeSpec(name: "\(combine.rawValue)(\(text))", quantity: .scraped(metric: metric, labels: labels, combine: combine),
                         bounds: bounds, location: node.location)
    }

    /// `name` or `name{a="x",b="y"}` → (name, labels); nil when malformed.
    static func metricSelector(_ text: String) -> (String, [ProbeSpec.Label])? {
        let isNameChar: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard let brace = text.firstIndex(of: "{") else {
            return !text.isEmpty && text.allSatisfy(isNameChar) && !text.first!.isNumber ? (text, []) : nil
        }
        let name = String(text[..<brace])
        guard !name.isEmpty, name.allSatisfy(isNameChar), text.hasSuffix("}") else { return nil }
        let inner = text[text.index(after: brace)..<text.index(before: text.endIndex)]
        var labels: [ProbeSpec.Label] = []
        for part in inner.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy(isNameChar), value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return nil }
            value = String(value.dropFirst().dropLast())
            labels.append(ProbeSpec.Label(name: key, value: value))
        }
        return (name, labels)
    }

    /// `rollbacks:` — a list of `{heal: all}`, `{restart: crashed}`, `{resume: paused}`,
    /// `{disk: …}` (the fault actions, without `at:`).
    func rollbacks(_ node: SourceNode, _ path: String, names: Names) -> [RollbackStep] {
        let r = reader
        guard let items = r.sequence(node, path, of: "rollback actions such as {heal: all} or {restart: crashed}") else { return [] }
        var steps: [RollbackStep] = []
        let faults = FaultReader(reader: r, names: names)
        for (i, item) in items.enumerated() {
            let p = KeyPath.index(path, i)
            guard let f = r.fields(item, p, allowed: RollbackStep.actions, what: "a rollback action such as {restart: crashed}"),
                  let keyword = r.exactlyOne(f, of: RollbackStep.actions, what: "the rollback action") else { continue }
            let body = f.raw(keyword) ?? .null(at: f.keyLocation(keyword))
            if let action = faults.action(keyword, body, f.path(keyword)) {
                steps.append(RollbackStep(action: action, location: item.location))
            }
        }
        return steps
    }
}
