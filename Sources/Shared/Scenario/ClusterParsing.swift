import Foundation
import Sampling

/// `cluster:` — nodes, zones, network, disk and where the clients run.
extension ScenarioBuilder {
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
                    if nodeName == ClusterSpec.clientName || Selectors.parse(nodeName) != .node(nodeName) {
                        r.fail(item, itemPath, expected: "a node name that is not reserved and has no brackets, commas or spaces",
                               found: "'\(nodeName)'", hint: "selector keywords and 'client' cannot name nodes")
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
}
