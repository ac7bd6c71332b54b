import Foundation
import SimCore

/// YAML scenario file → validated `Scenario`. The format is documented in Scenarios/README.md.
public enum ScenarioLoader {
    public static let topLevelKeys = [
        "name", "description", "duration", "warmup", "seeds", "cluster", "stations", "workload", "faults",
        "nemesis", "checks", "slos",
    ]

    /// Reads and validates a scenario file. `overrides` are `key.path=value` strings (`--set`).
    public static func load(path: String, overrides: [String] = []) throws(ScenarioErrors) -> Scenario {
        let file = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ScenarioErrors([ScenarioError(
                location: SourceLocation(file: path, line: 1, column: 1), keyPath: "",
                expected: "a readable scenario file",
                found: exists ? (isDirectory.boolValue ? "a directory" : "a file that cannot be read") : "no such file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors([ScenarioError(
                location: SourceLocation(file: file, line: 1, column: 1), keyPath: "",
                expected: "UTF-8 text", found: "bytes that are not UTF-8")])
        }
        return try parse(yaml: text, file: file, overrides: overrides)
    }

    /// Parses and validates scenario text; `file` is only used in error locations and `sourceFile`.
    public static func parse(yaml: String, file: String, overrides: [String] = []) throws(ScenarioErrors) -> Scenario {
        var root: SourceNode
        switch SourceNode.parse(yaml: yaml, file: file) {
        case .success(let node): root = node
        case .failure(let error): throw ScenarioErrors([error])
        }
        var overrideErrors: [ScenarioError] = []
        for (index, text) in overrides.enumerated() {
            if let error = Overrides.apply(text, line: index + 1, to: &root) { overrideErrors.append(error) }
        }
        let reader = Reader()
        reader.errors = overrideErrors
        let scenario = ScenarioBuilder(reader: reader, file: file).build(root)
        if !reader.errors.isEmpty { throw ScenarioErrors(reader.errors) }
        guard let scenario else {
            // Every path that returns nil records an error; this is a belt-and-braces guard.
            throw ScenarioErrors([ScenarioError(location: root.location, keyPath: "", expected: "a valid scenario",
                                                found: "an invalid one")])
        }
        return scenario
    }
}

/// Names that selectors and references may use, collected from the parts read earlier.
struct Names {
    var nodes: [String] = []
    var zones: [String] = []
    var stations: [String] = []
}

struct ScenarioBuilder {
    let reader: Reader
    let file: String

    func build(_ root: SourceNode) -> Scenario? {
        let r = reader
        let top: SourceNode = root.isNull
            ? SourceNode(kind: .mapping([]), location: root.location) : root
        guard let f = r.fields(top, "", allowed: ScenarioLoader.topLevelKeys,
                               what: "a mapping of scenario keys (name, duration, cluster, …)") else { return nil }

        let name = f["name"].flatMap { r.string($0, "name") }
            ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let description = f["description"].flatMap { r.string($0, "description", expected: "text") } ?? ""
        let duration = r.required(f, "duration", expected: "a positive duration such as 60s")
            .flatMap { r.duration($0, "duration", positive: true) }
        let warmup = f["warmup"].flatMap { r.duration($0, "warmup") } ?? 0
        if let duration, let node = f["warmup"], warmup >= duration {
            r.fail(node, "warmup", expected: "a warm-up shorter than the duration (\(duration / Nanos.millisecond)ms)")
        }
        let seeds = f["seeds"].flatMap { r.integer($0, "seeds", minimum: 1, expected: "a positive integer") } ?? 10

        var names = Names()
        let cluster = f["cluster"].flatMap { self.cluster($0, "cluster") } ?? ClusterSpec()
        names.nodes = cluster.nodes.map(\.name)
        names.zones = cluster.zones

        var stations: [StationSpec] = []
        if let node = f["stations"], let items = r.sequence(node, "stations", of: "stations") {
            for (i, item) in items.enumerated() {
                let path = KeyPath.index("stations", i)
                guard let station = self.station(item, path, names: names) else { continue }
                if stations.contains(where: { $0.name == station.name }) {
                    r.fail(item, path + ".name", expected: "a station name used once", found: "'\(station.name)' again")
                }
                stations.append(station)
            }
        }
        names.stations = stations.map(\.name)

        var workload: [RequestWorkload] = []
        if let node = f["workload"], let items = r.sequence(node, "workload", of: "workload entries such as - requests: {…}") {
            for (i, item) in items.enumerated() {
                if let entry = self.workload(item, KeyPath.index("workload", i), names: names, duration: duration) {
                    workload.append(entry)
                }
            }
        }

        var faults: [FaultEvent] = []
        if let node = f["faults"], let items = r.sequence(node, "faults", of: "faults such as - {at: 10s, crash: n1}") {
            for (i, item) in items.enumerated() {
                if let fault = FaultReader(reader: r, names: names).fault(item, KeyPath.index("faults", i)) {
                    faults.append(fault)
                }
            }
        }
        faults = faults.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)

