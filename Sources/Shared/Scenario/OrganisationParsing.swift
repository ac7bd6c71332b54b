import Sampling

/// `organisation:` (teams, services and their dependencies) and `accounts:` (placement, cost,
/// random account faults, control plane) — the multi-account model of `Organisation.swift`.
extension ScenarioBuilder {
    static let organisationKeys = ["teams", "data_classes", "services", "graph", "soft_share", "replicas", "list", "defaults",
                                   "latency"]
    /// Keys of a generated organisation (`services: <count>`) that a written-out one (`list:`) must not have.
    static let generatedOrganisationKeys = ["graph", "soft_share", "replicas"]
    static let organisationGraphShapes = ["layered", "preferential-attachment"]
    static let organisationGraphShapeKeys: [String: [String]] = [
        "layered": ["layers", "edges"],
        "preferential-attachment": ["mean_degree"],
    ]
    static let organisationServiceKeys = ["name", "team", "traffic", "criticality", "data", "replicas", "depends"]
    static let dependencyKeys = ["on", "kind", "timeout"]
    /// `organisation.defaults`: as `services.defaults`, but replicas come from `replicas:`.
    static let organisationDefaultsKeys = ["servers", "work", "queue_limit", "call"]
    static let accountsKeys = ["strategy", "count", "shard_size", "regions", "mapping", "cost", "random_faults", "control_plane"]
    /// Replicas of a service unless it (or a generated organisation's `replicas:`) says otherwise.
    static let defaultOrganisationReplicas = 2
    /// The most teams, and the most accounts of `cells` / `shuffle-shard`.
    static let maxTeams = 100_000
    static let maxAccounts = 100_000

    // MARK: organisation

