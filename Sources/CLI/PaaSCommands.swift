import ArgumentParser
import Auth
import Foundation
import Hummingbird
import LivePaaS
import Logging
import NIOPosix
import Results
import Scenario

/// What every `serve` subcommand that reads a config file takes.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's config file (JSON).")
    var config: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
}

/// Structured logs (swift-log) to standard error, at the requested level.
func bootstrapLogging(_ level: String, label: String) throws -> Logger {
    guard let parsed = Logger.Level(rawValue: level) else {
        throw BadInput("--log-level: expected trace, debug, info, notice, warning, error or critical; found '\(level)'")
    }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = parsed
        return handler
    }
    var logger = Logger(label: label)
    logger.logLevel = parsed
    return logger
}

struct ServeTokenProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token-provider",
        abstract: "Run the OAuth2 token provider (client credentials, ES256 JWTs, JWKS, key rotation) until SIGTERM/SIGINT.",
        discussion: "Config (JSON): port, issuer, lifetimes (realm → seconds), rotate_every, pre_publish, retain_after, clients_file. See Scenarios/README.md, Live PaaS services.")

    @OptionGroup var server: ServerOptions

    func run() throws {
        let logger = try bootstrapLogging(server.logLevel, label: "faultline.token-provider")
        try runLive {
            let config = try loadConfig(ProviderConfig.self, from: server.config)
            let service = TokenProviderService(config: config, clients: try ClientsFile.load(config.clientsFile), logger: logger)
            let app = Application(router: service.router(),
                                  configuration: .init(address: .hostname("127.0.0.1", port: config.port), serverName: "token-provider"),
                                  logger: logger)
            logger.info("token provider listening", metadata: ["port": "\(config.port)", "issuer": "\(config.issuer)"])
            try await app.runService()
        }
    }
}

struct ServeTokeninfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokeninfo",
        abstract: "Run a tokeninfo node (Zalando semantics, local ES256 verification, JWKS cache) until SIGTERM/SIGINT.",
        discussion: "Config (JSON): port, issuer, jwks_url, revocations_url, realms, leeway, refresh. /health is 503 until keys are loaded.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The process name in logs and metrics.")
    var name: String = "tokeninfo"

    func run() throws {
        let logger = try bootstrapLogging(server.logLevel, label: "faultline.\(name)")
        try runLive { [name] in
            let config = try loadConfig(TokeninfoConfig.self, from: server.config)
            let service = try TokeninfoService(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: logger, process: name)
            let refresher = Task { await service.runRefreshLoop() }
            let app = Application(router: service.router(),
                                  configuration: .init(address: .hostname("127.0.0.1", port: config.port), serverName: name),
                                  logger: logger)
            logger.info("tokeninfo listening", metadata: ["port": "\(config.port)", "jwks": "\(config.jwksURL)"])
            try await app.runService()
            refresher.cancel()
            await service.shutdown()
        }
    }
}

