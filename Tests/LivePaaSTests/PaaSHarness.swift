import Auth
import Foundation
import Hummingbird
import Live
import LiveAuth
import LiveHTTP
import LivePaaS
import Logging
import NIOCore
import NIOPosix
import Scenario
import XCTest

/// Provider, tokeninfo and a mesh in this process on free loopback ports, with an issuer the
/// test holds, so it can mint tokens with the provider's real keys (expired, from the future, …).
final class PaaSHarness: @unchecked Sendable {
    static let realm = "services"
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let issuer: LiveTokenIssuer
    let providerPort: Int
    let tokeninfoPort: Int
    let meshPorts: [String: Int]
    var tasks: [Task<Void, Error>] = []
    let tokeninfo: TokeninfoService
    let mesh: MeshServer
    let client: ClientRegistration
    var pools: [Int: HTTPConnectionPool] = [:]
    let folder: String

    static let meshYAML = """
        name: paas-harness
        duration: 10s
        cluster: { zones: [a] }
        services:
          list:
            - { name: api, calls: [orders] }
            - { name: orders }
          defaults: { replicas: 1, servers: 8, work: 0.2ms }
        auth:
          strategy: local
          local: { unknown_kid: refetch }
          tokens: { realm: services, clients: 2, lifetimes: { services: 1h, customers: 1h } }
        workload:
          - calls: { rate: 10/s }
        """

    /// `rotateEvery` (seconds): the provider rotates its signing key on that schedule, publishing
    /// the next key half an interval ahead and keeping old ones for a minute.
    /// `yaml`/`services`: another mesh (one replica per service, named `<service>-r1`).
    init(strategy: String, rotateEvery: Double? = nil, tokeninfoRefresh: Double = 30,
         yaml: String = PaaSHarness.meshYAML, services: [String] = ["api", "orders"],
         deadReplicas: [(service: String, port: Int)] = [], providerOutages: Bool = false) async throws {
        folder = NSTemporaryDirectory() + "paas-harness-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let logger = Logger(label: "test")
        let ports = try Ports.free(2 + services.count)
        providerPort = ports[0]
        tokeninfoPort = ports[1]
        meshPorts = Dictionary(uniqueKeysWithValues: services.enumerated().map { ($1, ports[2 + $0]) })
        let issuerURL = "http://127.0.0.1:\(providerPort)"
        let config = ProviderConfig(port: providerPort, issuer: issuerURL, lifetimes: ["services": 3600, "customers": 3600],
                                    rotateEvery: rotateEvery, prePublish: (rotateEvery ?? 0) / 2, retainAfter: 60,
                                    clientsFile: folder + "/clients.json",
                                    faultsFile: providerOutages ? folder + "/outages.json" : nil)
        issuer = LiveTokenIssuer(provider: config.provider())
        client = ClientRegistration(clientID: "client-1", clientSecret: "s3cret", realms: ["services", "customers"], scopes: ["uid"])
        // A second client, registered with Zalando's realm spelling, for the cross-client refusals.
        let other = ClientRegistration(clientID: "client-2", clientSecret: "other", realms: ["/services"], scopes: ["uid"])
        let provider = TokenProviderService(config: config, clients: ClientsFile(clients: [client, other]), logger: logger, issuer: issuer)
        tokeninfo = try TokeninfoService(
            config: TokeninfoConfig(port: tokeninfoPort, issuer: issuerURL, jwksURL: issuerURL + TokenProviderService.jwksPath,
                                    revocationsURL: issuerURL + TokenProviderService.revocationsPath, realms: [Self.realm],
                                    refresh: tokeninfoRefresh),
            group: group, logger: logger)
        let scenarioPath = folder + "/mesh.yaml"
        try yaml.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let scenario = try ScenarioLoader.load(path: scenarioPath)
        let layout = MeshLayout(
            replicas: services.map { [meshPorts] in .init(name: "\($0)-r1", service: $0, port: meshPorts[$0]!) }
                + deadReplicas.map { .init(name: "\($0.service)-dead", service: $0.service, port: $0.port) },
            tokeninfoURLs: ["http://127.0.0.1:\(tokeninfoPort)/oauth2/tokeninfo"], providerURL: issuerURL, issuer: issuerURL,
            strategy: strategy)
        // Dead replicas are in the layout (callers call them) but nobody serves them.
        mesh = try MeshServer(scenario: scenario, layout: layout, serving: Set(services.map { "\($0)-r1" }), group: group,
                              logger: logger)

        let providerApp = Application(router: provider.router(),
                                      configuration: .init(address: .hostname("127.0.0.1", port: providerPort)), logger: logger)
        let tokeninfoApp = Application(router: tokeninfo.router(),
                                       configuration: .init(address: .hostname("127.0.0.1", port: tokeninfoPort)), logger: logger)
        let tokeninfo = tokeninfo, mesh = mesh
        tasks.append(Task { try await providerApp.runService(gracefulShutdownSignals: []) })
        try await waitFor(providerPort, "/health")
        tasks.append(Task { try await tokeninfoApp.runService(gracefulShutdownSignals: []) })
        tasks.append(Task { await tokeninfo.runRefreshLoop() })
        tasks.append(Task { try await mesh.run(gracefulShutdownSignals: []) })
        try await waitFor(tokeninfoPort, "/health")
        for service in services { try await waitFor(meshPorts[service]!, "/health") }
    }

    func pool(_ port: Int) -> HTTPConnectionPool {
        if let p = pools[port] { return p }
        let p = HTTPConnectionPool(host: "127.0.0.1", port: port, group: group, maxConnections: 8)
        pools[port] = p
        return p
    }

    func get(_ port: Int, _ target: String, headers: [(String, String)] = []) async throws -> HTTPReply {
        try await pool(port).send(HTTPRequestSpec.get(target, headers: headers), timeout: .seconds(5))
    }

    func waitFor(_ port: Int, _ path: String) async throws {
        for _ in 0..<200 {
            if let reply = try? await get(port, path), reply.status == 200 { return }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        XCTFail("port \(port) \(path) never healthy")
    }

    /// A token as the provider issues it (client-credentials grant over HTTP).
    func fetchToken(realm: String = realm) async throws -> String {
        try await TokenClient.fetch(pool(providerPort), client: client, realm: realm)
    }

    func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
        for pool in pools.values { await pool.shutdown() }
        await mesh.shutdown()
        await tokeninfo.shutdown()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
