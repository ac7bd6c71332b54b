import ArgumentParser
import Foundation
import Live
import LiveBroker
import Logging
import NIOCore
import NIOPosix
import Results
import Scenario

/// Runs async work from these synchronous commands and maps live-mode errors to exit codes.
func runLive<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    switch box.result! {
    case .success(let value): return value
    case .failure(let error as LiveError):
        switch error {
        case .badInput(let s): throw BadInput(s)
        case .failed(let s): throw InternalFailure(s)
        }
    case .failure(let error): throw error
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// The path of this very executable, so the launcher starts nodes from the same build.
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run a live server process.",
        subcommands: [ServeBrokerCommand.self, ServeTokenProviderCommand.self, ServeTokeninfoCommand.self, ServeMeshCommand.self])
}

struct ServeBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run one broker node (the replication cores over SwiftNIO) until SIGTERM/SIGINT.",
        discussion: "The node config (JSON) is written by `faultline cluster up` / `faultline load`; see Scenarios/README.md, Live mode.")

    @OptionGroup var server: ServerOptions

    func run() throws {
        guard let data = FileManager.default.contents(atPath: server.config) else { throw BadInput("cannot read --config \(server.config)") }
        let nodeConfig: BrokerNodeConfig
        do {
            nodeConfig = try JSONDecoder().decode(BrokerNodeConfig.self, from: data)
        } catch {
            throw BadInput("\(server.config): not a broker node config: \(error)")
        }
        // Block SIGTERM and SIGINT before any thread exists, so every thread inherits the block
        // and the main thread's `sigwait` receives them. (A dispatch signal source installed
        // after the event loop's thread started never fired: the kernel handed the signal to
        // that thread, whose disposition was SIG_IGN — every node ignored SIGTERM and was
        // SIGKILLed by `cluster down` after its 3 s grace.)
        let stopSignals = StopSignals.block()
        let name = nodeConfig.me.name
        let logger = try bootstrapLogging(server.logLevel, label: "faultline.broker.\(name)")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let log = logger
        let node = try runLive { try await BrokerServer.start(nodeConfig, loop: loop, logger: log) }
        loop.execute { node.onFatalError = { Foundation.exit(ExitStatus.internalError.rawValue) } }
        // Stop on SIGTERM / SIGINT: a clean stop; SIGKILL is the crash the chaos tests use.
        let received = stopSignals.wait()
        logger.info("stopping", metadata: ["signal": "\(received)"])
        // Prompt even when peers are unreachable: stop the node (timers, connections, storage
        // thread), then give the event loop a bounded time to wind down.
        let stopped = DispatchSemaphore(value: 0)
        loop.execute {
            node.stop()
            stopped.signal()
        }
        _ = stopped.wait(timeout: .now() + 2)
        let shutDown = DispatchSemaphore(value: 0)
        group.shutdownGracefully { _ in shutDown.signal() }
        if shutDown.wait(timeout: .now() + 1) == .timedOut { logger.warning("event loop did not stop within 1 s; exiting") }
        Foundation.exit(ExitStatus.ok.rawValue)
    }
}

/// SIGTERM and SIGINT for a server process that waits for them on its main thread.
struct StopSignals {
    private var set = sigset_t()

    /// Blocks both in the calling thread (and so in every thread it starts afterwards).
    static func block() -> StopSignals {
        var signals = StopSignals()
        sigemptyset(&signals.set)
        sigaddset(&signals.set, SIGTERM)
        sigaddset(&signals.set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals.set, nil)
        return signals
    }

    /// Waits for one of them; returns its number.
    func wait() -> Int32 {
        var set = self.set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Start, inspect or stop a scenario's broker nodes as local processes.",
        subcommands: [ClusterUpCommand.self, ClusterStatusCommand.self, ClusterDownCommand.self])
}

struct ClusterOptions: ParsableArguments {
    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "The cluster's folder (default Results/<scenario>-cluster).")
    var out: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value, e.g. cluster.nodes=5.", valueName: "key.path=value"))
    var overrides: [String] = []

    func load() throws -> (Scenario, String) {
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        return (model, out ?? "Results/\(model.name)-cluster")
    }
}

