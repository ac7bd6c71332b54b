import Sampling

/// `broker:` and `- publish:` workload entries.
extension ScenarioBuilder {
    static let brokerKeys = [
        "streams", "ack_policy", "truncation", "fsync", "unclean_election", "replica_lag_max", "leader_timeout",
        "fetch_interval", "fetch_wait", "hw_checkpoint_interval", "raft", "client_connection_reset", "idempotence",
    ]

    func broker(_ node: SourceNode, _ path: String, names: Names) -> BrokerSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.brokerKeys) else { return nil }
        var streams: [StreamDefinition] = []
        if let n = r.required(f, "streams", expected: "a list of streams such as [{name: orders, replication_factor: 3, min_isr: 2}]"),
           let items = r.sequence(n, f.path("streams"), of: "streams") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("streams"), i)
                guard let stream = self.stream(item, p, names: names) else { continue }
                if streams.contains(where: { $0.name == stream.name }) {
                    r.fail(item, p + ".name", expected: "a stream name used once", found: "'\(stream.name)' again")
                }
                streams.append(stream)
            }
            if items.isEmpty { r.fail(n, f.path("streams"), expected: "at least one stream") }
        }
        var spec = BrokerSpec(streams: streams)
        if let n = f["ack_policy"] {
            spec.ackPolicy = choice(n, f.path("ack_policy"), AckPolicySetting.self) ?? spec.ackPolicy
        }
        if let n = f["truncation"] {
            spec.truncation = choice(n, f.path("truncation"), TruncationSetting.self) ?? spec.truncation
        }
        if let n = f["fsync"] { spec.fsync = fsync(n, f.path("fsync")) ?? spec.fsync }
        if let n = f["unclean_election"] { spec.uncleanElection = r.bool(n, f.path("unclean_election")) ?? false }
        if let n = f["client_connection_reset"] {
            spec.clientConnectionReset = r.bool(n, f.path("client_connection_reset")) ?? false
        }
        if let n = f["idempotence"] { spec.idempotence = r.bool(n, f.path("idempotence")) ?? true }
        func positive(_ key: String, _ keyPath: WritableKeyPath<BrokerSpec, Int64>) {
            if let n = f[key], let value = r.duration(n, f.path(key), positive: true) { spec[keyPath: keyPath] = value }
        }
        positive("replica_lag_max", \.replicaLagMax)
        positive("leader_timeout", \.leaderTimeout)
        positive("fetch_interval", \.fetchInterval)
        positive("hw_checkpoint_interval", \.hwCheckpointInterval)
        if let n = f["fetch_wait"], let value = r.duration(n, f.path("fetch_wait")) {
            // A held fetch is the only news a follower gets from an idle leader: it must come
            // back before the follower reports the leader failed.
            if value >= spec.leaderTimeout {
                r.fail(n, f.path("fetch_wait"), expected: "a duration below leader_timeout (\(spec.leaderTimeout / Nanos.millisecond)ms), or 0ms for no long poll",
                       found: "\(value / Nanos.millisecond)ms")
            } else {
                spec.fetchWait = value
            }
        }
        if let n = f["raft"], let raft = r.fields(n, f.path("raft"), allowed: ["tick", "election_timeout", "heartbeat"]) {
            if let v = raft["tick"].flatMap({ r.duration($0, raft.path("tick"), positive: true) }) { spec.raftTick = v }
            if let v = raft["election_timeout"].flatMap({ r.duration($0, raft.path("election_timeout"), positive: true) }) {
                spec.electionTimeout = v
            }
            if let v = raft["heartbeat"].flatMap({ r.duration($0, raft.path("heartbeat"), positive: true) }) {
                spec.heartbeatInterval = v
            }
            if spec.electionTimeout < 2 * spec.raftTick || spec.heartbeatInterval >= spec.electionTimeout {
                r.fail(n, raft.path, expected: "tick ≤ election_timeout / 2 and heartbeat < election_timeout",
                       found: "tick \(spec.raftTick / Nanos.millisecond)ms, election_timeout \(spec.electionTimeout / Nanos.millisecond)ms, heartbeat \(spec.heartbeatInterval / Nanos.millisecond)ms")
            }
        }
        guard !streams.isEmpty else { return nil }
        return spec
    }

    func stream(_ node: SourceNode, _ path: String, names: Names) -> StreamDefinition? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["name", "subject", "replication_factor", "min_isr", "replicas"]) else {
            return nil
        }
        let name = r.required(f, "name", expected: "a stream name").flatMap { r.string($0, f.path("name")) }
        let subject = f["subject"].flatMap { r.string($0, f.path("subject"), expected: "a NATS subject") }
        var replicas: [String]?
        if let n = f["replicas"], let items = r.sequence(n, f.path("replicas"), of: "node names") {
            var chosen: [String] = []
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("replicas"), i)
                guard let node = r.string(item, p, expected: "a node name") else { continue }
                if !names.nodes.contains(node) {
                    r.fail(item, p, expected: "a node of the cluster (\(names.nodes.joined(separator: ", ")))",
                           found: "'\(node)'", hint: Suggest.hint(for: node, in: names.nodes))
                } else if chosen.contains(node) {
                    r.fail(item, p, expected: "each replica on a different node", found: "'\(node)' again")
                } else {
                    chosen.append(node)
                }
            }
            replicas = chosen
        }
        let factor = f["replication_factor"].map {
            r.integer($0, f.path("replication_factor"), minimum: 1, expected: "a positive integer")
        } ?? replicas?.count ?? min(3, names.nodes.count)
        if let factor, factor > names.nodes.count, let n = f["replication_factor"] {
            r.fail(n, f.path("replication_factor"), expected: "at most the number of nodes (\(names.nodes.count))",
                   found: "\(factor)")
        }
        if let factor, let replicas, replicas.count != factor, let n = f["replicas"] {
            r.fail(n, f.path("replicas"), expected: "exactly replication_factor (\(factor)) nodes", found: "\(replicas.count)")
        }
        let minISR = f["min_isr"].map { r.integer($0, f.path("min_isr"), minimum: 1, expected: "a positive integer") } ?? 1
        if let minISR, let factor, minISR > factor, let n = f["min_isr"] {
            r.fail(n, f.path("min_isr"), expected: "at most replication_factor (\(factor))", found: "\(minISR)")
        }
        guard let name, let factor, let minISR else { return nil }
        return StreamDefinition(name: name, subject: subject ?? name, replicationFactor: factor, minISR: minISR,
                                replicas: replicas)
    }

    func fsync(_ node: SourceNode, _ path: String) -> FsyncSetting? {
        let r = reader
        switch node.scalar {
        case "always": return .always
        case "never": return .never
        case "interval": break
        case .some(let text) where text.first?.isNumber == true:
            // `fsync: 5ms` is short for `{interval: 5ms}` (so `compare:` and `--set` can name it).
            return r.duration(node, path, positive: true).map { .interval($0) }
        case .some(let text):
            r.fail(node, path, expected: "always, never, an interval such as 50ms or {interval: 50ms}", found: "'\(text)'",
                   hint: Suggest.hint(for: text, in: ["always", "never", "interval"]))
            return nil
        case nil: break
        }
        guard let f = r.fields(node, path, allowed: ["interval"], what: "always, never or {interval: 50ms}"),
              let n = r.required(f, "interval", expected: "how often to fsync, such as 50ms"),
              let interval = r.duration(n, f.path("interval"), positive: true)
        else { return nil }
        return .interval(interval)
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: SourceNode, _ path: String, _ type: T.Type) -> T?
    where T.RawValue == String {
        let options = T.allCases.map(\.rawValue)
        guard let text = reader.string(node, path, expected: "one of \(options.joined(separator: ", "))") else { return nil }
        guard let value = T(rawValue: text) else {
            reader.fail(node, path, expected: "one of \(options.joined(separator: ", "))", found: "'\(text)'",
                        hint: Suggest.hint(for: text, in: options))
            return nil
        }
        return value
    }

    static let publishKeys = ["stream", "rate", "interarrival", "size", "timeout", "retries", "start", "stop"]

    func publish(_ node: SourceNode, _ path: String, names: Names) -> PublishWorkload? {
        let r = reader
        guard let outer = r.fields(node, path, allowed: ["requests", "publish"]),
              let body = r.required(outer, "publish", expected: "{stream: …, rate: …}")
        else { return nil }
        guard let f = r.fields(body, outer.path("publish"), allowed: ScenarioBuilder.publishKeys) else { return nil }
        var stream: String?
        if let n = r.required(f, "stream", expected: "the name of a stream"), let s = r.string(n, f.path("stream")) {
            if names.streams.contains(s) {
                stream = s
            } else {
                r.fail(n, f.path("stream"), expected: names.hasBroker
                        ? "a stream from broker.streams (\(names.streams.joined(separator: ", ")))"
                        : "a stream (publish needs a broker: section)",
                       found: "'\(s)'", hint: Suggest.hint(for: s, in: names.streams))
            }
        }
        let arrivals = self.arrivals(f, what: "how messages arrive")
        let size = f["size"].map { r.size($0, f.path("size")) } ?? 0
        let timeout = f["timeout"].map { r.duration($0, f.path("timeout"), positive: true) } ?? Nanos.second
        let retries = f["retries"].map { r.integer($0, f.path("retries"), minimum: 0, expected: "a non-negative integer") } ?? 3
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        let stop = f["stop"].flatMap { r.duration($0, f.path("stop")) }
        guard let stream, let arrivals, let size, let timeout, let retries, let start else { return nil }
        return PublishWorkload(stream: stream, arrivals: arrivals, sizeBytes: size, timeout: timeout, retries: retries,
                               start: start, stop: stop)
    }
}

