import Sampling

/// `services:` (the call graph), `auth:` (token validation) and `- calls:` workload entries —
/// the OAuth fan-out model of `Mesh.swift`.
extension ScenarioBuilder {
    static let servicesKeys = ["graph", "list", "defaults", "latency", "slow_threshold"]
    static let graphShapes = ["tree", "layered", "random-dag"]
    static let graphShapeKeys: [String: [String]] = [
        "tree": ["depth", "fanout"],
        "layered": ["layers", "width", "edges"],
        "random-dag": ["services", "edge_probability"],
    ]
    static let serviceKeys = ["name", "zones", "replicas", "servers", "work", "queue_limit", "account", "region", "calls"]
    static let callKeys = ["to", "mode", "timeout", "retries", "copies", "soft"]
    static let serviceDefaultsKeys = ["replicas", "servers", "work", "queue_limit", "call"]
    static let latencyKeys = ["same_host", "same_zone", "cross_zone", "cross_account", "cross_region", "client"]
    static let authKeys = [
        "strategy", "tokeninfo", "central", "local", "verify_cost", "leeway", "tokens", "key_rotation", "forged_tokens",
        "revocations",
    ]
    static let callsKeys = ["entry", "rate", "interarrival", "timeout", "start", "stop"]
    /// The most services a generated graph may have.
    static let maxServices = 100_000
    /// The most service replicas (processes) a call graph may have.
    static let maxReplicas = 1_000_000
    /// Names the model gives its own processes and services; a service of the graph cannot take them.
    static let reservedServiceNames = [MeshNaming.tokeninfo, MeshNaming.tokenProvider, MeshNaming.jwks, ClusterSpec.clientName]

    // MARK: services

