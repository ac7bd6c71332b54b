import Auth
import Hummingbird
import Live
import LiveHTTP
import Logging
import NIOCore
import Scenario
import ServiceLifecycle
import UnixSignals
import Mesh
import Sampling

/// `faultline serve mesh SCENARIO`: every replica of the scenario's call graph as a Hummingbird
/// server on its own loopback port, in one process. The graph comes from the simulator's own
/// `CallGraph` (same seed, same edges); each replica validates with the scenario's `auth:`
/// strategy through the shared `HopValidator`.
public final class MeshServer: Sendable {
    public let layout: MeshLayout
    let replicas: [(replica: MeshReplica, port: Int)]
    let drivers: [HopDriver]
    let keySources: [KeySource]
    let pools: [HTTPConnectionPool]
    /// Health checkers of callee services (`services.defaults.health_checks`).
    let health: [ReplicaHealth]
    let metrics: PaaSMetrics
    let logger: Logger
    public let strategy: ValidationStrategy

    /// The services of `scenario` bound to the ports of `layout`.
    /// `serving`: the names of the layout's replicas this process runs (nil: all of them); the
    /// others are only called, wherever they run (or do not: a dead replica).
    public init(scenario: Scenario, layout: MeshLayout, serving: Set<String>? = nil, group: any EventLoopGroup,
                logger: Logger) throws {
        guard let mesh = scenario.mesh else {
            throw LiveError.badInput("\(scenario.sourceFile): `serve mesh` needs a `services:` section")
        }
        var auth = scenario.auth ?? AuthSpec()
        if let override = layout.strategy {
            guard let s = AuthStrategySetting(rawValue: override) else {
                throw LiveError.badInput("strategy: expected central, local, hybrid or none; found '\(override)'")
            }
            auth.strategy = s
        }
        strategy = ValidationStrategy(rawValue: auth.strategy.rawValue) ?? .local
        var graphRng = SeededGenerator(seed: layout.seed).stream("mesh.graph")
        let graph = CallGraph(mesh, clusterZones: scenario.cluster.zones, rng: &graphRng)
        let names = graph.services.map(\.name)
        var ports: [String: [Int]] = [:]  // lookups only
        var replicaNames: [String: [String]] = [:]
        for r in layout.replicas {
            guard names.contains(r.service) else {
                throw LiveError.badInput("layout names service '\(r.service)', which the scenario's graph does not have")
            }
            ports[r.service, default: []].append(r.port)
            replicaNames[r.service, default: []].append(r.name)
        }
        for s in graph.services where ports[s.name] == nil {
            throw LiveError.badInput("layout has no replica of service '\(s.name)'")
        }
        guard !layout.tokeninfoURLs.isEmpty || (strategy != .central && strategy != .hybrid) else {
            throw LiveError.badInput("strategy \(strategy.rawValue) needs tokeninfo URLs")
        }
        self.layout = layout
        self.logger = logger
        metrics = PaaSMetrics(process: "mesh")
        let tokeninfoEndpoints = try layout.tokeninfoURLs.map { try HTTPEndpoint($0) }
        let provider = try HTTPEndpoint(layout.providerURL)
        let rules = TokenRules(issuer: layout.issuer, leeway: auth.leeway, acceptedRealms: [auth.clientRealm])
        let validatorConfig = auth.validatorConfig(rules: rules)

        // One pool per callee replica, shared by every caller in the process (keep-alive).
        var allPools: [HTTPConnectionPool] = []
        var replicaPools: [String: [HTTPConnectionPool]] = [:]
        for s in graph.services {
            replicaPools[s.name] = ports[s.name]!.map { port in
                let pool = HTTPConnectionPool(host: "127.0.0.1", port: port, group: group, maxConnections: 256)
                allPools.append(pool)
                return pool
            }
        }
        var built: [(MeshReplica, Int)] = []
        var drivers: [HopDriver] = []
        var sources: [KeySource] = []
        // With health checks, one checker per callee service, shared by every caller here.
        var checkers: [String: ReplicaHealth] = [:]
        if mesh.defaults.healthChecks {
            for s in graph.services { checkers[s.name] = ReplicaHealth(service: s.name, pools: replicaPools[s.name]!) }
        }
        for s in graph.services {
            let stages = s.stages.map { stage in
                stage.map { edge in
                    MeshReplica.Callee(service: names[edge.callee], pools: replicaPools[names[edge.callee]]!,
                                       timeout: edge.timeout, retries: edge.retries, soft: edge.soft,
                                       health: checkers[names[edge.callee]])
                }
            }
            for (k, port) in ports[s.name]!.enumerated() where serving?.contains(replicaNames[s.name]![k]) ?? true {
                let tokeninfoPools = tokeninfoEndpoints.map { e in
                    let pool = HTTPConnectionPool(host: e.host, port: e.port, group: group, maxConnections: 256)
                    allPools.append(pool)
                    return pool
                }
                var keys: KeySource?
                if strategy == .local || strategy == .hybrid {
                    let source = KeySource(jwks: HTTPEndpoint(host: provider.host, port: provider.port, path: TokenProviderService.jwksPath),
                                           revocations: auth.revocationPoll == nil ? nil
                                               : HTTPEndpoint(host: provider.host, port: provider.port, path: TokenProviderService.revocationsPath),
                                           group: group)
                    sources.append(source)
                    keys = source
                }
                let driver = HopDriver(config: validatorConfig, tokeninfo: tokeninfoPools,
                                       tokeninfoPath: tokeninfoEndpoints.first?.path ?? "/oauth2/tokeninfo",
                                       tokeninfoTimeout: auth.tokeninfoTimeout, keys: keys)
                drivers.append(driver)
                let name = replicaNames[s.name]![k]
                let replica = MeshReplica(name: name, service: s.name, strategy: strategy, driver: driver, servers: s.servers,
                                          queueLimit: s.queueLimit, work: s.work, stages: stages,
                                          seed: layout.seed, loop: group.next(), metrics: metrics)
                built.append((replica, port))
            }
        }
        replicas = built
        health = checkers.keys.sorted().map { checkers[$0]! }
        self.drivers = drivers
        keySources = sources
        pools = allPools
    }

