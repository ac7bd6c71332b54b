/// `live:` — how `faultline load` and `faultline cluster` run the scenario on real processes.
/// The simulator ignores it; everything else in the scenario (nodes, streams, workload, faults,
/// checks, SLOs) means the same live as simulated.
public struct LiveSpec: Sendable, Equatable {
    /// Client connections per publish workload (each its own producer).
    public var connections: Int
    /// Most publishes in flight per connection; an intended send beyond it waits (and its
    /// coordinated-omission-corrected latency grows, as it should).
    public var maxInFlight: Int
    /// Start a nats-server next to the brokers and bind streams to their subjects (Liftbridge
    /// ingestion). Implied by `--target nats-jetstream` for the peer comparison.
    public var nats: Bool
    /// Replicas of the JetStream stream used by `--target nats-jetstream`.
    public var jetstreamReplicas: Int
    /// How long `faultline load` waits after the last send for outstanding acks.
    public var drain: Int64
    /// A crashed node loses what it had not fsynced before it restarts (its files are cut back
    /// to their synced lengths: the power loss the simulator's crash always is). Off by default:
    /// a SIGKILLed process keeps the page cache, so without it live crashes lose nothing unsynced.
    public var crashLosesUnsynced: Bool = false

    public init(connections: Int = 4, maxInFlight: Int = 1024, nats: Bool = false, jetstreamReplicas: Int = 3,
                drain: Int64 = 5_000_000_000) {
        self.connections = connections
        self.maxInFlight = maxInFlight
        self.nats = nats
        self.jetstreamReplicas = jetstreamReplicas
        self.drain = drain
    }

    public static let keys = ["connections", "max_in_flight", "nats", "jetstream_replicas", "drain", "crash_loses_unsynced"]
}

extension ScenarioBuilder {
    func live(_ node: SourceNode, _ path: String) -> LiveSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: LiveSpec.keys,
                               what: "a mapping of live-mode settings (connections, max_in_flight, nats, jetstream_replicas, drain, crash_loses_unsynced)")
        else { return nil }
        var spec = LiveSpec()
        if let n = f["connections"], let v = r.integer(n, KeyPath.child(path, "connections"), minimum: 1, expected: "a whole number ≥ 1") {
            spec.connections = v
        }
        if let n = f["max_in_flight"],
           let v = r.integer(n, KeyPath.child(path, "max_in_flight"), minimum: 1, expected: "a whole number ≥ 1") {
            spec.maxInFlight = v
        }
        if let n = f["nats"], let v = r.bool(n, KeyPath.child(path, "nats")) { spec.nats = v }
        if let n = f["jetstream_replicas"],
           let v = r.integer(n, KeyPath.child(path, "jetstream_replicas"), minimum: 1, expected: "1, 3 or 5") {
            if [1, 3, 5].contains(v) { spec.jetstreamReplicas = v } else {
                r.fail(n, KeyPath.child(path, "jetstream_replicas"), expected: "1, 3 or 5 (JetStream's replica counts)", found: "\(v)")
            }
        }
        if let n = f["drain"], let v = r.duration(n, KeyPath.child(path, "drain")) { spec.drain = v }
        if let n = f["crash_loses_unsynced"], let v = r.bool(n, KeyPath.child(path, "crash_loses_unsynced")) { spec.crashLosesUnsynced = v }
        return spec
    }
}