        let nemesis = f["nemesis"].flatMap { self.nemesis($0, "nemesis", names: names) }

        var checks: [String] = []
        if let node = f["checks"], let items = r.sequence(node, "checks", of: "check names") {
            for (i, item) in items.enumerated() {
                let path = KeyPath.index("checks", i)
                guard let check = r.string(item, path, expected: "a check name") else { continue }
                if Scenario.knownChecks.contains(check) {
                    if !checks.contains(check) { checks.append(check) }
                } else {
                    r.fail(item, path, expected: "one of the checks \(Scenario.knownChecks.joined(separator: ", "))",
                           found: "unknown check '\(check)'", hint: Suggest.hint(for: check, in: Scenario.knownChecks))
                }
            }
        }

        let slos = f["slos"].map { self.slos($0, "slos") } ?? []

        guard let duration else { return nil }
        return Scenario(name: name, description: description, duration: duration, warmup: warmup, seeds: seeds,
                        cluster: cluster, stations: stations, workload: workload, faults: faults, nemesis: nemesis,
                        checks: checks, slos: slos, sourceFile: file)
    }

    // MARK: Cluster

    func cluster(_ node: SourceNode, _ path: String) -> ClusterSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["nodes", "zones", "network", "disk", "clients"]) else { return nil }
        var spec = ClusterSpec()

        var zones: [String]? = nil
        if let zonesNode = f["zones"], let items = r.sequence(zonesNode, f.path("zones"), of: "zone names such as [a, b, c]") {
            var list: [String] = []
            for (i, item) in items.enumerated() {
                guard let zone = r.string(item, KeyPath.index(f.path("zones"), i), expected: "a zone name") else { continue }
                if list.contains(zone) {
                    r.fail(item, KeyPath.index(f.path("zones"), i), expected: "a zone name used once", found: "'\(zone)' again")
                } else {
                    list.append(zone)
                }
            }
            if list.isEmpty && items.isEmpty { r.fail(zonesNode, f.path("zones"), expected: "at least one zone") }
            if !list.isEmpty { zones = list }
        }

        if let nodesNode = f["nodes"] {
            let nodesPath = f.path("nodes")
            let roundRobin = zones ?? ["a"]
            if nodesNode.scalar != nil {
                if let count = r.integer(nodesNode, nodesPath, minimum: 1,
                                         expected: "a positive number of nodes or a list such as [{name: db1, zone: a}]") {
                    spec.nodes = (0..<count).map { NodeSpec(name: "n\($0 + 1)", zone: roundRobin[$0 % roundRobin.count]) }
                }
            } else if let items = r.sequence(nodesNode, nodesPath,
                                             of: "nodes such as [{name: db1, zone: a}], or a node count") {
                var nodes: [NodeSpec] = []
                for (i, item) in items.enumerated() {
                    let itemPath = KeyPath.index(nodesPath, i)
                    var nodeName: String?
                    var zone = roundRobin[i % roundRobin.count]
                    var zoneNode: SourceNode?
                    if item.scalar != nil {
                        nodeName = r.string(item, itemPath, expected: "a node name")
                    } else if let nf = r.fields(item, itemPath, allowed: ["name", "zone"]) {
                        nodeName = r.required(nf, "name", expected: "a node name").flatMap { r.string($0, nf.path("name")) }
                        if let z = nf["zone"], let name = r.string(z, nf.path("zone"), expected: "a zone name") {
                            zone = name
                            zoneNode = z
                        }
                    }
                    guard let nodeName else { continue }
                    if nodeName == ClusterSpec.clientName || Selectors.keywords.contains(nodeName) {
                        r.fail(item, itemPath, expected: "a node name that is not reserved",
                               found: "'\(nodeName)'", hint: "'\(nodeName)' is a selector keyword or the client process")
                    } else if nodes.contains(where: { $0.name == nodeName }) {
                        r.fail(item, itemPath, expected: "a node name used once", found: "'\(nodeName)' again")
                    }
                    if let zones, let zoneNode, !zones.contains(zone) {
                        r.fail(zoneNode, KeyPath.child(itemPath, "zone"), expected: "a zone from cluster.zones (\(zones.joined(separator: ", ")))",
                               found: "'\(zone)'", hint: Suggest.hint(for: zone, in: zones))
                    }
                    nodes.append(NodeSpec(name: nodeName, zone: zone))
                }
                if items.isEmpty { r.fail(nodesNode, nodesPath, expected: "at least one node") }
                if !nodes.isEmpty { spec.nodes = nodes }
            }
        } else if let zones {
            spec.nodes = [NodeSpec(name: "n1", zone: zones[0])]
        }

        // Without an explicit zone list, the zones are those the nodes name, in order.
        spec.zones = zones ?? spec.nodes.reduce(into: [String]()) { if !$0.contains($1.zone) { $0.append($1.zone) } }
        if spec.zones.isEmpty { spec.zones = ["a"] }
        spec.clients = NodeSpec(name: ClusterSpec.clientName, zone: spec.zones[0])

        if let net = f["network"] { spec.network = network(net, f.path("network")) ?? spec.network }
        if let disk = f["disk"] { spec.disk = self.disk(disk, f.path("disk")) ?? spec.disk }
        if let clientsNode = f["clients"], let cf = r.fields(clientsNode, f.path("clients"), allowed: ["zone"]) {
            if let z = cf["zone"], let zone = r.string(z, cf.path("zone"), expected: "a zone name") {
                if spec.zones.contains(zone) {
                    spec.clients.zone = zone
                } else {
                    r.fail(z, cf.path("zone"), expected: "a zone of the cluster (\(spec.zones.joined(separator: ", ")))",
                           found: "'\(zone)'", hint: Suggest.hint(for: zone, in: spec.zones))
                }
            }
        }
        return spec
    }

    func network(_ node: SourceNode, _ path: String) -> NetworkSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["latency", "cross_zone", "loss", "duplicate", "bandwidth"]) else {
            return nil
        }
        var spec = NetworkSpec()
        if let n = f["latency"], let d = r.distribution(n, f.path("latency")) { spec.latency = d }
        if let n = f["cross_zone"] {
            if let cf = r.fields(n, f.path("cross_zone"), allowed: ["add"], what: "{add: <duration or distribution>}"),
               let add = r.required(cf, "add", expected: "the extra latency between zones, such as 1ms") {
                spec.crossZoneExtra = r.distribution(add, cf.path("add"))
            }
        }
        if let n = f["loss"], let p = r.probability(n, f.path("loss")) { spec.loss = p }
        if let n = f["duplicate"], let p = r.probability(n, f.path("duplicate")) { spec.duplicate = p }
        if let n = f["bandwidth"],
           let b = r.unit(n, f.path("bandwidth"), expected: "a bandwidth such as 125MB/s", Units.bandwidth) {
            if b > 0 { spec.bandwidthBytesPerSecond = b } else {
                r.fail(n, f.path("bandwidth"), expected: "a positive bandwidth such as 125MB/s")
            }
        }
        return spec
    }

    func disk(_ node: SourceNode, _ path: String) -> DiskSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["write", "fsync", "torn_writes", "corruption"]) else { return nil }
        var spec = DiskSpec()
        if let n = f["write"], let d = r.distribution(n, f.path("write")) { spec.write = d }
        if let n = f["fsync"], let d = r.distribution(n, f.path("fsync")) { spec.fsync = d }
        if let n = f["torn_writes"], let b = r.bool(n, f.path("torn_writes")) { spec.tornWrites = b }
        if let n = f["corruption"], let p = r.probability(n, f.path("corruption")) { spec.corruption = p }
        return spec
    }

    // MARK: Stations

    func station(_ node: SourceNode, _ path: String, names: Names) -> StationSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["name", "node", "servers", "service", "queue_limit"]) else { return nil }
        let name = r.required(f, "name", expected: "a station name").flatMap { r.string($0, f.path("name")) }
        var host = names.nodes.first ?? "n1"
        if let n = f["node"], let nodeName = r.string(n, f.path("node"), expected: "a node name") {
            if names.nodes.contains(nodeName) {
                host = nodeName
            } else {
                r.fail(n, f.path("node"), expected: "a node of the cluster (\(names.nodes.joined(separator: ", ")))",
                       found: "'\(nodeName)'", hint: Suggest.hint(for: nodeName, in: names.nodes))
            }
        }
        let servers = f["servers"].map { r.integer($0, f.path("servers"), minimum: 1, expected: "a positive integer") } ?? 1
        let service = r.required(f, "service", expected: "a service-time distribution such as {exponential: 2ms}")
            .flatMap { r.distribution($0, f.path("service")) }
        var queueLimit: Int?
        if let n = f["queue_limit"], n.scalar != "unbounded" {
            queueLimit = r.integer(n, f.path("queue_limit"), minimum: 0,
                                   expected: "a non-negative integer, or unbounded")
        }
        guard let name, let servers, let service else { return nil }
        return StationSpec(name: name, node: host, servers: servers, service: service, queueLimit: queueLimit)
    }

    // MARK: Workload

    static let requestKeys = ["station", "rate", "interarrival", "timeout", "size", "response_size", "start", "stop"]

    func workload(_ node: SourceNode, _ path: String, names: Names, duration: Int64?) -> RequestWorkload? {
        let r = reader
        guard let outer = r.fields(node, path, allowed: ["requests"], what: "a workload entry such as requests: {station: …, rate: 1000/s}"),
              let kind = r.exactlyOne(outer, of: ["requests"], what: "the kind of workload"),
              let body = r.required(outer, kind, expected: "{station: …, rate: …}")
        else { return nil }
        let p = outer.path(kind)
        guard let f = r.fields(body, p, allowed: ScenarioBuilder.requestKeys) else { return nil }

        var station: String?
        if let n = r.required(f, "station", expected: "the name of a station"),
           let s = r.string(n, f.path("station"), expected: "a station name") {
            if names.stations.contains(s) {
                station = s
            } else {
                r.fail(n, f.path("station"), expected: "a station from stations (\(names.stations.joined(separator: ", ")))",
                       found: "'\(s)'", hint: Suggest.hint(for: s, in: names.stations))
            }
        }

        var arrivals: ArrivalProcess?
        if let which = r.exactlyOne(f, of: ["rate", "interarrival"], what: "how requests arrive"), let n = f[which] {
            if which == "interarrival" {
                arrivals = r.distribution(n, f.path(which)).map { .interarrival($0) }
            } else {
                arrivals = arrivalRate(n, f.path(which))
            }
        }

        let timeout = f["timeout"].flatMap { r.duration($0, f.path("timeout"), positive: true) }
        let size = f["size"].map { r.size($0, f.path("size")) } ?? 0
        let responseSize = f["response_size"].map { r.size($0, f.path("response_size")) } ?? 0
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        let stop = f["stop"].flatMap { r.duration($0, f.path("stop")) }
        if let start, let stop, let n = f["stop"], stop <= start {
            r.fail(n, f.path("stop"), expected: "a stop time after start (\(start / Nanos.millisecond)ms)")
        }
        guard let station, let arrivals, let size, let responseSize, let start else { return nil }
        return RequestWorkload(station: station, arrivals: arrivals, timeout: timeout, requestBytes: size,
                               responseBytes: responseSize, start: start, stop: stop)
    }

    func arrivalRate(_ node: SourceNode, _ path: String) -> ArrivalProcess? {
        let r = reader
        if node.scalar != nil { return r.rate(node, path).map { .poisson(perSecond: $0) } }
        guard let f = r.fields(node, path, allowed: ["poisson", "constant"],
                               what: "a rate such as 1500/s, {poisson: 1500/s} or {constant: 100/s}"),
              let which = r.exactlyOne(f, of: ["poisson", "constant"], what: "the arrival process"),
              let n = r.required(f, which, expected: "a rate such as 1500/s"),
              let rate = r.rate(n, f.path(which))
        else { return nil }
        return which == "poisson" ? .poisson(perSecond: rate) : .constant(perSecond: rate)
    }

    // MARK: Nemesis

    func nemesis(_ node: SourceNode, _ path: String, names: Names) -> NemesisSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["interval", "duration", "start", "stop", "actions", "targets"]) else {
            return nil
        }
        let interval = r.required(f, "interval", expected: "a positive duration such as 10s")
            .flatMap { r.duration($0, f.path("interval"), positive: true) }
        let duration = r.required(f, "duration", expected: "how long each fault lasts, such as 3s")
            .flatMap { r.duration($0, f.path("duration"), positive: true) }
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        let stop = f["stop"].flatMap { r.duration($0, f.path("stop")) }
        if let start, let stop, let n = f["stop"], stop <= start {
            r.fail(n, f.path("stop"), expected: "a stop time after start")
        }
        var actions: [NemesisAction] = []
        let known = NemesisAction.allCases.map(\.rawValue)
        if let n = r.required(f, "actions", expected: "a list of actions from \(known.joined(separator: ", "))"),
           let items = r.sequence(n, f.path("actions"), of: "actions from \(known.joined(separator: ", "))") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("actions"), i)
                guard let text = r.string(item, p, expected: "an action name") else { continue }
                if let action = NemesisAction(rawValue: text) {
                    if !actions.contains(action) { actions.append(action) }
                } else {
                    r.fail(item, p, expected: "one of \(known.joined(separator: ", "))", found: "'\(text)'",
                           hint: Suggest.hint(for: text, in: known))
                }
            }
            if items.isEmpty { r.fail(n, f.path("actions"), expected: "at least one action") }
        }
        var targets = Selector.randomNode
        if let n = f["targets"], let s = Selectors(reader: r, names: names).selector(n, f.path("targets")) { targets = s }
        guard let interval, let duration, let start, !actions.isEmpty else { return nil }
        return NemesisSpec(interval: interval, duration: duration, start: start, stop: stop, actions: actions,
                           targets: targets)
    }

    // MARK: SLOs

    func slos(_ node: SourceNode, _ path: String) -> [SLOSpec] {
        let r = reader
        guard let entries = node.entries else {
            r.fail(node, path, expected: "a mapping of objectives such as {request_latency_p99: 50ms, error_rate: 1%}")
            return []
        }
        var result: [SLOSpec] = []
        let metricNames = SLOSpec.knownMetrics.map(\.name)
        for (keyNode, valueNode) in entries {
            guard let name = keyNode.scalar else {
                r.fail(keyNode, path, expected: "an objective name such as request_latency_p99")
                continue
            }
            let p = KeyPath.child(path, name)
            var metric = name
            var statistic = "mean"
            if let underscore = name.lastIndex(of: "_") {
                let suffix = String(name[name.index(after: underscore)...])
                if SLOSpec.statistics.contains(suffix) || suffix == "min" {
                    metric = String(name[..<underscore])
                    statistic = suffix
                }
            }
            guard let kind = SLOSpec.knownMetrics.first(where: { $0.name == metric })?.kind else {
                r.fail(keyNode, p, expected: "a known metric (\(metricNames.joined(separator: ", "))) "
                       + "optionally followed by _p50, _p90, _p99, _p999, _mean or _max",
                       found: "unknown metric '\(metric)'", hint: Suggest.hint(for: metric, in: metricNames))
                continue
            }
            if statistic == "min" && kind != .perSecond {
                r.fail(keyNode, p, expected: "a statistic among \(SLOSpec.statistics.joined(separator: ", ")) for \(metric)",
                       found: "'min'", hint: "only throughput_per_s has a lower bound (_min)")
                continue
            }
            let limit: Double?
            switch kind {
            case .latency:
                limit = r.unit(valueNode, p, expected: "a latency limit such as 50ms", { text throws(UnitError) in
                    try Units.durationNanos(text)
                }).map { $0 / 1e6 }
            case .fraction:
                limit = r.probability(valueNode, p)
            case .perSecond:
                if let text = valueNode.scalar, let plain = Units.number(text), plain >= 0 {
                    limit = plain
                } else {
                    limit = r.unit(valueNode, p, expected: "a throughput such as 900/s", Units.rate)
                }
            }
            if let limit { result.append(SLOSpec(name: name, metric: metric, statistic: statistic, limit: limit)) }
        }
        return result
    }
}
