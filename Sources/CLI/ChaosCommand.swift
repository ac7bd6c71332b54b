import ArgumentParser
import Foundation
import Live
import NIOPosix
import Results
import Scenario
#if canImport(Glibc)
import Glibc
#endif

/// `faultline chaos SCENARIO --cluster DIR`: a chaos experiment against a cluster started
/// earlier (`faultline cluster up`): the scenario's workload, fault schedule, steady-state
/// hypothesis and rollbacks, then the read-back and checkers, leaving the cluster running.
struct ChaosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Run a scenario's load, faults, hypothesis and rollbacks against a running cluster (`faultline cluster up`); the cluster keeps running.",
        discussion: """
            Process faults (crash, restart, pause, resume, and the nemesis's crash and pause) act on the pids in \
            cluster.json; network faults need the fault proxy and disk faults the storage failpoints, which only clusters \
            `faultline load` starts have: they are refused up front (exit 2). The read-back keeps this run's producers only \
            (the streams may hold earlier messages). Exit 0 when the hypothesis held and every check passed, 1 when not, \
            2 bad input, 3 internal error, 130 interrupted (paused nodes are resumed first; nothing is stopped).
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "The running cluster: its folder (`cluster up --out`) or its cluster.json.")
    var cluster: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value, e.g. hypothesis.every=250ms.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Output folder (default Results/<scenario>-<timestamp>).")
    var out: String?

    @Option(help: "Seed of the arrival schedules and the faults' random picks.")
    var seed: UInt64 = 1

    @Option(help: "Also write the checks and SLOs as JUnit XML (one testcase per group × check/SLO) for CI.")
    var junit: String?

    func run() throws {
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        guard model.broker != nil, !model.publishes.isEmpty else {
            throw BadInput("\(scenario): `faultline chaos` runs broker scenarios (a `broker:` section and a `- publish:` workload)")
        }
        let folder = cluster.hasSuffix(".json") ? URL(fileURLWithPath: cluster).deletingLastPathComponent().path : cluster
        resumePausedNodesOnInterrupt(folder: folder)
        let output = try OutputFolder(requested: out, scenarioName: model.name)
        var run = LoadRun(scenario: model, target: .faultline, parameters: ["driver": "live", "cluster": folder], seed: seed,
                          folder: output.path, executable: currentExecutable())
        run.cluster = cluster
        // Refused before the results folder is written.
        try runLive { [run] in try run.preflight() }
        let store = try openResultsStore(output, scenario: model, mode: "live", overrides: overrides)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        print("chaos against the cluster in \(folder)")
        let record = try runLive { [run] in try await run.execute(group: group) { progress("  " + $0) } }
        do { try store.append(record) } catch { throw InternalFailure("cannot write \(output.database): \(error)") }
        let set: RunSet
        do { set = try store.load() } catch { throw InternalFailure("cannot read back \(output.database): \(error)") }
        try finishRun(set: set, output: output, scenarioPath: scenario, overrides: overrides, junit: junit)
    }
}

/// SIGINT/SIGTERM during `chaos`: the cluster is the user's, so nothing is stopped; every node is
/// sent SIGCONT (a pause must not outlive the run) and nodes that are down are named.
private func resumePausedNodesOnInterrupt(folder: String) {
    onInterrupt { sig in
        var down: [String] = []
        if let state = try? ClusterState.load(folder: folder) {
            for node in state.nodes {
                if let pid = node.pid, kill(pid, SIGCONT) == 0 { continue }
                down.append(node.name)
            }
        }
        printError("interrupted (signal \(sig)): every node resumed; the cluster keeps running"
                   + (down.isEmpty ? "" : "; not running: \(down.joined(separator: ", "))"))
    }
}