struct ClusterUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Start the scenario's nodes (and nats-server when `live.nats`), wait for leaders and streams.")

    @OptionGroup var options: ClusterOptions

    func run() throws {
        let (model, folder) = try options.load()
        stopEverythingOnInterrupt()
        if let existing = try? ClusterState.load(folder: folder), existing.nodes.contains(where: { $0.pid != nil }) {
            throw BadInput("\(folder) already runs a cluster; `faultline cluster down \(options.scenario)` first")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let executable = currentExecutable()
        let nats = model.live?.nats ?? false
        try runLive {
            let env = try await ClusterUp.start(scenario: model, folder: folder, executable: executable, loop: group.next(), nats: nats) { progress($0) }
            print(try await ClusterUp.status(env))
        }
        print("cluster: \(folder) (stop it with: faultline cluster down \(shellQuote(options.scenario))\(options.out.map { " --out \(shellQuote($0))" } ?? ""))")
    }
}

struct ClusterStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the cluster's processes, leaders and streams.")

    @OptionGroup var options: ClusterOptions

    func run() throws {
        let (_, folder) = try options.load()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let executable = currentExecutable()
        try runLive {
            let launcher = try ClusterLauncher.attach(folder: folder, executable: executable, eventLoop: group.next())
            print(try await ClusterUp.status(launcher))
        }
    }
}

