import Foundation
import Live
import LiveHTTP
import NIOCore
import Scenario
#if canImport(Glibc)
import Glibc
#endif

/// Starts the PaaS of an OAuth scenario as separate processes on 127.0.0.1 — the token
/// provider, `auth.tokeninfo.nodes` tokeninfo nodes and the mesh — with free ports, configs and
/// logs under the run folder; waits for each `/health`; stops them by pid (SIGTERM, so they
/// shut down gracefully, then SIGKILL after a grace period).
public final class PaaSLauncher: @unchecked Sendable {
    public let folder: String
    public let providerURL: String
    public let tokeninfoURLs: [String]
    public let issuer: String
    public let clients: ClientsFile
    public private(set) var layout: MeshLayout
    let executable: String
    let group: any EventLoopGroup
    private var processes: [(name: String, process: Process)] = []
    private var meshProcess: Process?
    /// The provider's outage switch, when the scenario takes one of its faces down.
    var outages: ProviderOutages?
    /// How each process was started (its arguments), so a crashed one can start again.
    private var startArguments: [String: [String]] = [:]
    /// The tokeninfo nodes' process names, in order (`tokeninfo-r1`, …).
    public var tokeninfoNames: [String] { tokeninfoURLs.indices.map { "tokeninfo-r\($0 + 1)" } }

    /// Client ids are `client-<k>`; every client may ask for the scenario's token realm.
    public static func clients(count: Int, realm: String) -> ClientsFile {
        var generator = SystemRandomNumberGenerator()
        return ClientsFile(clients: (1...max(1, count)).map { k in
            let secret = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
            return ClientRegistration(clientID: "client-\(k)", clientSecret: secret, realms: [realm], scopes: ["uid", "read"])
        })
    }

    init(folder: String, executable: String, group: any EventLoopGroup, providerURL: String, tokeninfoURLs: [String],
         issuer: String, clients: ClientsFile, layout: MeshLayout) {
        self.folder = folder
        self.executable = executable
        self.group = group
        self.providerURL = providerURL
        self.tokeninfoURLs = tokeninfoURLs
        self.issuer = issuer
        self.clients = clients
        self.layout = layout
    }

    /// What of a scenario the provider and tokeninfo processes are started with (`up`): runs of
    /// a `compare:` whose groups differ here (key rotation, lifetimes, tokeninfo nodes, …) need
    /// a PaaS of their own; groups that differ only in the mesh (`auth.strategy`, …) share one.
    public static func configuration(of scenario: Scenario) throws -> String {
        let auth = scenario.auth ?? AuthSpec()
        let lifetimes = auth.lifetimes.keys.sorted().map { "\($0)=\(auth.lifetimes[$0]!)" }.joined(separator: ",")
        let replicas = try MeshPlan.replicas(scenario, seed: 1).map(\.name).joined(separator: ",")
        return [String(auth.clients), auth.clientRealm, lifetimes, auth.rotationInterval.map(String.init) ?? "-",
                String(auth.rotationPrePublish), String(auth.tokeninfo.nodes), String(auth.leeway), replicas,
                String(OAuthLiveFaults.touchesProvider(scenario))].joined(separator: "|")
    }

    /// Starts provider and tokeninfo; the mesh starts with `startMesh`.
    public static func up(scenario: Scenario, folder: String, executable: String, group: any EventLoopGroup,
                          seed: UInt64, log: (String) -> Void) async throws -> PaaSLauncher {
        let auth = scenario.auth ?? AuthSpec()
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        let replicas = try MeshPlan.replicas(scenario, seed: seed)
        let tokeninfoNodes = max(1, auth.tokeninfo.nodes)
        let ports = try Ports.free(1 + tokeninfoNodes + replicas.count)
        let providerURL = "http://127.0.0.1:\(ports[0])"
        let issuer = providerURL
        let clients = Self.clients(count: auth.clients, realm: auth.clientRealm)
        try write(clients, to: folder + "/clients.json")
        let longest = auth.lifetimes.values.max() ?? 0
        let provider = ProviderConfig(
            port: ports[0], issuer: issuer, lifetimes: auth.lifetimes.mapValues { Double($0) / 1e9 },
            rotateEvery: auth.rotationInterval.map { Double($0) / 1e9 }, prePublish: Double(auth.rotationPrePublish) / 1e9,
            retainAfter: Double(longest) / 1e9, clientsFile: folder + "/clients.json", keysFile: folder + "/token-provider-keys.json",
            faultsFile: OAuthLiveFaults.touchesProvider(scenario) ? folder + "/token-provider-outages.json" : nil)
        try write(provider, to: folder + "/token-provider.json")
        var tokeninfoURLs: [String] = []
        for k in 0..<tokeninfoNodes {
            let config = TokeninfoConfig(port: ports[1 + k], issuer: issuer, jwksURL: providerURL + TokenProviderService.jwksPath,
                                         revocationsURL: providerURL + TokenProviderService.revocationsPath, realms: [auth.clientRealm],
                                         leeway: Double(auth.leeway) / 1e9)
            try write(config, to: "\(folder)/tokeninfo-r\(k + 1).json")
            tokeninfoURLs.append("http://127.0.0.1:\(ports[1 + k])/oauth2/tokeninfo")
        }
        let layout = MeshLayout(
            replicas: replicas.enumerated().map { i, r in MeshLayout.Replica(name: r.name, service: r.service, port: ports[1 + tokeninfoNodes + i]) },
            tokeninfoURLs: tokeninfoURLs, providerURL: providerURL, issuer: issuer, seed: seed)
        let launcher = PaaSLauncher(folder: folder, executable: executable, group: group, providerURL: providerURL,
                                    tokeninfoURLs: tokeninfoURLs, issuer: issuer, clients: clients, layout: layout)
        launcher.outages = provider.faultsFile.map(ProviderOutages.init(file:))
        do {
            let provider = try launcher.spawn("token-provider", ["serve", "token-provider", "--config", folder + "/token-provider.json"])
            try await launcher.waitHealthy(providerURL + "/health", name: "token-provider", process: provider)
            let nodes = try (1...tokeninfoNodes).map { k in
                try launcher.spawn("tokeninfo-r\(k)", ["serve", "tokeninfo", "--config", "\(folder)/tokeninfo-r\(k).json", "--name", "tokeninfo-r\(k)"])
            }
            for (k, url) in tokeninfoURLs.enumerated() {
                try await launcher.waitHealthy(url.replacingOccurrences(of: "/oauth2/tokeninfo", with: "/health"),
                                               name: "tokeninfo-r\(k + 1)", process: nodes[k])
            }
            log("token provider \(providerURL), \(tokeninfoNodes) tokeninfo node(s) up")
        } catch {
            launcher.down()
            throw error
        }
        return launcher
    }