    func mesh(_ node: SourceNode, _ path: String, names: Names) -> MeshSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.servicesKeys,
                               what: "a call graph: {graph: {shape: tree, depth: 2, fanout: 4}} or {list: [services]}, "
                                   + "with optional defaults and latency")
        else { return nil }
        var defaults = ServiceDefaults()
        if let n = f["defaults"] { defaults = serviceDefaults(n, f.path("defaults")) ?? defaults }
        var latency = PlacementLatency()
        if let n = f["latency"] { latency = placementLatency(n, f.path("latency")) ?? latency }
        guard let which = r.exactlyOne(f, of: ["graph", "list"], what: "a generated or a written-out call graph") else {
            return nil
        }
        let graph: GraphSpec?
        if which == "graph" {
            graph = r.required(f, "graph", expected: "a generated graph such as {shape: tree, depth: 2, fanout: 4}")
                .flatMap { generatedGraph($0, f.path("graph")) }
        } else {
            graph = r.required(f, "list", expected: "a list of services such as [{name: api, calls: [orders]}, {name: orders}]")
                .flatMap { explicitGraph($0, f.path("list"), defaults: defaults, names: names) }
        }
        var slowThreshold: Int64?
        if let n = f["slow_threshold"] {
            guard let t = r.duration(n, f.path("slow_threshold"), positive: true) else { return nil }
            slowThreshold = t
        }
        guard let graph else { return nil }
        var spec = MeshSpec(graph: graph, defaults: defaults, latency: latency)
        spec.slowThreshold = slowThreshold
        return spec
    }

    /// `graph: {shape: tree, depth: 2, fanout: 4}`, `{shape: layered, layers: 4, width: 5, edges: 2}` or
    /// `{shape: random-dag, services: 20, edge_probability: 20%}`.
    func generatedGraph(_ node: SourceNode, _ path: String) -> GraphSpec? {
        let r = reader
        let shapes = ScenarioBuilder.graphShapes
        // The shape decides which other keys belong, so it is read first.
        var shape: String?
        if let shapeNode = node.entries?.first(where: { $0.key.scalar == "shape" })?.value, !shapeNode.isNull,
           let text = r.string(shapeNode, KeyPath.child(path, "shape"), expected: "one of \(shapes.joined(separator: ", "))") {
            if shapes.contains(text) { shape = text } else {
                r.fail(shapeNode, KeyPath.child(path, "shape"), expected: "one of \(shapes.joined(separator: ", "))",
                       found: "'\(text)'", hint: Suggest.hint(for: text, in: shapes))
                return nil
            }
        }
        let allowed = ["shape"] + (shape.map { ScenarioBuilder.graphShapeKeys[$0] ?? [] }
            ?? shapes.flatMap { ScenarioBuilder.graphShapeKeys[$0] ?? [] })
        guard let f = r.fields(node, path, allowed: allowed, what: "a generated graph such as {shape: tree, depth: 2, fanout: 4}")
        else { return nil }
        guard let shape else {
            _ = r.required(f, "shape", expected: "the graph's shape: \(shapes.joined(separator: ", "))")
            return nil
        }
        func count(_ key: String, minimum: Int, _ expected: String) -> Int? {
            r.required(f, key, expected: expected).flatMap { r.integer($0, f.path(key), minimum: minimum, expected: expected) }
        }
        let graph: GraphSpec
        let size: Int?
        let what: String
        switch shape {
        case "tree":
            let depth = count("depth", minimum: 0, "a depth ≥ 0 (levels below the root)")
            let fanout = count("fanout", minimum: 1, "a fanout ≥ 1 (calls each service makes)")
            guard let depth, let fanout else { return nil }
            graph = .tree(depth: depth, fanout: fanout)
            size = ScenarioBuilder.treeSize(depth: depth, fanout: fanout)
            what = "a tree of depth \(depth) and fanout \(fanout)"
        case "layered":
            let layers = count("layers", minimum: 1, "a positive number of layers")
            let width = count("width", minimum: 1, "a positive number of services per layer")
            let edges = count("edges", minimum: 1, "a positive number of calls per service (into the next layer)")
            guard let layers, let width, let edges else { return nil }
            graph = .layered(layers: layers, width: width, edges: edges)
            let (product, overflow) = layers.multipliedReportingOverflow(by: width)
            size = overflow ? nil : product
            what = "\(layers) layers of \(width)"
        default:
            let services = count("services", minimum: 1, "a positive number of services")
            let probability = r.required(f, "edge_probability", expected: "the probability of each edge i → j, such as 20%")
                .flatMap { r.probability($0, f.path("edge_probability")) }
            guard let services, let probability else { return nil }
            graph = .randomDAG(services: services, edgeProbability: probability)
            size = services
            what = "a random DAG"
        }
        let limit = ScenarioBuilder.maxServices
        if size.map({ $0 > limit }) ?? true {
            r.fail(node, path, expected: "a call graph of at most \(limit) services",
                   found: "\(what) with \(size.map { "\($0)" } ?? "more than \(Int.max)") services")
            return nil
        }
        return graph
    }

    /// 1 + fanout + … + fanout^depth; `nil` when it does not fit an `Int`.
    static func treeSize(depth: Int, fanout: Int) -> Int? {
        if fanout == 1 {
            let (total, overflow) = depth.addingReportingOverflow(1)
            return overflow ? nil : total
        }
        var total = 0
        var width = 1
        for level in 0...depth {
            let (sum, overflowSum) = total.addingReportingOverflow(width)
            guard !overflowSum else { return nil }
            total = sum
            if level == depth { break }
            let (next, overflowWidth) = width.multipliedReportingOverflow(by: fanout)
            guard !overflowWidth else { return nil }
            width = next
        }
        return total
    }

    /// `list:` — services written out, each inheriting `defaults` for the keys it omits.
    func explicitGraph(_ node: SourceNode, _ path: String, defaults: ServiceDefaults, names: Names) -> GraphSpec? {
        let r = reader
        guard let items = r.sequence(node, path, of: "services such as - {name: api, calls: [orders]}") else { return nil }
        if items.isEmpty {
            r.fail(node, path, expected: "at least one service")
            return nil
        }
        // Names first, so that calls may point at services further down.
        let declared = ScenarioBuilder.declaredServices(items)
        var services: [ServiceSpec] = []
        var callNodes: [[(node: SourceNode, path: String)]] = []
        var seen = Set<String>()
        for (i, item) in items.enumerated() {
            let p = KeyPath.index(path, i)
            guard let (spec, nameNode, calls) = service(item, p, defaults: defaults, declared: declared, names: names) else {
                continue
            }
            if !seen.insert(spec.name).inserted {
                r.fail(nameNode, KeyPath.child(p, "name"), expected: "a service name used once", found: "'\(spec.name)' again")
                continue
            }
            services.append(spec)
            callNodes.append(calls)
        }
        reportCycles(services, callNodes)
        return .explicit(services)
    }

    /// The `name`s of a `list:` as written (also those of services with other errors, so that
    /// references to them don't produce a second, misleading error).
    static func declaredServices(_ items: [SourceNode]) -> [String] {
        items.compactMap { $0.entries?.first(where: { $0.key.scalar == "name" })?.value.scalar }
    }

    /// A service's own name: not one the model gives its own processes, and usable in selectors.
    func serviceName(_ node: SourceNode, _ path: String) -> String? {
        let r = reader
        guard let text = r.string(node, path, expected: "a service name") else { return nil }
        if ScenarioBuilder.reservedServiceNames.contains(text) {
            r.fail(node, path,
                   expected: "a service name the model does not use itself (not \(ScenarioBuilder.reservedServiceNames.joined(separator: ", ")))",
                   found: "'\(text)'")
            return nil
        }
        if Selectors.parse(text) != .node(text) {
            r.fail(node, path, expected: "a service name without brackets, commas or spaces that is no selector keyword",
                   found: "'\(text)'")
            return nil
        }
        return text
    }

    func service(_ node: SourceNode, _ path: String, defaults: ServiceDefaults, declared: [String], names: Names)
        -> (spec: ServiceSpec, nameNode: SourceNode, calls: [(node: SourceNode, path: String)])?
    {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.serviceKeys) else { return nil }
        let nameNode = r.required(f, "name", expected: "a service name")
        let name = nameNode.flatMap { serviceName($0, f.path("name")) }
        var valid = name != nil
        let zones = f["zones"].map { zoneList($0, f.path("zones"), names: names) }
        if case .some(nil) = zones { valid = false }
        let replicas = f["replicas"].map { r.integer($0, f.path("replicas"), minimum: 1, expected: "a positive integer") }
            ?? defaults.replicas
        let servers = f["servers"].map { r.integer($0, f.path("servers"), minimum: 1, expected: "a positive integer") }
            ?? defaults.servers
        let work = f["work"].map { r.distribution($0, f.path("work")) } ?? defaults.work
        var queueLimit = defaults.queueLimit
        if let n = f["queue_limit"] {
            if let limit = r.queueLimit(n, f.path("queue_limit")) { queueLimit = limit } else { valid = false }
        }
        let account = f["account"].map { r.string($0, f.path("account"), expected: "a cloud account name") }
        let region = f["region"].map { r.string($0, f.path("region"), expected: "a cloud region name") }
        if case .some(nil) = account { valid = false }
        if case .some(nil) = region { valid = false }

        var calls: [CallSpec] = []
        var callNodes: [(node: SourceNode, path: String)] = []
        if let n = f["calls"], let items = r.sequence(n, f.path("calls"), of: "calls such as [orders, {to: payments, mode: sequential}]") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("calls"), i)
                if let call = self.call(item, p, from: name, defaults: defaults, declared: declared) {
                    calls.append(call.spec)
                    callNodes.append((call.target, p))
                } else {
                    valid = false
                }
            }
        }
        guard valid, let name, let nameNode, let replicas, let servers, let work else { return nil }
        let spec = ServiceSpec(name: name, zones: zones ?? nil, replicas: replicas, servers: servers, work: work,
                               queueLimit: queueLimit, calls: calls, account: account ?? nil, region: region ?? nil)
        return (spec, nameNode, callNodes)
    }

    /// `- orders` (defaults for the rest) or `- {to: orders, mode: sequential, timeout: 50ms, retries: 2, soft: true}`.
    func call(_ node: SourceNode, _ path: String, from caller: String?, defaults: ServiceDefaults, declared: [String])
        -> (spec: CallSpec, target: SourceNode)?
    {
        let r = reader
        let reference = serviceReference(
            node, path, key: "to", allowed: ScenarioBuilder.callKeys,
            what: "a service name or {to: …, mode: parallel, timeout: 200ms, retries: 1}", required: "the service called",
            declared: declared, listedIn: "services.list", caller: caller, notItself: "a service other than the caller itself")
        let f = reference.fields
        let targetNode = reference.node
        var target = reference.target
        var mode = defaults.callMode
        var timeout = defaults.callTimeout
        var retries: Int? = defaults.callRetries
        var copies: Int? = 1
        var soft = false
        if let f {
            if let n = f["soft"] {
                if let v = r.bool(n, f.path("soft")) { soft = v } else { target = nil }
            }
            if let n = f["copies"] {
                copies = r.integer(n, f.path("copies"), minimum: 1, expected: "a positive number of parallel calls")
            }
            if let n = f["mode"] {
                if let m = choice(n, f.path("mode"), CallMode.self) { mode = m } else { target = nil }
            }
            if let n = f["timeout"] {
                if let t = r.durationOrNever(n, f.path("timeout")) { timeout = t } else { target = nil }
            }
            if let n = f["retries"] {
                retries = r.integer(n, f.path("retries"), minimum: 0, expected: "a non-negative integer")
            }
        }
        guard let target, let targetNode, let retries, let copies else { return nil }
        var spec = CallSpec(to: target, mode: mode, timeout: timeout, retries: retries)
        spec.copies = copies
        spec.soft = soft
        return (spec, targetNode)
    }

    /// A reference to another service of a written-out graph: its name alone, or a mapping whose
    /// `key` names it (then `fields` holds the mapping's other settings). The name must be
    /// `declared` and must not be `caller`.
    func serviceReference(_ node: SourceNode, _ path: String, key: String, allowed: [String], what: String, required: String,
                          declared: [String], listedIn list: String, caller: String?, notItself: String)
        -> (fields: Fields?, node: SourceNode?, target: String?)
    {
        let r = reader
        var f: Fields?
        let targetNode: SourceNode?
        let targetPath: String
        if node.scalar != nil {
            targetNode = node
            targetPath = path
        } else {
            guard let fields = r.fields(node, path, allowed: allowed, what: what) else { return (nil, nil, nil) }
            f = fields
            targetNode = r.required(fields, key, expected: required)
            targetPath = fields.path(key)
        }
        var target: String?
        if let targetNode, let text = r.string(targetNode, targetPath, expected: "a service name") {
            if !declared.contains(text) {
                r.fail(targetNode, targetPath, expected: "a service of \(list) (\(Names.listed(declared)))",
                       found: "unknown service '\(text)'", hint: Suggest.hint(for: text, in: declared))
            } else if text == caller {
                r.fail(targetNode, targetPath, expected: notItself, found: "'\(text)'")
            } else {
                target = text
            }
        }
        return (f, targetNode, target)
    }

    /// Reports every cycle of an explicit call graph once, at the call that closes it.
    func reportCycles(_ services: [ServiceSpec], _ callNodes: [[(node: SourceNode, path: String)]]) {
        reportCycles(names: services.map(\.name), edges: services.map { $0.calls.map(\.to) }, nodes: callNodes,
                     expected: "calls that form no cycle (the call graph must be acyclic)")
    }

    /// Reports every cycle of a written-out graph once, at the edge that closes it (as
    /// `the cycle a → b → a`). `edges[i]` are the targets of `names[i]`, `nodes[i]` where each was written.
    func reportCycles(names: [String], edges: [[String]], nodes: [[(node: SourceNode, path: String)]], expected: String) {
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() { index[name] = i }
        // 0 = unvisited, 1 = on the current path, 2 = done. Iterative: a written-out chain may be long.
        var state = [Int](repeating: 0, count: names.count)
        for root in names.indices where state[root] == 0 {
            var stack: [(service: Int, nextCall: Int)] = [(root, 0)]
            state[root] = 1
            while let (current, nextCall) = stack.last {
                let targets = edges[current]
                guard nextCall < targets.count else {
                    state[current] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].nextCall += 1
                guard let callee = index[targets[nextCall]] else { continue }
                switch state[callee] {
                case 0:
                    state[callee] = 1
                    stack.append((callee, 0))
                case 1:
                    let start = stack.firstIndex(where: { $0.service == callee }) ?? 0
                    let cycle = stack[start...].map { names[$0.service] } + [names[callee]]
                    let (node, path) = nodes[current][nextCall]
                    reader.fail(node, path, expected: expected, found: "the cycle \(cycle.joined(separator: " → "))")
                default:
                    break
                }
            }
        }
    }

    func serviceDefaults(_ node: SourceNode, _ path: String, allowed: [String] = ScenarioBuilder.serviceDefaultsKeys,
                         base: ServiceDefaults = ServiceDefaults()) -> ServiceDefaults? {
        let r = reader
        guard let f = r.fields(node, path, allowed: allowed) else { return nil }
        var d = base
        if let n = f["replicas"], let v = r.integer(n, f.path("replicas"), minimum: 1, expected: "a positive integer") {
            d.replicas = v
        }
        if let n = f["servers"], let v = r.integer(n, f.path("servers"), minimum: 1, expected: "a positive integer") {
            d.servers = v
        }
        if let n = f["work"], let v = r.distribution(n, f.path("work")) { d.work = v }
        if let n = f["queue_limit"], let v = r.queueLimit(n, f.path("queue_limit")) { d.queueLimit = v }
        if let n = f["call"], let cf = r.fields(n, f.path("call"), allowed: ["mode", "timeout", "retries", "health_checks"]) {
            if let h = cf["health_checks"], let v = r.bool(h, cf.path("health_checks")) { d.healthChecks = v }
            if let m = cf["mode"], let v = choice(m, cf.path("mode"), CallMode.self) { d.callMode = v }
            if let t = cf["timeout"], let v = r.durationOrNever(t, cf.path("timeout")) { d.callTimeout = v }
            if let n = cf["retries"], let v = r.integer(n, cf.path("retries"), minimum: 0, expected: "a non-negative integer") {
                d.callRetries = v
            }
        }
        return d
    }

    func placementLatency(_ node: SourceNode, _ path: String) -> PlacementLatency? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.latencyKeys) else { return nil }
        var spec = PlacementLatency()
        let keys: [(String, WritableKeyPath<PlacementLatency, Distribution>)] = [
            ("same_host", \.sameHost), ("same_zone", \.sameZone), ("cross_zone", \.crossZone),
            ("cross_account", \.crossAccount), ("cross_region", \.crossRegion),
        ]
        for (key, keyPath) in keys {
            if let n = f[key], let d = r.distribution(n, f.path(key)) { spec[keyPath: keyPath] = d }
        }
        if let n = f["client"], let d = r.distribution(n, f.path("client")) { spec.client = d }
        return spec
    }

    /// Zones of the cluster, each once, at least one; `nil` when invalid.
    func zoneList(_ node: SourceNode, _ path: String, names: Names) -> [String]? {
        let r = reader
        guard let items = r.sequence(node, path, of: "zones of the cluster such as [a, b]") else { return nil }
        if items.isEmpty {
            r.fail(node, path, expected: "at least one zone")
            return nil
        }
        var zones: [String] = []
        var valid = true
        for (i, item) in items.enumerated() {
            let p = KeyPath.index(path, i)
            guard let zone = r.string(item, p, expected: "a zone name") else {
                valid = false
                continue
            }
            if !names.zones.contains(zone) {
                r.fail(item, p, expected: "a zone of the cluster (\(names.zones.joined(separator: ", ")))", found: "'\(zone)'",
                       hint: Suggest.hint(for: zone, in: names.zones))
                valid = false
            } else if zones.contains(zone) {
                r.fail(item, p, expected: "a zone listed once", found: "'\(zone)' again")
                valid = false
            } else {
                zones.append(zone)
            }
        }
        return valid ? zones : nil
    }

    /// The service names and processes the mesh adds for selectors and references: every service
    /// (and `tokeninfo`); every replica `<service>-r<k>`, `tokeninfo-r<k>`, `token-provider` and `jwks`.
    /// Reports processes that clash with a cluster node.
    func addMeshNames(to names: inout Names, mesh: MeshSpec?, auth: AuthSpec?, servicesNode: SourceNode) {
        var services: [String]
        if let list = servicesNode.entries?.first(where: { $0.key.scalar == "list" })?.value.items {
            services = ScenarioBuilder.declaredServices(list)
        } else {
            services = mesh?.graph.serviceNames ?? []
        }
        services.append(MeshNaming.tokeninfo)
        names.services = services

        // Replicas per service, as written, so that services with other errors still have theirs named.
        let defaultReplicas = max(1, mesh?.defaults.replicas ?? 1)
        var replicas: [(service: String, count: Int)] = []
        if let list = servicesNode.entries?.first(where: { $0.key.scalar == "list" })?.value.items {
            for item in list {
                guard let entries = item.entries, let name = entries.first(where: { $0.key.scalar == "name" })?.value.scalar
                else { continue }
                let written = entries.first(where: { $0.key.scalar == "replicas" })?.value.scalar.flatMap { Int($0) }
                replicas.append((name, max(1, written ?? defaultReplicas)))
            }
        } else if let mesh {
            replicas = mesh.graph.serviceNames.map { ($0, defaultReplicas) }
        }
        let total = replicas.reduce(0) { $0.addingReportingOverflow($1.count).overflow ? Int.max : $0 + $1.count }
        let limit = ScenarioBuilder.maxReplicas
        guard total <= limit else {
            reader.fail(servicesNode, "services", expected: "at most \(limit) service replicas in all",
                        found: total == Int.max ? "more" : "\(total)")
            return
        }
        var processes: [String] = []
        processes.reserveCapacity(total + 8)
        for (service, count) in replicas { processes += (1...count).map { MeshNaming.replica(service, $0) } }
        let tokeninfoNodes = max(1, (auth ?? AuthSpec()).tokeninfo.nodes)
        processes += (1...tokeninfoNodes).map { MeshNaming.replica(MeshNaming.tokeninfo, $0) }
        processes += [MeshNaming.tokenProvider, MeshNaming.jwks]

        let clusterNodes = Set(names.nodes)
        for process in processes where clusterNodes.contains(process) {
            reader.fail(servicesNode, "services",
                        expected: "process names of the call graph that no cluster node has",
                        found: "cluster node '\(process)' (the mesh names its processes <service>-r<k>, tokeninfo-r<k>, token-provider and jwks)")
        }
        names.nodes += processes
    }

    // MARK: auth

    func auth(_ node: SourceNode, _ path: String, names: Names) -> AuthSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.authKeys) else { return nil }
        var spec = AuthSpec()
        if let n = f["strategy"], let v = choice(n, f.path("strategy"), AuthStrategySetting.self) { spec.strategy = v }
        if let n = f["tokeninfo"] { spec.tokeninfo = tokeninfo(n, f.path("tokeninfo"), names: names) ?? spec.tokeninfo }

        if let n = f["central"],
           let cf = r.fields(n, f.path("central"), allowed: ["cache_ttl", "timeout", "retries", "retry_backoff", "breaker"]) {
            if let n = cf["cache_ttl"] {
                // 0s or none: every request asks tokeninfo.
                if n.scalar == "none" { spec.cacheTTL = nil } else if let v = r.duration(n, cf.path("cache_ttl")) {
                    spec.cacheTTL = v > 0 ? v : nil
                }
            }
            if let n = cf["timeout"], let v = r.duration(n, cf.path("timeout"), positive: true) { spec.tokeninfoTimeout = v }
            if let n = cf["retries"], let v = r.integer(n, cf.path("retries"), minimum: 0, expected: "a non-negative integer") {
                spec.tokeninfoRetries = v
            }
            if let n = cf["retry_backoff"], let v = r.duration(n, cf.path("retry_backoff")) { spec.retryBackoff = v }
            if let n = cf["breaker"] {
                if n.scalar == "none" || n.scalar == "off" {
                    spec.breakerFailures = nil
                } else if let bf = r.fields(n, cf.path("breaker"), allowed: ["failures", "open_for"],
                                            what: "{failures: 5, open_for: 5s}, or none") {
                    spec.breakerFailures = 5
                    if let n = bf["failures"],
                       let v = r.integer(n, bf.path("failures"), minimum: 1, expected: "a positive number of consecutive failures") {
                        spec.breakerFailures = v
                    }
                    if let n = bf["open_for"], let v = r.duration(n, bf.path("open_for"), positive: true) { spec.breakerOpenFor = v }
                }
            }
        }

        if let n = f["local"],
           let lf = r.fields(n, f.path("local"), allowed: ["jwks_refresh", "jwks_retry", "unknown_kid", "revocation_poll"]) {
            if let n = lf["jwks_refresh"], let v = r.duration(n, lf.path("jwks_refresh"), positive: true) { spec.jwksRefresh = v }
            if let n = lf["jwks_retry"], let v = r.duration(n, lf.path("jwks_retry"), positive: true) { spec.jwksRetry = v }
            if let n = lf["unknown_kid"], let text = r.string(n, lf.path("unknown_kid"), expected: "reject or refetch") {
                switch text {
                case "reject": spec.refetchOnUnknownKid = false
                case "refetch": spec.refetchOnUnknownKid = true
                default:
                    r.fail(n, lf.path("unknown_kid"), expected: "reject or refetch", found: "'\(text)'",
                           hint: Suggest.hint(for: text, in: ["reject", "refetch"]))
                }
            }
            if let n = lf["revocation_poll"], let v = r.durationOrNever(n, lf.path("revocation_poll")) { spec.revocationPoll = v }
        }

        if let n = f["verify_cost"], let v = r.distribution(n, f.path("verify_cost")) { spec.verifyCost = v }
        if let n = f["leeway"], let v = r.duration(n, f.path("leeway")) { spec.leeway = v }

        if let n = f["tokens"],
           let tf = r.fields(n, f.path("tokens"), allowed: ["realm", "clients", "refresh_at", "refresh_retry", "lifetimes"]) {
            if let n = tf["clients"], let v = r.integer(n, tf.path("clients"), minimum: 1, expected: "a positive number of clients") {
                spec.clients = v
            }
            if let n = tf["refresh_at"], let v = r.probability(n, tf.path("refresh_at")) {
                if v > 0 { spec.refreshAt = v } else {
                    r.fail(n, tf.path("refresh_at"), expected: "a fraction of the token lifetime above 0, such as 80%")
                }
            }
            if let n = tf["refresh_retry"], let v = r.duration(n, tf.path("refresh_retry"), positive: true) { spec.refreshRetry = v }
            if let n = tf["lifetimes"] {
                if let entries = n.entries {
                    for (keyNode, valueNode) in entries {
                        guard let realm = keyNode.scalar else {
                            r.fail(keyNode, tf.path("lifetimes"), expected: "a realm name such as services")
                            continue
                        }
                        if let v = r.duration(valueNode, KeyPath.child(tf.path("lifetimes"), realm), positive: true) {
                            spec.lifetimes[realm] = v
                        }
                    }
                } else {
                    r.fail(n, tf.path("lifetimes"), expected: "a mapping of realms to token lifetimes such as {services: 8h}")
                }
            }
            if let n = tf["realm"], let realm = r.string(n, tf.path("realm"), expected: "a realm name") {
                let realms = spec.lifetimes.keys.sorted()
                if spec.lifetimes[realm] != nil { spec.clientRealm = realm } else {
                    r.fail(n, tf.path("realm"), expected: "a realm with a token lifetime (\(realms.joined(separator: ", ")))",
                           found: "'\(realm)'", hint: Suggest.hint(for: realm, in: realms))
                }
            }
        }

        if let n = f["key_rotation"] {
            if n.scalar == "never" {
                spec.rotationInterval = nil
            } else if let kf = r.fields(n, f.path("key_rotation"), allowed: ["every", "pre_publish"],
                                        what: "{every: 10m, pre_publish: 1m}, or never") {
                if let n = r.required(kf, "every", expected: "how often a new signing key is made, such as 10m"),
                   let v = r.duration(n, kf.path("every"), positive: true) {
                    spec.rotationInterval = v
                }
                if let n = kf["pre_publish"], let v = r.duration(n, kf.path("pre_publish")) { spec.rotationPrePublish = v }
            }
        }
        if let n = f["forged_tokens"], let v = r.probability(n, f.path("forged_tokens")) { spec.forgedFraction = v }
        if let n = f["revocations"],
           let v = r.unit(n, f.path("revocations"), expected: "a rate such as 1/s", Units.rate) {
            spec.revocationsPerSecond = v
        }
        return spec
    }

    func tokeninfo(_ node: SourceNode, _ path: String, names: Names) -> TokeninfoSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["nodes", "servers", "service", "queue_limit", "zones"]) else { return nil }
        var spec = TokeninfoSpec()
        if let n = f["nodes"], let v = r.integer(n, f.path("nodes"), minimum: 1, expected: "a positive number of nodes") {
            spec.nodes = v
        }
        if let n = f["servers"], let v = r.integer(n, f.path("servers"), minimum: 1, expected: "a positive integer") {
            spec.servers = v
        }
        if let n = f["service"], let v = r.distribution(n, f.path("service")) { spec.service = v }
        if let n = f["queue_limit"], let v = r.queueLimit(n, f.path("queue_limit")) { spec.queueLimit = v }
        if let n = f["zones"], let v = zoneList(n, f.path("zones"), names: names) { spec.zones = v }
        return spec
    }

    // MARK: - calls:

    /// `- calls: {entry: api, rate: 500/s, timeout: 1s, start: 0s, stop: 20s}`.
    func meshCalls(_ node: SourceNode, _ path: String, names: Names) -> MeshWorkload? {
        let r = reader
        guard let outer = r.fields(node, path, allowed: ScenarioBuilder.workloadKinds, what: ScenarioBuilder.workloadEntryExample),
              let kind = r.exactlyOne(outer, of: ScenarioBuilder.workloadKinds, what: "the kind of workload"), kind == "calls",
              let body = r.required(outer, "calls", expected: "{entry: …, rate: …}")
        else { return nil }
        let p = outer.path("calls")
        guard let f = r.fields(body, p, allowed: ScenarioBuilder.callsKeys) else { return nil }
        var valid = true
        if !names.hasServices && !names.hasOrganisation {
            r.fail(body, p, expected: "calls into a call graph or an organisation (calls need a services: or organisation: section)",
                   found: "no services: or organisation: section")
            valid = false
        }
        var entry: String?
        if let n = f["entry"], names.hasOrganisation && !names.hasServices {
            // The organisation's services share the requests by their `traffic`.
            r.fail(n, f.path("entry"), expected: "no entry with organisation: (requests enter its services by their traffic shares)")
            valid = false
        } else if let n = f["entry"], let s = r.string(n, f.path("entry"), expected: "a service name") {
            let services = names.services.filter { $0 != MeshNaming.tokeninfo }
            if services.contains(s) { entry = s } else if names.hasServices {
                r.fail(n, f.path("entry"), expected: "a service of the call graph (\(Names.listed(services)))",
                       found: "unknown service '\(s)'", hint: Suggest.hint(for: s, in: services))
                valid = false
            }
        }
        let arrivals = self.arrivals(f, what: "how calls arrive")
        var timeout: Int64?
        if let n = f["timeout"] {
            if let v = r.duration(n, f.path("timeout"), positive: true) { timeout = v } else { valid = false }
        }
        let (start, stop) = window(f)
        guard valid, let arrivals, let start else { return nil }
        return MeshWorkload(entry: entry, arrivals: arrivals, timeout: timeout, start: start, stop: stop)
    }
}
