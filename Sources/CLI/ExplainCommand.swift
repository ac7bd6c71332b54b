import ArgumentParser
import Foundation
import Results
import Scenario
import Sim

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain why a seed in a results folder failed: its timeline up to the violations (Markdown).",
        discussion: """
            Re-runs the seed from the scenario text, overrides and group parameters the results \
            recorded, with the protocol's events on the timeline (as `replay --explain`), and checks \
            that the trace hash is the recorded one.
            """)

    @Argument(help: "A results folder (or its results.sqlite) from `faultline run` or `sweep`.")
    var results: String

    @Option(name: .long, help: "The seed to explain.")
    var seed: UInt64

    @Option(name: .long, help: "The check to explain (default: the run's first failing one).")
    var check: String?

    @Option(name: .long, help: "Write the explanation to this file (default: print it).")
    var out: String?

    func run() throws {
        let (set, _) = try ReportCommand.loadResults(results)
        guard let yaml = set.properties[ResultsProperty.scenarioYAML] else {
            throw BadInput("\(results): the results do not hold the scenario's text (written by Faultline before 0.16); use replay --explain")
        }
        let candidates = set.runs.filter { $0.seed == seed && $0.mode == "sim" }
        guard let chosen = candidates.first(where: { !$0.passed }) ?? candidates.first else {
            throw BadInput("\(results): no simulated run of seed \(seed)")
        }
        let recorded = (set.properties[ResultsProperty.overrides]).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        let group = chosen.parameters.keys.sorted().map { "\($0)=\(chosen.parameters[$0]!)" }
        let overrides = recorded + group
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "\(results)/scenario_yaml", overrides: overrides)
        var options = SimulationOptions()
        options.explain = true
        var simulation = try Simulation(scenario: scenario, seed: seed, options: options)
        let outcome = simulation.run()
        if outcome.traceHash != chosen.traceHash {
            print("warning: the re-run's trace hash \(outcome.traceHash) is not the recorded \(chosen.traceHash) "
                  + "(another Faultline version?): this explains the re-run")
        }
        let label = "\(set.scenario) from \(results)" + (overrides.isEmpty ? "" : " --set " + overrides.joined(separator: " --set "))
        try Explanation.deliver(outcome, check: check, scenario: label,
                                seedLabel: "seed \(seed)" + (group.isEmpty ? "" : " (" + group.joined(separator: ", ") + ")"), out: out)
    }
}