    /// (Re)starts the mesh with `strategy` and the scenario overrides the mesh must see (the
    /// same `--set`s the run was given); waits until every replica is healthy.
    public func startMesh(scenarioPath: String, overrides: [String], strategy: String, log: (String) -> Void) async throws {
        stopMesh()
        layout.strategy = strategy
        let path = "\(folder)/mesh-\(strategy).json"
        try Self.write(layout, to: path)
        let mesh = try spawn("mesh-\(strategy)", ["serve", "mesh", scenarioPath, "--layout", path] + overrides.flatMap { ["--set", $0] })
        meshProcess = mesh
        for replica in layout.replicas {
            try await waitHealthy("http://127.0.0.1:\(replica.port)/health", name: replica.name, process: mesh)
        }
        log("mesh (\(strategy)): \(layout.replicas.count) replica(s) up")
    }

    public func stopMesh() {
        guard let process = meshProcess else { return }
        stop([process])
        processes.removeAll { $0.process === process }
        meshProcess = nil
    }

    public var meshPID: Int32? { meshProcess?.processIdentifier }

    public func down() {
        stop(processes.map(\.process))
        processes = []
        meshProcess = nil
    }

    private func stop(_ list: [Process]) {
        for p in list where p.isRunning { kill(p.processIdentifier, SIGCONT); kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, list.contains(where: \.isRunning) { usleep(20_000) }
        for p in list where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in list { p.waitUntilExit() }
    }

    private func spawn(_ name: String, _ arguments: [String]) throws -> Process {
        let logPath = "\(folder)/logs/\(name).log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: logPath) else { throw LiveError.failed("cannot open \(logPath)") }
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw LiveError.failed("cannot start \(executable) \(arguments.joined(separator: " ")): \(error)") }
        processes.append((name, process))
        startArguments[name] = startArguments[name] ?? arguments
        return process
    }

    // MARK: - Faults (a scenario's `crash`/`pause` of `service(tokeninfo)`)

    private func process(named name: String) -> Process? { processes.last { $0.name == name }?.process }

    /// SIGKILL: the node gets no chance to answer anything in flight.
    public func crash(process name: String) {
        guard let p = process(named: name), p.isRunning else { return }
        kill(p.processIdentifier, SIGCONT)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    public func isRunning(process name: String) -> Bool { process(named: name)?.isRunning ?? false }

    /// Starts a crashed tokeninfo node again (same config and port) and waits for its `/health`.
    public func restart(process name: String) async throws {
        guard !isRunning(process: name), let args = startArguments[name], let k = tokeninfoNames.firstIndex(of: name) else { return }
        let p = try spawn(name, args)
        try await waitHealthy(tokeninfoURLs[k].replacingOccurrences(of: "/oauth2/tokeninfo", with: "/health"), name: name, process: p)
    }

    /// Takes a face of the provider (`jwks`, `token-provider`) down or brings it up.
    public func setOutage(_ face: String, down: Bool) throws {
        guard let outages else { throw LiveError.failed("the token provider was started without its outage switch") }
        try outages.set(face, down: down)
    }

    public func pause(process name: String) {
        if let p = process(named: name), p.isRunning { kill(p.processIdentifier, SIGSTOP) }
    }

    public func resume(process name: String) {
        if let p = process(named: name), p.isRunning { kill(p.processIdentifier, SIGCONT) }
    }

    /// Polls `GET url` until 200 (keys loaded, ports bound), up to 30 s; fails at once when
    /// `process` (the one serving it) has exited.
    func waitHealthy(_ url: String, name: String, process: Process, timeout: Double = 30) async throws {
        let endpoint = try HTTPEndpoint(url)
        let pool = HTTPConnectionPool(host: endpoint.host, port: endpoint.port, group: group, maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw LiveError.failed("\(name) exited with status \(process.terminationStatus); see \(folder)/logs/")
            }
            if let reply = try? await pool.send(HTTPRequestSpec(method: "GET", target: endpoint.path), timeout: .milliseconds(500)),
               reply.status == 200 { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw LiveError.failed("\(name) not healthy at \(url) after \(Int(timeout)) s; see \(folder)/logs/")
    }

    static func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    }

    /// Resident memory per process, MB.
    public func residentMB() -> [String: Double] {
        var out: [String: Double] = [:]
        for (name, p) in processes where p.isRunning {
            if let bytes = processResidentBytes(pid: p.processIdentifier) { out[name] = Double(bytes) / 1_048_576 }
        }
        return out
    }

}