    /// Local/hybrid validators fetch their first JWKS here; `/health` is 503 until they have it.
    public func start() async {
        for driver in drivers { await driver.start() }
        for checker in health { checker.start() }
    }

    public func ready() async -> Bool {
        guard strategy == .local || strategy == .hybrid else { return true }
        for driver in drivers where !(await driver.hasKeys) { return false }
        return true
    }

    func application(for replica: MeshReplica, port: Int) -> some ApplicationProtocol {
        let router = Router()
        router.get("/") { request, _ in await replica.handle(request) }
        router.post("/") { request, _ in await replica.handle(request) }
        router.get("/calibrate/hop") { request, _ in await replica.handleBareHop(request) }
        router.get("/health") { _, _ -> Response in
            await self.ready() ? Response.json(200, "{\"status\":\"ok\"}") : Response.json(503, "{\"status\":\"no keys yet\"}")
        }
        metrics.addRoute(to: router) { await self.refreshGauges() }
        var logger = self.logger
        logger[metadataKey: "replica"] = "\(replica.name)"
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: replica.name),
                           logger: logger)
    }

    /// The validators' own counters, as gauges named after `HopCounters`' fields.
    func refreshGauges() async {
        for (replica, _) in replicas {
            let c = await replica.driver.counters
            let labels = [("replica", replica.name)]
            let values: [(String, Int)] = [
                ("validator_validations", c.validations), ("validator_accepted", c.accepted), ("validator_rejected", c.rejected),
                ("validator_bad_requests", c.badRequests), ("validator_unavailable", c.unavailable),
                ("validator_local_verifications", c.localVerifications), ("validator_tokeninfo_calls", c.tokeninfoCalls),
                ("validator_tokeninfo_failures", c.tokeninfoFailures), ("validator_cache_hits", c.cacheHits),
                ("validator_jwks_fetches", c.jwksFetches), ("validator_jwks_failures", c.jwksFailures),
                ("validator_breaker_opens", c.breakerOpens),
            ]
            for (name, value) in values {
                metrics.gauge(name, "HopValidator counter \(name)", labels).set(Double(value))
            }
        }
    }

    /// Serves until SIGTERM/SIGINT, then stops accepting, lets requests in flight finish, and
    /// closes client pools (graceful shutdown via swift-service-lifecycle).
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        await start()
        let services: [any Service] = replicas.map { application(for: $0.replica, port: $0.port) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: gracefulShutdownSignals,
                                                      logger: logger))
        try await group.run()
        await shutdown()
    }

    public func shutdown() async {
        for checker in health { checker.stop() }
        for driver in drivers { await driver.stop() }
        for source in keySources { await source.shutdown() }
        for pool in pools { await pool.shutdown() }
    }
}