    func organisation(_ node: SourceNode, _ path: String, names: Names) -> OrganisationSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.organisationKeys,
                               what: "an organisation: {teams: 12, services: 200, graph: {shape: layered, layers: 4, edges: 2}} "
                                   + "or {teams: [payments, search], list: [services]}")
        else { return nil }
        let teams = r.required(f, "teams", expected: "a number of teams such as 12, or a list of team names")
            .flatMap { self.teams($0, f.path("teams")) }
        var dataClasses: [String]? = ["internal"]
        if let n = f["data_classes"] {
            dataClasses = nameList(n, f.path("data_classes"), of: "data classes such as [pii, payments, internal]",
                                   item: "a data class", allowEmpty: true)
        }
        let base = OrganisationSpec(teams: [], services: .explicit([]))
        var defaults = base.defaults
        if let n = f["defaults"] {
            defaults = serviceDefaults(n, f.path("defaults"), allowed: ScenarioBuilder.organisationDefaultsKeys, base: defaults)
                ?? defaults
        }
        var latency = base.latency
        if let n = f["latency"] { latency = placementLatency(n, f.path("latency")) ?? latency }

        guard let which = r.exactlyOne(f, of: ["services", "list"], what: "a generated or a written-out organisation") else {
            return nil
        }
        let services: OrgServicesSpec?
        if which == "services" {
            services = generatedOrganisation(f)
        } else {
            for key in ScenarioBuilder.generatedOrganisationKeys where f.has(key) {
                r.fail(at: f.keyLocation(key), f.path(key),
                       expected: "\(key) only with services: <count> (a generated organisation; list: writes each service out)",
                       found: "'\(key)' with list:")
            }
            services = r.required(f, "list", expected: "a list of services such as [{name: checkout, team: payments}]")
                .flatMap { organisationList($0, f.path("list"), teams: teams, dataClasses: dataClasses) }
        }
        guard let teams, let dataClasses, let services else { return nil }
        var spec = OrganisationSpec(teams: teams, services: services, dataClasses: dataClasses)
        spec.defaults = defaults
        spec.latency = latency
        return spec
    }

    /// `teams: 12` (`team-1 … team-12`) or `teams: [payments, search]`.
    func teams(_ node: SourceNode, _ path: String) -> [String]? {
        let r = reader
        if node.items != nil {
            return nameList(node, path, of: "team names such as [payments, search]", item: "a team name", allowEmpty: false)
        }
        let expected = "a number of teams such as 12, or a list of team names"
        guard node.scalar != nil, let count = r.integer(node, path, minimum: 1, expected: expected) else {
            if node.scalar == nil { r.fail(node, path, expected: expected) }
            return nil
        }
        guard count <= ScenarioBuilder.maxTeams else {
            r.fail(node, path, expected: "at most \(ScenarioBuilder.maxTeams) teams")
            return nil
        }
        return (0..<count).map(OrgNaming.team)
    }

    /// The teams of `organisation.teams` as written, for names when the organisation has other errors.
    static func writtenTeams(_ node: SourceNode) -> [String]? {
        if let items = node.items {
            let names = items.compactMap(\.scalar)
            return names.count == items.count ? names : nil
        }
        guard let text = node.scalar, let count = Int(text.replacingOccurrences(of: "_", with: "")),
              (1...maxTeams).contains(count) else { return nil }
        return (0..<count).map(OrgNaming.team)
    }

    /// A list of distinct names usable in selectors (no brackets, commas or spaces); `nil` when invalid.
    func nameList(_ node: SourceNode, _ path: String, of what: String, item: String, allowEmpty: Bool) -> [String]? {
        let r = reader
        guard let items = r.sequence(node, path, of: what) else { return nil }
        if items.isEmpty && !allowEmpty {
            r.fail(node, path, expected: "at least one entry (\(what))")
            return nil
        }
        var result: [String] = []
        var valid = true
        for (i, element) in items.enumerated() {
            let p = KeyPath.index(path, i)
            guard let text = r.string(element, p, expected: item) else {
                valid = false
                continue
            }
            if !ScenarioBuilder.isPlainName(text) {
                r.fail(element, p, expected: "\(item) without brackets, commas or spaces", found: "'\(text)'")
                valid = false
            } else if result.contains(text) {
                r.fail(element, p, expected: "\(item) listed once", found: "'\(text)' again")
                valid = false
            } else {
                result.append(text)
            }
        }
        return valid ? result : nil
    }

    /// A name that can stand inside a selector such as `account(acct-<name>)`.
    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && !text.contains(where: { "()[]{}, \t".contains($0) })
    }

    /// `services: 200` with `graph:`, `soft_share:` and `replicas:`.
    func generatedOrganisation(_ f: Fields) -> OrgServicesSpec? {
        let r = reader
        let limit = ScenarioBuilder.maxServices
        var count = r.required(f, "services", expected: "a number of services such as 200, or list: [services]")
            .flatMap { r.integer($0, f.path("services"), minimum: 1, expected: "a positive number of services") }
        if let c = count, c > limit, let n = f["services"] {
            r.fail(n, f.path("services"), expected: "an organisation of at most \(limit) services")
            count = nil
        }
        let graph = r.required(f, "graph", expected: "how the services depend on each other, such as {shape: layered, layers: 4, edges: 2}")
            .flatMap { organisationGraph($0, f.path("graph")) }
        let softShare = f["soft_share"].map { r.probability($0, f.path("soft_share")) } ?? 0
        let replicas = f["replicas"].map { r.integer($0, f.path("replicas"), minimum: 1, expected: "a positive integer") }
            ?? ScenarioBuilder.defaultOrganisationReplicas
        guard let count, let graph, let softShare, let replicas else { return nil }
        return .generated(count: count, graph: graph, softShare: softShare, replicas: replicas)
    }

    /// `{shape: layered, layers: 4, edges: 2}` or `{shape: preferential-attachment, mean_degree: 3}`.
    func organisationGraph(_ node: SourceNode, _ path: String) -> OrgGraphSpec? {
        let r = reader
        let shapes = ScenarioBuilder.organisationGraphShapes
        let shapeKeys = ScenarioBuilder.organisationGraphShapeKeys
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
        let allowed = ["shape"] + (shape.map { shapeKeys[$0] ?? [] } ?? shapes.flatMap { shapeKeys[$0] ?? [] })
        guard let f = r.fields(node, path, allowed: allowed,
                               what: "a dependency graph such as {shape: layered, layers: 4, edges: 2}")
        else { return nil }
        guard let shape else {
            _ = r.required(f, "shape", expected: "the graph's shape: \(shapes.joined(separator: ", "))")
            return nil
        }
        func count(_ key: String, _ expected: String) -> Int? {
            r.required(f, key, expected: expected).flatMap { r.integer($0, f.path(key), minimum: 1, expected: expected) }
        }
        if shape == "layered" {
            let layers = count("layers", "a positive number of layers")
            let edges = count("edges", "a positive number of dependencies per service (into the next layer)")
            guard let layers, let edges else { return nil }
            return .layered(layers: layers, edges: edges)
        }
        return count("mean_degree", "a positive mean number of dependencies per service")
            .map { .preferentialAttachment(meanDegree: $0) }
    }

    /// `list:` — services written out. `teams`/`dataClasses` are `nil` when they have errors of their own.
    func organisationList(_ node: SourceNode, _ path: String, teams: [String]?, dataClasses: [String]?) -> OrgServicesSpec? {
        let r = reader
        guard let items = r.sequence(node, path, of: "services such as - {name: checkout, team: payments, depends: [inventory]}")
        else { return nil }
        if items.isEmpty {
            r.fail(node, path, expected: "at least one service")
            return nil
        }
        // Names first, so that dependencies may point at services further down.
        let declared = ScenarioBuilder.declaredServices(items)
        var services: [OrgServiceSpec] = []
        var dependencyNodes: [[(node: SourceNode, path: String)]] = []
        var seen = Set<String>()
        for (i, item) in items.enumerated() {
            let p = KeyPath.index(path, i)
            guard let (spec, nameNode, dependencies) = organisationService(item, p, declared: declared, teams: teams,
                                                                          dataClasses: dataClasses)
            else { continue }
            if !seen.insert(spec.name).inserted {
                r.fail(nameNode, KeyPath.child(p, "name"), expected: "a service name used once", found: "'\(spec.name)' again")
                continue
            }
            services.append(spec)
            dependencyNodes.append(dependencies)
        }
        let traffic = services.reduce(0) { $0 + $1.traffic }
        if traffic > 1 + 1e-9 {
            r.fail(node, path, expected: "traffic shares that sum to at most 100% (the organisation's external traffic)",
                   found: "\(ScenarioBuilder.percent(traffic)) in all")
        }
        reportCycles(names: services.map(\.name), edges: services.map { $0.dependencies.map(\.on) }, nodes: dependencyNodes,
                     expected: "dependencies that form no cycle (the dependency graph must be acyclic)")
        return .explicit(services)
    }

    /// `1.3` → `130%`, `0.125` → `12.5%`.
    static func percent(_ fraction: Double) -> String {
        let value = (fraction * 100 * 1000).rounded() / 1000
        return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }

    func organisationService(_ node: SourceNode, _ path: String, declared: [String], teams: [String]?, dataClasses: [String]?)
        -> (spec: OrgServiceSpec, nameNode: SourceNode, dependencies: [(node: SourceNode, path: String)])?
    {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.organisationServiceKeys) else { return nil }
        let nameNode = r.required(f, "name", expected: "a service name")
        let name = nameNode.flatMap { serviceName($0, f.path("name")) }
        var valid = name != nil
        var team: String?
        if let n = r.required(f, "team", expected: "the team that owns the service"),
           let text = r.string(n, f.path("team"), expected: "a team name") {
            if let teams, !teams.contains(text) {
                r.fail(n, f.path("team"), expected: "a team of organisation.teams (\(Names.listed(teams)))", found: "unknown team '\(text)'",
                       hint: Suggest.hint(for: text, in: teams))
            } else {
                team = text
            }
        }
        let traffic = f["traffic"].map { r.probability($0, f.path("traffic")) } ?? 0
        let criticality = f["criticality"].map { choice($0, f.path("criticality"), Criticality.self) } ?? .medium
        let replicas = f["replicas"].map { r.integer($0, f.path("replicas"), minimum: 1, expected: "a positive integer") }
            ?? ScenarioBuilder.defaultOrganisationReplicas
        var data: [String] = []
        if let n = f["data"], let items = r.sequence(n, f.path("data"), of: "data classes such as [pii, payments]") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("data"), i)
                guard let text = r.string(item, p, expected: "a data class") else {
                    valid = false
                    continue
                }
                if let dataClasses, !dataClasses.contains(text) {
                    r.fail(item, p, expected: "a data class of organisation.data_classes (\(Names.listed(dataClasses)))",
                           found: "unknown data class '\(text)'", hint: Suggest.hint(for: text, in: dataClasses))
                    valid = false
                } else if data.contains(text) {
                    r.fail(item, p, expected: "a data class listed once", found: "'\(text)' again")
                    valid = false
                } else {
                    data.append(text)
                }
            }
        } else if f["data"] != nil {
            valid = false
        }
        var dependencies: [DependencySpec] = []
        var dependencyNodes: [(node: SourceNode, path: String)] = []
        if let n = f["depends"],
           let items = r.sequence(n, f.path("depends"), of: "dependencies such as [inventory, {on: payments, kind: soft}]") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("depends"), i)
                guard let (spec, target) = dependency(item, p, from: name, declared: declared) else {
                    valid = false
                    continue
                }
                if dependencies.contains(where: { $0.on == spec.on }) {
                    r.fail(target, p, expected: "each dependency once", found: "'\(spec.on)' again")
                    valid = false
                    continue
                }
                dependencies.append(spec)
                dependencyNodes.append((target, p))
            }
        } else if f["depends"] != nil {
            valid = false
        }
        guard valid, let name, let nameNode, let team, let traffic, let criticality, let replicas else { return nil }
        let spec = OrgServiceSpec(name: name, team: team, traffic: traffic, criticality: criticality, dataClasses: data,
                                  replicas: replicas, dependencies: dependencies)
        return (spec, nameNode, dependencyNodes)
    }

    /// `- inventory` (hard, no timeout) or `- {on: payments, kind: soft, timeout: 200ms}`.
    func dependency(_ node: SourceNode, _ path: String, from caller: String?, declared: [String])
        -> (spec: DependencySpec, target: SourceNode)?
    {
        let r = reader
        let reference = serviceReference(
            node, path, key: "on", allowed: ScenarioBuilder.dependencyKeys,
            what: "a service name or {on: payments, kind: soft, timeout: 200ms}", required: "the service depended on",
            declared: declared, listedIn: "organisation.list", caller: caller, notItself: "a service other than the service itself")
        let f = reference.fields
        let targetNode = reference.node
        var target = reference.target
        var kind = DependencyKind.hard
        var timeout: Int64?
        if let f {
            if let n = f["kind"] {
                if let k = choice(n, f.path("kind"), DependencyKind.self) { kind = k } else { target = nil }
            }
            if let n = f["timeout"] {
                if let t = r.duration(n, f.path("timeout"), positive: true) { timeout = t } else { target = nil }
            }
        }
        guard let target, let targetNode else { return nil }
        return (DependencySpec(on: target, kind: kind, timeout: timeout), targetNode)
    }

    /// The organisation's services, teams and processes for selectors and references: every service
    /// (`service(<name>)`), every replica `<service>-r<k>`, and with `auth:` the token processes
    /// (`tokeninfo-r<k>`, `token-provider`, `jwks`) and `service(tokeninfo)`. Taken from the text as
    /// written, so that services with other errors still have their names. Reports processes that
    /// clash with a cluster node.
    func addOrganisationNames(to names: inout Names, organisation: OrganisationSpec?, auth: AuthSpec?, node: SourceNode) {
        func written(_ key: String) -> SourceNode? { node.entries?.first(where: { $0.key.scalar == key })?.value }
        names.teams = organisation?.teams ?? written("teams").flatMap(ScenarioBuilder.writtenTeams)

        let defaultReplicas = ScenarioBuilder.defaultOrganisationReplicas
        var services: [String]?
        var replicas: [(service: String, count: Int)] = []
        if let list = written("list")?.items {
            services = ScenarioBuilder.declaredServices(list)
            for item in list {
                guard let entries = item.entries, let name = entries.first(where: { $0.key.scalar == "name" })?.value.scalar
                else { continue }
                let count = entries.first(where: { $0.key.scalar == "replicas" })?.value.scalar.flatMap { Int($0) }
                replicas.append((name, max(1, count ?? defaultReplicas)))
            }
        } else if let text = written("services")?.scalar, let count = Int(text.replacingOccurrences(of: "_", with: "")),
                  (1...ScenarioBuilder.maxServices).contains(count) {
            let each = written("replicas")?.scalar.flatMap { Int($0.replacingOccurrences(of: "_", with: "")) } ?? defaultReplicas
            let generated = (0..<count).map(OrgNaming.generatedService)
            services = generated
            replicas = generated.map { ($0, max(1, each)) }
        }
        names.organisationServices = services
        names.services += services ?? []
        if auth != nil && !names.services.contains(MeshNaming.tokeninfo) { names.services.append(MeshNaming.tokeninfo) }

        let total = replicas.reduce(0) { $0.addingReportingOverflow($1.count).overflow ? Int.max : $0 + $1.count }
        let limit = ScenarioBuilder.maxReplicas
        guard total <= limit else {
            reader.fail(node, "organisation", expected: "at most \(limit) service replicas in all",
                        found: total == Int.max ? "more" : "\(total)")
            return
        }
        var processes: [String] = []
        processes.reserveCapacity(total + 8)
        for (service, count) in replicas { processes += (1...count).map { MeshNaming.replica(service, $0) } }
        // With services: as well (an error of its own), the mesh has named the token processes and
        // `names.nodes` holds its processes, not only cluster nodes.
        let alongsideMesh = names.hasServices
        if let auth, !alongsideMesh {
            processes += (1...max(1, auth.tokeninfo.nodes)).map { MeshNaming.replica(MeshNaming.tokeninfo, $0) }
            processes += [MeshNaming.tokenProvider, MeshNaming.jwks]
        }
        let clusterNodes = alongsideMesh ? [] : Set(names.nodes)
        for process in processes where clusterNodes.contains(process) {
            reader.fail(node, "organisation",
                        expected: "process names of the organisation that no cluster node has",
                        found: "cluster node '\(process)' (the organisation names its processes <service>-r<k>, "
                            + "and with auth: tokeninfo-r<k>, token-provider and jwks)")
        }
        names.nodes += processes
    }

    // MARK: accounts

    func accounts(_ node: SourceNode, _ path: String, names: inout Names) -> AccountsSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ScenarioBuilder.accountsKeys,
                               what: "a placement such as {strategy: per-team, regions: [eu-central-1]}")
        else {
            names.checkAccounts = false
            return nil
        }
        var spec = AccountsSpec()
        var known = true
        var strategy: PlacementStrategySetting? = .single
        if let n = f["strategy"] { strategy = choice(n, f.path("strategy"), PlacementStrategySetting.self) }
        if let strategy { spec.strategy = strategy } else { known = false }

        var countValid = true
        if let n = f["count"] {
            let limit = ScenarioBuilder.maxAccounts
            if let v = r.integer(n, f.path("count"), minimum: 1, expected: "a positive number of accounts"), v <= limit {
                spec.count = v
            } else {
                if n.scalar.flatMap({ Int($0.replacingOccurrences(of: "_", with: "")) }).map({ $0 > limit }) ?? false {
                    r.fail(n, f.path("count"), expected: "at most \(limit) accounts")
                }
                countValid = false
                known = false
            }
        }
        var shardValid = true
        if let n = f["shard_size"] {
            if let v = r.integer(n, f.path("shard_size"), minimum: 1, expected: "a positive shard size (accounts per service)") {
                spec.shardSize = v
            } else {
                shardValid = false
            }
        }
        if strategy == .shuffleShard && countValid && shardValid && spec.shardSize > spec.count {
            let expected = "a shard size of at most count (\(spec.count)) for shuffle-shard"
            if let n = f["shard_size"] {
                r.fail(n, f.path("shard_size"), expected: expected)
            } else {
                r.fail(at: f.node.location, f.path("shard_size"), expected: expected, found: "the default \(spec.shardSize)",
                       hint: "set count: to at least \(spec.shardSize), or shard_size:")
            }
        }

        var regionsKnown = true
        if let n = f["regions"] {
            if let v = nameList(n, f.path("regions"), of: "regions such as [eu-central-1, eu-west-1]", item: "a region name",
                                allowEmpty: false) {
                spec.regions = v
            } else {
                regionsKnown = false
            }
        }

        if let n = f["mapping"] {
            if let strategy, strategy != .explicit {
                r.fail(at: f.keyLocation("mapping"), f.path("mapping"),
                       expected: "no mapping with strategy \(strategy.rawValue) (mapping places services for strategy: explicit)",
                       found: "a mapping")
            } else if let mapping = accountMapping(n, f.path("mapping"), services: names.organisationServices) {
                spec.mapping = mapping
            } else {
                known = false
            }
        } else if strategy == .explicit {
            _ = r.required(f, "mapping",
                           expected: "a mapping of services to accounts such as {checkout: acct-payments} (strategy explicit needs one)")
            known = false
        }

        if let n = f["cost"], let cf = r.fields(n, f.path("cost"), allowed: ["per_account", "per_region", "ops_per_account"]) {
            let keys: [(String, WritableKeyPath<AccountsSpec, Double>)] = [
                ("per_account", \.costPerAccount), ("per_region", \.costPerRegion), ("ops_per_account", \.opsCostPerAccount),
            ]
            for (key, keyPath) in keys {
                if let n = cf[key],
                   let v = r.number(n, cf.path(key), expected: "a non-negative number (a monthly cost such as 1000)", valid: { $0 >= 0 }) {
                    spec[keyPath: keyPath] = v
                }
            }
        }
        if let n = f["random_faults"],
           let rf = r.fields(n, f.path("random_faults"), allowed: ["mtbf", "mttr"], what: "{mtbf: 720h, mttr: 4h}") {
            if let n = r.required(rf, "mtbf", expected: "the mean time between an account's failures, such as 720h"),
               let v = r.duration(n, rf.path("mtbf"), positive: true) {
                spec.mtbf = v
            }
            if let n = rf["mttr"], let v = r.duration(n, rf.path("mttr"), positive: true) { spec.mttr = v }
        }
        if let n = f["control_plane"],
           let cf = r.fields(n, f.path("control_plane"), allowed: ["rate", "burst", "deploys_per_service_hour"]) {
            if let n = cf["rate"], let v = r.rate(n, cf.path("rate")) { spec.apiRate = v }
            if let n = cf["burst"],
               let v = r.integer(n, cf.path("burst"), minimum: 1, expected: "a positive burst (calls the account's token bucket holds)") {
                spec.apiBurst = v
            }
            if let n = cf["deploys_per_service_hour"],
               let v = r.number(n, cf.path("deploys_per_service_hour"), expected: "a non-negative number of deploys per service and hour",
                                valid: { $0 >= 0 }) {
                spec.deploysPerServiceHour = v
            }
        }
        addAccountNames(to: &names, accounts: spec, known: known, regionsKnown: regionsKnown)
        return spec
    }

    /// `mapping: {checkout: acct-payments}` — services of the organisation (`nil`: not known) to accounts.
    func accountMapping(_ node: SourceNode, _ path: String, services: [String]?) -> [String: String]? {
        let r = reader
        guard let entries = node.entries else {
            r.fail(node, path, expected: "a mapping of services to accounts such as {checkout: acct-payments}")
            return nil
        }
        if entries.isEmpty {
            r.fail(node, path, expected: "at least one service → account, such as {checkout: acct-payments}")
            return nil
        }
        var mapping: [String: String] = [:]
        var valid = true
        for (keyNode, valueNode) in entries {
            guard let service = keyNode.scalar else {
                r.fail(keyNode, path, expected: "a service name")
                valid = false
                continue
            }
            let p = KeyPath.child(path, service)
            if let services, !services.contains(service) {
                r.fail(keyNode, p, expected: "a service of the organisation (\(Names.listed(services)))", found: "unknown service '\(service)'",
                       hint: Suggest.hint(for: service, in: services))
                valid = false
            }
            guard let account = r.string(valueNode, p, expected: "an account name such as acct-payments") else {
                valid = false
                continue
            }
            if !ScenarioBuilder.isPlainName(account) {
                r.fail(valueNode, p, expected: "an account name without brackets, commas or spaces", found: "'\(account)'")
                valid = false
                continue
            }
            mapping[service] = account
        }
        return valid ? mapping : nil
    }

    /// The accounts `account(…)` may name, and the regions `region-outage` may name.
    func addAccountNames(to names: inout Names, accounts: AccountsSpec, known: Bool = true, regionsKnown: Bool = true) {
        names.accountStrategy = accounts.strategy
        names.regions = regionsKnown ? accounts.regions : nil
        var list: [String]?
        switch accounts.strategy {
        case .perTeam: list = names.teams.map { accounts.accountNames(teams: $0, services: []) }
        case .perService: list = names.organisationServices.map { accounts.accountNames(teams: [], services: $0) }
        default: list = accounts.accountNames(teams: [], services: [])
        }
        names.accounts = list ?? []
        names.checkAccounts = known && list != nil
    }
}