struct ClusterDownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop every process the cluster started (by pid).")

    @OptionGroup var options: ClusterOptions

    func run() throws {
        let (_, folder) = try options.load()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let launcher = try runLive { [executable = currentExecutable()] in
            try ClusterLauncher.attach(folder: folder, executable: executable, eventLoop: group.next())
        }
        let pids = launcher.state.nodes.compactMap(\.pid) + (launcher.state.nats?.pids ?? [])
        launcher.down()
        print("stopped \(pids.count) process(es); logs and data stay in \(folder)")
    }
}

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Run a scenario live: start the cluster, drive its workload open-loop with its faults, read back, check, write results.",
        discussion: """
            Latency runs from each message's intended send time (coordinated-omission correct, as wrk2); the uncorrected \
            latency is reported too. Every acknowledged message is checked in the read-back (no_acknowledged_loss, \
            producer_order). `--target` may be given more than once: the targets then sit side by side in one report.
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "faultline (the default), faultline-nats (publish through NATS ingestion) or nats-jetstream; repeat to compare them in one report.")
    var target: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value, e.g. broker.fsync=always.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Output folder (default Results/<scenario>-<timestamp>).")
    var out: String?

    @Option(help: "Seed of the arrival schedules.")
    var seed: UInt64 = 1

    @Option(help: "A scenario profile (`faultline calibrate` writes one) for the simulated side; by default \(defaultProfilePath) (OAuth) or \(defaultBrokerProfilePath) (broker) when it exists.")
    var profile: String?

    @Option(help: "Seeds of the simulation run next to the live one (default: the scenario's `seeds`; 0: no simulation).")
    var simSeeds: Int?

    @Option(help: "Broker scenarios: live runs per group (seeds --seed, --seed+1, …), for a mean and CI over runs.")
    var runs: Int = 1

    @Option(help: "Also write the checks and SLOs as JUnit XML (one testcase per group × check/SLO) for CI.")
    var junit: String?

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, found \(runs)") }
        if let simSeeds, simSeeds < 0 { throw ValidationError("--sim-seeds must be 0 or more, found \(simSeeds)") }
    }

    func run() throws {
        stopEverythingOnInterrupt()
        let probe = try ScenarioLoader.load(path: scenario, overrides: overrides)
        if probe.mesh != nil {
            if !target.isEmpty && target != ["faultline"] {
                throw BadInput("--target: an OAuth (`services:`) scenario runs against the Faultline PaaS services only")
            }
            try OAuthLoad(scenarioPath: scenario, userOverrides: overrides, profile: profile, out: out, seed: seed,
                          simSeeds: simSeeds, junit: junit).run()
            return
        }
        let targets = try (target.isEmpty ? ["faultline"] : target).map { name -> LoadTarget in
            guard let t = LoadTarget(rawValue: name) else {
                throw BadInput("--target: expected faultline, faultline-nats or nats-jetstream; found '\(name)'")
            }
            return t
        }
        var model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        // `compare:` runs each listed setting (on the Faultline target), as `run` does.
        var groups: [(target: LoadTarget, overrides: [String], parameters: [String: String])] = []
        let combos = combinationsOf(model.compare.map { ($0.key, $0.values) })
        for t in targets {
            if t == .faultline && !model.compare.isEmpty {
                for combo in combos {
                    var parameters = ["target": t.rawValue]
                    for (k, v) in combo { parameters[k] = v }
                    groups.append((t, combo.map { "\($0.0)=\($0.1)" }, parameters))
                }
            } else {
                groups.append((t, [], ["target": t.rawValue]))
            }
        }
        let output = try OutputFolder(requested: out, scenarioName: model.name)
        let store = try openResultsStore(output, scenario: model, mode: "live", overrides: overrides)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let executable = currentExecutable()
        for (index, g) in groups.enumerated() {
            model = try ScenarioLoader.load(path: scenario, overrides: overrides + g.overrides)
            let label = g.parameters.keys.sorted().map { "\($0)=\(g.parameters[$0]!)" }.joined(separator: " ")
            for r in 0..<runs {
                print("[\(index + 1)/\(groups.count)] \(label)" + (runs > 1 ? " (live run \(r + 1)/\(runs))" : ""))
                let run = LoadRun(scenario: model, target: g.target, parameters: g.parameters.merging(["driver": "live"]) { a, _ in a },
                                  seed: seed + UInt64(r),
                                  folder: "\(output.path)/run-\(index + 1)-\(g.target.rawValue)" + (runs > 1 ? "-\(r + 1)" : ""),
                                  executable: executable)
                let record = try runLive { try await run.execute(group: group) { progress("  " + $0) } }
                do { try store.append(record) } catch { throw InternalFailure("cannot write \(output.database): \(error)") }
            }
        }
        try simulateNextToLive(groups.filter { $0.target == .faultline }, store: store)
        let set: RunSet
        do { set = try store.load() } catch { throw InternalFailure("cannot read back \(output.database): \(error)") }
        try finishRun(set: set, output: output, scenarioPath: scenario, overrides: overrides, junit: junit)
    }

    /// The Faultline groups simulated with the calibration profile (the machine's disk and
    /// loopback costs; `faultline calibrate SCENARIO`), so the report sets the simulator's
    /// prediction next to what the live cluster did ("Simulated vs live").
    private func simulateNextToLive(_ groups: [(target: LoadTarget, overrides: [String], parameters: [String: String])],
                                    store: ResultsStore) throws {
        let probe = try ScenarioLoader.load(path: scenario, overrides: overrides)
        let seeds = simSeeds ?? probe.seeds
        guard seeds > 0, !groups.isEmpty else { return }
        let profileOverrides = try loadProfileOverrides(profile, default: defaultBrokerProfilePath, calibrate: "faultline calibrate \(scenario)")
        var jobs: [SeedJob] = []
        for g in groups {
            let model = try ScenarioLoader.load(path: scenario, overrides: profileOverrides + overrides + g.overrides)
            for s in 1...UInt64(seeds) {
                jobs.append(SeedJob(scenario: model, parameters: g.parameters.merging(["driver": "sim"]) { a, _ in a }, seed: s))
            }
        }
        print("simulating \(groups.count) group(s) × \(seeds) seed(s)")
        let runner = SeedRunner(store: store, progress: Progress(total: jobs.count, label: "seeds"))
        _ = try runner.run(jobs, threads: ProcessInfo.processInfo.activeProcessorCount)
    }
}
