import ArgumentParser
import Foundation
import Scenario
import Sim
import SimCore

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run one seed exactly, optionally writing every event as JSON lines.")

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: "The seed to replay.")
    var seed: UInt64

    @Option(name: .long, help: "Write the event trace (JSON lines) to this file.")
    var trace: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Flag(name: .customLong("debug-hash-order"), help: .hidden)
    var injectHashOrderDependence = false

    @Flag(name: .long, help: "Explain the failure: the timeline up to the first violation, with the protocol's events (Markdown).")
    var explain = false

    @Option(name: .long, help: "The check to explain (default: the first failing one).")
    var check: String?

    @Option(name: .customLong("explain-out"), help: "Write the explanation to this file (default: print it).")
    var explainOut: String?

    func run() throws {
        let model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        var options = SimulationOptions(injectHashOrderDependence: injectHashOrderDependence)
        options.explain = explain
        var simulation = try Simulation(scenario: model, seed: seed, options: options)
        let sink: FileTraceSink?
        if let trace {
            guard let opened = FileTraceSink(path: trace) else { throw BadInput("cannot write trace file \(trace)") }
            sink = opened
        } else {
            sink = nil
        }
        let outcome = simulation.run(trace: sink)
        try sink?.close()
        print("seed \(outcome.seed): \(outcome.events) events, trace hash \(outcome.traceHash)")
        for name in outcome.metrics.keys.sorted() {
            print("  \(name) = \(outcome.metrics[name]!)")
        }
        let latency = outcome.histograms["request_latency"]
        if let latency, latency.count > 0 {
            print("  request_latency p50 = \(latency.percentile(50) / 1e6) ms, p99 = \(latency.percentile(99) / 1e6) ms")
        }
        for check in outcome.checks {
            print("  check \(check.name): \(check.passed ? "passed" : "FAILED")")
            for violation in check.violations.prefix(20) {
                let at = violation.time.map { " at \(Double($0) / 1e6) ms" } ?? ""
                print("    - \(violation.description)\(at)")
            }
        }
        if let trace { print("trace: \(trace)") }
        if explain { try writeExplanation(outcome) }
        if !outcome.passed { throw ExitStatus.checkFailed.code }
    }

    private func writeExplanation(_ outcome: RunOutcome) throws {
        let label = scenario + (overrides.isEmpty ? "" : " --set " + overrides.joined(separator: " --set "))
        try Explanation.deliver(outcome, check: check, scenario: label, seedLabel: "seed \(seed)", out: explainOut)
    }
}

/// Buffers trace lines and writes them in large chunks.
final class FileTraceSink: TraceSink {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init?(path: String) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { return nil }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    func write(line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        try handle.close()
    }
}
