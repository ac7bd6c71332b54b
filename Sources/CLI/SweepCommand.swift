import ArgumentParser
import Foundation
import JobPlans
import Scenario

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the cartesian product of parameter values × seeds, in parallel, into one results folder.")

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: ArgumentHelp("A parameter and its values, e.g. stations.0.servers=1,2,4 (repeatable).", valueName: "key.path=v1,v2,..."))
    var vary: [String] = []

    @OptionGroup var options: SeedOptions

    @OptionGroup var distribution: DistributionOptions

    func run() throws {
        guard !vary.isEmpty else { throw BadInput("sweep needs at least one --vary key.path=v1,v2,...") }
        let varied = try vary.map(Self.parseAxis)
        // The scenario's own `compare:` axes take part too, unless --vary replaces them.
        let overrides = try options.allOverrides()
        let base = try ScenarioLoader.load(path: scenario, overrides: overrides)
        let compared = base.compare.filter { axis in !varied.contains { $0.key == axis.key } }.map { ($0.key, $0.values) }
        let (jobs, first) = try parameterJobs(scenarioPath: scenario, overrides: overrides,
                                              axes: compared + varied, options: options)
        let axes = (compared + varied).map { JobPlan.Axis(key: $0.0, values: $0.1) }
        if try distribution.handle(jobs: jobs, scenario: first, scenarioPath: scenario, overrides: overrides, axes: axes,
                                   label: "sweep", options: options) { return }
        let output = try OutputFolder(requested: options.out, scenarioName: first.name)
        let set = try execute(jobs: jobs, scenario: first, output: output, threads: options.threads, label: "sweep", overrides: overrides)
        try finishRun(set: set, output: output, scenarioPath: scenario, overrides: overrides, junit: options.junit)
    }

    static func parseAxis(_ text: String) throws -> (key: String, values: [String]) {
        guard let equals = text.firstIndex(of: "=") else {
            throw BadInput("--vary \(text): expected key.path=v1,v2,...")
        }
        let key = String(text[..<equals])
        let values = splitTopLevel(String(text[text.index(after: equals)...]))
        guard !key.isEmpty, !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
            throw BadInput("--vary \(text): expected key.path=v1,v2,... with non-empty values")
        }
        return (key, values)
    }

    /// Splits on commas outside brackets/braces, so `{uniform: [1ms, 2ms]},{constant: 1ms}` works.
    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for ch in text {
            switch ch {
            case "[", "{": depth += 1; current.append(ch)
            case "]", "}": depth -= 1; current.append(ch)
            case "," where depth == 0: parts.append(current.trimmingCharacters(in: .whitespaces)); current = ""
            default: current.append(ch)
            }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }
}

/// One scenario per combination of axis values (the cartesian product, first axis outermost),
/// each with its seeds; the parameters of a job name its values. Returns the first scenario too.
func parameterJobs(scenarioPath: String, overrides: [String], axes: [(key: String, values: [String])],
                   options: SeedOptions) throws -> (jobs: [SeedJob], first: Scenario) {
    let combinations = combinationsOf(axes)
    var jobs: [SeedJob] = []
    var first: Scenario?
    for combination in combinations {
        let assignments = combination.map { "\($0.0)=\($0.1)" }
        let model = try ScenarioLoader.load(path: scenarioPath, overrides: overrides + assignments)
        first = first ?? model
        var parameters: [String: String] = [:]
        for (key, value) in combination { parameters[key] = value }
        for seed in options.seedList(default: model.seeds) {
            jobs.append(SeedJob(scenario: model, parameters: parameters, seed: seed))
        }
    }
    guard let first else { throw BadInput("nothing to run: an axis has no values") }
    return (jobs, first)
}

/// Every combination of the axes' values (the cartesian product, first axis outermost), as
/// (key, value) assignments: what `compare:` and `--vary` expand to.
func combinationsOf(_ axes: [(key: String, values: [String])]) -> [[(String, String)]] {
    axes.reduce([[(String, String)]]([[]])) { partial, axis in
        partial.flatMap { prefix in axis.values.map { prefix + [(axis.key, $0)] } }
    }
}
