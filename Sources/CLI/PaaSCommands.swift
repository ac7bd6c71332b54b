import ArgumentParser
import Auth
import Foundation
import Hummingbird
import Live
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
        discussion: "Config (JSON): port, issuer, lifetimes (realm → seconds), rotate_every, pre_publish, retain_after, clients_file, keys_file (signing keys kept across restarts, 0600). See Scenarios/README.md, Live PaaS services.")

    @OptionGroup var server: ServerOptions

    func run() throws {
        let logger = try bootstrapLogging(server.logLevel, label: "faultline.token-provider")
        try runLive {
            let config = try loadConfig(ProviderConfig.self, from: server.config)
            let service = TokenProviderService(config: config, clients: try ClientsFile.load(config.clientsFile), logger: logger,
                                               issuer: try config.liveIssuer())
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

/// The `--set` overrides of the profile given, or of the default one when it exists (printing which).
func loadProfileOverrides(_ explicit: String?, default path: String, calibrate: String) throws -> [String] {
    guard let profilePath = explicit ?? (FileManager.default.fileExists(atPath: path) ? path : nil) else {
        print("profile: none (run `\(calibrate)` to measure this machine; the scenario's own costs are simulated)")
        return []
    }
    let overrides = try ScenarioProfile.overrides(fromFile: profilePath)
    print("profile: \(profilePath) (\(overrides.count) override(s))")
    return overrides
}

/// Where `faultline calibrate` writes by default, and where `faultline load` looks for a
/// profile when none is given: one for OAuth scenarios, one for broker scenarios (their keys differ).
let defaultProfilePath = "Results/calibration/profile.yaml"
let defaultBrokerProfilePath = "Results/calibration/broker-profile.yaml"

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this machine's live costs and write a scenario profile (OAuth: verify, tokeninfo, hops; broker: disk, loopback).",
        discussion: """
            OAuth scenario: starts the scenario's token provider, tokeninfo and mesh as local processes, times one bare hop of \
            the mesh (no work, no calls) with strategies none, local and central over a warm keep-alive connection, and \
            writes a profile whose `set:` entries are --set overrides (auth.verify_cost, auth.tokeninfo.service, \
            services.latency.same_host/same_zone/client); default \(defaultProfilePath). \
            Broker scenario: times the broker's own store (NodeStore, group commit) appending the scenario's message size \
            with and without fsync on real files next to the profile, and small-frame round trips over loopback TCP between \
            two SwiftNIO event loops; writes cluster.disk.write, cluster.disk.fsync and cluster.network.latency; default \
            \(defaultBrokerProfilePath). `faultline load` applies the default profile of its kind when it exists; `run`, \
            `sweep` and `load` take --profile.
            """)

    @Argument(help: "The scenario whose live costs are measured (an OAuth or a broker scenario).")
    var scenario: String = "Scenarios/live/oauth-fanout.yaml"

    @Option(help: "Where the profile goes (default \(defaultProfilePath), or \(defaultBrokerProfilePath) for a broker scenario).")
    var out: String?

    @Option(help: "Measurements per quantity.")
    var samples: Int = 1000

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value.", valueName: "key.path=value"))
    var overrides: [String] = []

    func validate() throws {
        if samples < 20 { throw ValidationError("--samples must be at least 20, found \(samples)") }
    }

    func run() throws {
        stopEverythingOnInterrupt()
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        if model.mesh == nil, model.broker != nil {
            try calibrateBroker(model)
            return
        }
        guard model.mesh != nil else {
            throw BadInput("\(scenario): calibrate needs an OAuth scenario (a `services:` section) or a broker scenario (a `broker:` section)")
        }
        let out = out ?? defaultProfilePath
        let folder = (out as NSString).deletingLastPathComponent + "/calibration-run"
        let executable = currentExecutable()
        let scenarioPath = scenario, overrides = overrides, samples = samples
        let text = try runLive {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            var result = CalibrationResult(samples: samples)
            Calibration.measureVerify(samples: samples, into: &result)
            print("verify: p50 \(formatNumber(result.verify.percentile(50) / 1e3)) µs, p99 \(formatNumber(result.verify.percentile(99) / 1e3)) µs")
            let launcher = try await PaaSLauncher.up(scenario: model, folder: folder, executable: executable, group: group, seed: 1) { progress($0) }
            do {
                let token = try await Calibration.token(launcher: launcher, group: group)
                try await Calibration.measureTokeninfo(launcher: launcher, token: token, group: group, samples: samples, into: &result)
                for strategy in ["none", "local", "central"] {
                    try await launcher.startMesh(scenarioPath: scenarioPath, overrides: overrides + ["auth.strategy=\(strategy)"],
                                                 strategy: strategy) { progress($0) }
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
        try write(profile: text, to: out)
    }

    /// The broker's store on real files next to the profile (where live runs under Results/ keep
    /// their data too), loopback round trips between two event loops, and then one fitted
    /// quantity: the scenario's load run live for a few seconds without faults gives this
    /// machine's steady-state publish p50; the network latency the simulator needs to give the
    /// same p50 (with the measured disk) stands for everything a live hop costs beyond the
    /// loopback echo (frame codecs, the broker's work, thread wake-ups on a busy machine).
    /// The scenario's faults, failover and duplicates are not fitted: they stay predictions.
    private func calibrateBroker(_ model: Scenario) throws {
        let out = out ?? defaultBrokerProfilePath
        let base = (out as NSString).deletingLastPathComponent + "/calibration-run"
        let samples = samples
        var result = BrokerCalibrationResult(messageBytes: model.publishes.first?.sizeBytes ?? 512)
        do {
            try BrokerCalibration.measureDisk(folder: base + "/disk", nodes: model.cluster.nodes.count, samples: samples, into: &result)
        } catch {
            throw InternalFailure("calibrate: the store in \(base)/disk failed: \(error)")
        }
        print("store batch (\(model.cluster.nodes.count) stores at once): append p50 \(formatNumber(result.write.p50)) µs, "
              + "append + fsync p50 \(formatNumber(result.syncedBatch.percentile(50) / 1e3)) µs")
        // The scenario's own window: a live cluster's first seconds are slower (files created,
        // caches cold; measured here: a 6 s run gave twice the p50 of a 14 s one).
        var steady = model
        steady.faults = []
        let proxied = LoadRun.needsFaultProxy(model)
        let measured = result, executable = currentExecutable(), steadyScenario = steady
        try? FileManager.default.removeItem(atPath: base + "/steady")
        let (loopback, steadyRecord) = try runLive { () async throws -> (BrokerCalibrationResult, RunRecord) in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            var result = measured
            try await BrokerCalibration.measureLoopback(samples: samples, group: group, into: &result)
            print("loopback: round trip p50 \(formatNumber(result.loopbackRoundTrip.percentile(50) / 1e3)) µs")
            print("steady state: the scenario's load live for \(formatNumber(Double(steadyScenario.duration) / 1e9)) s without faults")
            var run = LoadRun(scenario: steadyScenario, target: .faultline, parameters: [:], seed: 1, folder: base + "/steady", executable: executable)
            // A scenario with network faults runs live through the fault proxy: fit the hop with it.
            run.faultProxy = proxied
            let record = try await run.execute(group: group) { progress("  " + $0) }
            try? await group.shutdownGracefully()
            return (result, record)
        }
        result = loopback
        try? FileManager.default.removeItem(atPath: base + "/steady")
        guard let live = steadyRecord.histograms["publish_latency"], live.count > 0 else {
            throw InternalFailure("calibrate: the steady-state live run acknowledged no publish")
        }
        result.liveSteadyP50 = live.percentile(50) / 1e3
        let disk = ["cluster.disk.write=\(CalibrationProfile.lognormal(result.write.p50, result.write.p99))",
                    "cluster.disk.fsync=\(CalibrationProfile.lognormal(result.fsync.p50, result.fsync.p99))"]
        let tailRatio = max(1.1, result.oneWay.p99 / max(1, result.oneWay.p50))
        // Publish p50 of the simulated steady state with a one-way latency of `us` µs.
        func simulatedP50(_ us: Double) throws -> Double {
            var scenario = try ScenarioLoader.load(path: self.scenario, overrides: disk + overrides + [
                "cluster.network.latency=\(CalibrationProfile.lognormal(us, us * tailRatio))"])
            scenario.faults = []
            scenario.warmup = steady.warmup
            scenario.duration = steady.duration
            let record = try SeedRunner.execute(SeedJob(scenario: scenario, parameters: [:], seed: 1))
            return (record.histograms["publish_latency"]?.percentile(50) ?? 0) / 1e3
        }
        // Bisection: the simulated p50 grows with the hop latency.
        var low = max(1, result.oneWay.p50), high = max(low * 2, 5000)
        if try simulatedP50(low) >= result.liveSteadyP50 {
            high = low
        } else {
            for _ in 0..<14 {
                let middle = (low + high) / 2
                if try simulatedP50(middle) < result.liveSteadyP50 { low = middle } else { high = middle }
            }
        }
        result.fittedOneWay = (high, high * tailRatio)
        result.simSteadyP50 = try simulatedP50(high)
        print("steady-state publish p50: live \(formatNumber(result.liveSteadyP50)) µs; simulated \(formatNumber(result.simSteadyP50)) µs "
              + "with a one-way latency of \(formatNumber(high)) µs (loopback echo: \(formatNumber(result.oneWay.p50)) µs)")
        try write(profile: result.profile(host: ProcessInfo.processInfo.hostName, date: ISO8601DateFormatter().string(from: Date())), to: out)
    }

    private func write(profile text: String, to out: String) throws {
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
    var junit: String?

    func run() throws {
        let profileOverrides = try loadProfileOverrides(profile, default: defaultProfilePath, calibrate: "faultline calibrate")
        let overrides = profileOverrides + userOverrides
        let base = try ScenarioLoader.load(path: scenarioPath, overrides: overrides)
        // Faults live OAuth runs cannot inject are refused before anything starts.
        try runLive { try OAuthLiveFaults.validate(base) }
        let combos = combinationsOf(base.compare.map { ($0.key, $0.values) })
        var groups: [(scenario: Scenario, overrides: [String], parameters: [String: String])] = []
        for combo in combos {
            let assignments = combo.map { "\($0.0)=\($0.1)" }
            var parameters: [String: String] = [:]
            for (k, v) in combo { parameters[k] = v }
            groups.append((try ScenarioLoader.load(path: scenarioPath, overrides: overrides + assignments), overrides + assignments, parameters))
        }
        let output = try OutputFolder(requested: out, scenarioName: base.name)
        let store = try openResultsStore(output, scenario: base, mode: "live", overrides: userOverrides)
        let executable = currentExecutable()
        let folder = output.path
        let seed = seed, scenarioPath = scenarioPath, liveGroups = groups
        let configurations = try groups.map { try PaaSLauncher.configuration(of: $0.scenario) }
        let liveRecords = try runLive {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            // One PaaS for every run group it fits (its provider and tokeninfo started as the
            // group's scenario says); a group that needs another one (key rotation, lifetimes…)
            // gets a fresh one in `paas-<k>`.
            var launcher = try await PaaSLauncher.up(scenario: liveGroups[0].scenario, folder: folder + "/paas", executable: executable,
                                                     group: group, seed: 1) { progress("  " + $0) }
            var launched = [configurations[0]]
            var records: [RunRecord] = []
            do {
                for (index, g) in liveGroups.enumerated() {
                    let strategy = ValidationStrategy(rawValue: (g.scenario.auth ?? AuthSpec()).strategy.rawValue) ?? .local
                    print("[\(index + 1)/\(liveGroups.count)] live \(ReportRendererLabel.text(g.parameters))")
                    if configurations[index] != launched.last {
                        launcher.down()
                        launched.append(configurations[index])
                        launcher = try await PaaSLauncher.up(scenario: g.scenario, folder: folder + "/paas-\(launched.count)", executable: executable,
                                                             group: group, seed: 1) { progress("  " + $0) }
                    }
                    try await launcher.startMesh(scenarioPath: scenarioPath, overrides: g.overrides, strategy: strategy.rawValue) { progress("  " + $0) }
                    let run = OAuthLoadRun(scenario: g.scenario, strategy: strategy, parameters: g.parameters.merging(["driver": "live"]) { a, _ in a },
                                           seed: seed)
                    records.append(try await run.execute(launcher: launcher, group: group) { progress("  " + $0) })
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
        // --sim-seeds 0: live only (as `compare --interleave` runs it).
        for g in groups where (simSeeds ?? g.scenario.seeds) > 0 {
            for s in 1...UInt64(max(1, simSeeds ?? g.scenario.seeds)) {
                jobs.append(SeedJob(scenario: g.scenario, parameters: g.parameters.merging(["driver": "sim"]) { a, _ in a }, seed: s))
            }
        }
        if !jobs.isEmpty { print("simulating \(groups.count) group(s) × \(jobs.count / max(1, groups.count)) seed(s)") }
        let runner = SeedRunner(store: store, progress: Progress(total: jobs.count, label: "seeds"))
        _ = try runner.run(jobs, threads: ProcessInfo.processInfo.activeProcessorCount)
        let set: RunSet
        do { set = try store.load() } catch { throw InternalFailure("cannot read back \(output.database): \(error)") }
        try finishRun(set: set, output: output, scenarioPath: scenarioPath, overrides: overrides, junit: junit)
    }
}

enum ReportRendererLabel {
    static func text(_ p: [String: String]) -> String {
        p.isEmpty ? "(scenario as written)" : p.keys.sorted().map { "\($0)=\(p[$0]!)" }.joined(separator: " ")
    }
}