struct ServeMeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Run the scenario's call graph as HTTP services (one port per replica) until SIGTERM/SIGINT.",
        discussion: """
            Each replica validates the bearer token with the scenario's auth strategy (central via tokeninfo, local via \
            the provider's JWKS, hybrid, none), does its modelled work and calls its children over keep-alive connections. \
            The layout (JSON, written by `faultline load`) gives every replica's port and the tokeninfo/provider URLs; \
            without it, replicas listen on --base-port, --base-port+1, … in graph order.
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "The layout file (JSON): replicas and ports, tokeninfo_urls, provider_url, issuer, strategy, seed.")
    var layout: String?

    @Option(help: "First port when there is no layout.")
    var basePort: Int = 8100

    @Option(help: "Tokeninfo URL when there is no layout (repeatable).")
    var tokeninfo: [String] = []

    @Option(help: "Token provider base URL when there is no layout.")
    var provider: String = "http://127.0.0.1:8080"

    @Option(help: "Issuer the tokens must carry when there is no layout.")
    var issuer: String = "http://127.0.0.1:8080"

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value, e.g. auth.strategy=local.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        let logger = try bootstrapLogging(logLevel, label: "faultline.mesh")
        let layoutValue: MeshLayout
        if let layout {
            layoutValue = try runLive { try loadConfig(MeshLayout.self, from: layout) }
        } else {
            layoutValue = try MeshPlan.defaultLayout(scenario: model, basePort: basePort, tokeninfoURLs: tokeninfo,
                                                     providerURL: provider, issuer: issuer)
        }
        try runLive {
            let server = try MeshServer(scenario: model, layout: layoutValue, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
            for r in layoutValue.replicas { logger.info("replica listening", metadata: ["replica": "\(r.name)", "port": "\(r.port)"]) }
            try await server.run()
        }
    }
}

/// Where `faultline calibrate` writes by default, and where `faultline load` looks for a
/// profile when none is given.
let defaultProfilePath = "Results/calibration/profile.yaml"

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this machine's live costs (ES256 verify, tokeninfo service time, per-hop latency) and write a scenario profile.",
        discussion: """
            Starts the scenario's token provider, tokeninfo and mesh as local processes, times one bare hop of the mesh \
            (no work, no calls) with strategies none, local and central over a warm keep-alive connection, and writes a \
            profile whose `set:` entries are --set \
            overrides (auth.verify_cost, auth.tokeninfo.service, services.latency.same_host/same_zone). `faultline load` \
            of an OAuth scenario applies \(defaultProfilePath) when it exists; `run`, `sweep` and `load` take --profile.
            """)

    @Argument(help: "The OAuth scenario whose services are measured.")
    var scenario: String = "Scenarios/live/oauth-fanout.yaml"

    @Option(help: "Where the profile goes.")
    var out: String = defaultProfilePath

    @Option(help: "Measurements per quantity.")
    var samples: Int = 1000

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value.", valueName: "key.path=value"))
    var overrides: [String] = []

    func validate() throws {
        if samples < 20 { throw ValidationError("--samples must be at least 20, found \(samples)") }
    }

    func run() throws {
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        guard model.mesh != nil else { throw BadInput("\(scenario): calibrate needs an OAuth scenario (a `services:` section)") }
        let folder = (out as NSString).deletingLastPathComponent + "/calibration-run"
        let executable = currentExecutable()
        let scenarioPath = scenario, overrides = overrides, samples = samples, out = out
        let text = try runLive {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            var result = CalibrationResult(samples: samples)
            Calibration.measureVerify(samples: samples, into: &result)
            print("verify: p50 \(formatNumber(result.verify.percentile(50) / 1e3)) µs, p99 \(formatNumber(result.verify.percentile(99) / 1e3)) µs")
            let launcher = try await PaaSLauncher.up(scenario: model, folder: folder, executable: executable, group: group, seed: 1) { print($0) }
            do {
                let token = try await Calibration.token(launcher: launcher, group: group)
                try await Calibration.measureTokeninfo(launcher: launcher, token: token, group: group, samples: samples, into: &result)
                for strategy in ["none", "local", "central"] {
                    try await launcher.startMesh(scenarioPath: scenarioPath, overrides: overrides + ["auth.strategy=\(strategy)"],
                                                 strategy: strategy) { print($0) }
                    try await Calibration.measureBareHop(launcher: launcher, strategy: strategy, token: token, group: group,
                                                         samples: samples, into: &result)
                    print("hop (\(strategy)): p50 \(formatNumber(result.bareHop[strategy]!.percentile(50) / 1e3)) µs round trip")
                }
            } catch {
                launcher.down()
                throw error
            }
            launcher.down()
            try? await group.shutdownGracefully()
            let host = ProcessInfo.processInfo.hostName
            return result.profile(host: host, date: ISO8601DateFormatter().string(from: Date()))
        }
        do {
            try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: out, atomically: true, encoding: .utf8)
        } catch {
            throw InternalFailure("cannot write \(out): \(error)")
        }
        print(text)
        print("profile: \(out)")
    }
}

/// `faultline load` of an OAuth scenario: the PaaS up as processes, each `compare:` group run
/// live (its own mesh), then the same groups simulated with the same overrides (the calibration
/// profile included), all in one results folder with a "Simulated vs live" table.
struct OAuthLoad {
    var scenarioPath: String
    var userOverrides: [String]
    var profile: String?
    var out: String?
    var seed: UInt64
    var simSeeds: Int?

    func run() throws {
        var profileOverrides: [String] = []
        let profilePath = profile ?? (FileManager.default.fileExists(atPath: defaultProfilePath) ? defaultProfilePath : nil)
        if let profilePath {
            profileOverrides = try ScenarioProfile.overrides(fromFile: profilePath)
            print("profile: \(profilePath) (\(profileOverrides.count) override(s))")
        } else {
            print("profile: none (run `faultline calibrate` to measure this machine; the scenario's own costs are simulated)")
        }
        let overrides = profileOverrides + userOverrides
        let base = try ScenarioLoader.load(path: scenarioPath, overrides: overrides)
        let combos = combinationsOf(base.compare.map { ($0.key, $0.values) })
        var groups: [(scenario: Scenario, overrides: [String], parameters: [String: String])] = []
        for combo in combos {
            let assignments = combo.map { "\($0.0)=\($0.1)" }
            var parameters: [String: String] = [:]
            for (k, v) in combo { parameters[k] = v }
            groups.append((try ScenarioLoader.load(path: scenarioPath, overrides: overrides + assignments), overrides + assignments, parameters))
        }
        let output = try OutputFolder(requested: out, scenarioName: base.name)
        let store = try openResultsStore(output, scenario: base, mode: "live")
        let executable = currentExecutable()
        let folder = output.path
        let seed = seed, scenarioPath = scenarioPath, liveGroups = groups
        let liveRecords = try runLive {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            let launcher = try await PaaSLauncher.up(scenario: base, folder: folder + "/paas", executable: executable, group: group,
                                                     seed: 1) { print("  " + $0) }
            var records: [RunRecord] = []
            do {
                for (index, g) in liveGroups.enumerated() {
                    let strategy = ValidationStrategy(rawValue: (g.scenario.auth ?? AuthSpec()).strategy.rawValue) ?? .local
                    print("[\(index + 1)/\(liveGroups.count)] live \(ReportRendererLabel.text(g.parameters))")
                    try await launcher.startMesh(scenarioPath: scenarioPath, overrides: g.overrides, strategy: strategy.rawValue) { print("  " + $0) }
                    let run = OAuthLoadRun(scenario: g.scenario, strategy: strategy, parameters: g.parameters.merging(["driver": "live"]) { a, _ in a },
                                           seed: seed)
                    records.append(try await run.execute(launcher: launcher, group: group) { print("  " + $0) })
                }
            } catch {
                launcher.down()
                throw error
            }
            launcher.down()
            try? await group.shutdownGracefully()
            return records
        }
        for record in liveRecords {
            do { try store.append(record) } catch { throw InternalFailure("cannot write \(output.database): \(error)") }
        }
        // The same groups, simulated.
        var jobs: [SeedJob] = []
        for g in groups {
            for s in 1...UInt64(max(1, simSeeds ?? g.scenario.seeds)) {
                jobs.append(SeedJob(scenario: g.scenario, parameters: g.parameters.merging(["driver": "sim"]) { a, _ in a }, seed: s))
            }
        }
        print("simulating \(groups.count) group(s) × \(jobs.count / max(1, groups.count)) seed(s)")
        let runner = SeedRunner(store: store, progress: Progress(total: jobs.count, label: "seeds"))
        _ = try runner.run(jobs, threads: ProcessInfo.processInfo.activeProcessorCount)
        let set: RunSet
        do { set = try store.load() } catch { throw InternalFailure("cannot read back \(output.database): \(error)") }
        try finishRun(set: set, output: output, scenarioPath: scenarioPath, overrides: overrides)
    }
}

enum ReportRendererLabel {
    static func text(_ p: [String: String]) -> String {
        p.isEmpty ? "(scenario as written)" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
    }
}