extension ScenarioBuilder {
    /// The kind of a workload entry: its first key (`requests`, `publish`, `consume`).
    static func workloadKind(_ item: SourceNode) -> String? {
        guard let entries = item.entries, let first = entries.first else { return nil }
        return first.key.scalar
    }

    func consume(_ node: SourceNode, _ path: String, names: Names) -> ConsumeWorkload? {
        let r = reader
        guard let outer = r.fields(node, path, allowed: ["requests", "publish", "consume"]),
              let body = r.required(outer, "consume", expected: "{stream: …}")
        else { return nil }
        guard let f = r.fields(body, outer.path("consume"), allowed: ["stream", "poll", "max_batch", "start"]) else { return nil }
        var stream: String?
        if let n = r.required(f, "stream", expected: "the name of a stream"), let s = r.string(n, f.path("stream")) {
            if names.streams.contains(s) {
                stream = s
            } else {
                r.fail(n, f.path("stream"), expected: names.hasBroker
                        ? "a stream from broker.streams (\(names.streams.joined(separator: ", ")))"
                        : "a stream (consume needs a broker: section)",
                       found: "'\(s)'", hint: Suggest.hint(for: s, in: names.streams))
            }
        }
        let poll = f["poll"].map { r.duration($0, f.path("poll"), positive: true) } ?? 10 * Nanos.millisecond
        let batch = f["max_batch"].map { r.integer($0, f.path("max_batch"), minimum: 1, expected: "a positive integer") } ?? 500
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        guard let stream, let poll, let batch, let start else { return nil }
        return ConsumeWorkload(stream: stream, pollInterval: poll, maxBatch: batch, start: start)
    }
}
