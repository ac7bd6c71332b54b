import Foundation
import Sampling

/// `stations:` and `workload:`.
extension ScenarioBuilder {
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
    /// The kinds of workload entry (each entry's one key).
    static let workloadKinds = ["requests", "publish", "consume", "calls"]
    static let workloadEntryExample = "a workload entry such as requests: {station: …, rate: 1000/s}, publish: {stream: …, rate: …}, consume: {stream: …} or calls: {rate: …}"

    func workload(_ node: SourceNode, _ path: String, names: Names, duration: Int64?) -> RequestWorkload? {
        let r = reader
        guard let outer = r.fields(node, path, allowed: ScenarioBuilder.workloadKinds, what: ScenarioBuilder.workloadEntryExample),
              let kind = r.exactlyOne(outer, of: ScenarioBuilder.workloadKinds, what: "the kind of workload"), kind == "requests",
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

        let arrivals = self.arrivals(f, what: "how requests arrive")
        let timeout = f["timeout"].flatMap { r.duration($0, f.path("timeout"), positive: true) }
        let size = f["size"].map { r.size($0, f.path("size")) } ?? 0
        let responseSize = f["response_size"].map { r.size($0, f.path("response_size")) } ?? 0
        let (start, stop) = window(f)
        guard let station, let arrivals, let size, let responseSize, let start else { return nil }
        return RequestWorkload(station: station, arrivals: arrivals, timeout: timeout, requestBytes: size,
                               responseBytes: responseSize, start: start, stop: stop)
    }

    /// `rate:` or `interarrival:` (exactly one) — how an open-loop stream's requests arrive.
    func arrivals(_ f: Fields, what: String) -> ArrivalProcess? {
        guard let which = reader.exactlyOne(f, of: ["rate", "interarrival"], what: what), let n = f[which] else { return nil }
        if which == "interarrival" { return reader.distribution(n, f.path(which)).map { .interarrival($0) } }
        return arrivalRate(n, f.path(which))
    }

    /// `start:` (default 0s) and `stop:` (default the end of the run), `stop > start`.
    func window(_ f: Fields) -> (start: Int64?, stop: Int64?) {
        let r = reader
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        let stop = f["stop"].flatMap { r.duration($0, f.path("stop")) }
        if let start, let stop, let n = f["stop"], stop <= start {
            r.fail(n, f.path("stop"), expected: "a stop time after start (\(start / Nanos.millisecond)ms)")
        }
        return (start, stop)
    }

    static let arrivalRateExample = "a rate such as 1500/s, {poisson: 1500/s}, {constant: 100/s} or {ramp: {from: 100/s, to: 5000/s, over: 30s}}"

    func arrivalRate(_ node: SourceNode, _ path: String) -> ArrivalProcess? {
        let r = reader
        if node.scalar != nil { return r.rate(node, path).map { .poisson(perSecond: $0) } }
        let kinds = ["poisson", "constant", "ramp"]
        guard let f = r.fields(node, path, allowed: kinds, what: ScenarioBuilder.arrivalRateExample),
              let which = r.exactlyOne(f, of: kinds, what: "the arrival process")
        else { return nil }
        if which == "ramp" {
            return r.required(f, which, expected: "{from: 100/s, to: 5000/s, over: 30s}")
                .flatMap { rampArrivals($0, f.path(which)) }
        }
        guard let n = r.required(f, which, expected: "a rate such as 1500/s"),
              let rate = r.rate(n, f.path(which))
        else { return nil }
        return which == "poisson" ? .poisson(perSecond: rate) : .constant(perSecond: rate)
    }

    /// `{from: 100/s, to: 5000/s, over: 30s}`: Poisson arrivals whose rate grows linearly from
    /// `from` (may be `0/s`) to `to` (> 0) over `over` after the workload's start, then stays at `to`.
    func rampArrivals(_ node: SourceNode, _ path: String) -> ArrivalProcess? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["from", "to", "over"],
                               what: "a ramp such as {from: 100/s, to: 5000/s, over: 30s}")
        else { return nil }
        let from = r.required(f, "from", expected: "the starting rate such as 100/s (may be 0/s)")
            .flatMap { r.unit($0, f.path("from"), expected: "a rate such as 100/s", Units.rate) }
        let to = r.required(f, "to", expected: "the final rate such as 5000/s").flatMap { r.rate($0, f.path("to")) }
        let over = r.required(f, "over", expected: "the ramp's length such as 30s")
            .flatMap { r.duration($0, f.path("over"), positive: true) }
        guard let from, let to, let over else { return nil }
        return .ramp(fromPerSecond: from, toPerSecond: to, over: over)
    }
}
