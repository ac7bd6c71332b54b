import ArgumentParser
import Foundation
import Results
import Scenario

/// How a comparison is judged and written; shared by `compare` and `baseline check`.
struct CompareOptions: ParsableArguments {
    @Option(help: "md (a pull-request comment, the default) or json.")
    var format: String = "md"

    @Option(help: "Also write the verdicts as JUnit XML (one testcase per group × metric × limit, and per check).")
    var junit: String?

    @Option(name: .customLong("report"), help: "Also write the comparison (in --format) to this file.")
    var reportFile: String?

    @Option(help: "Regression limits (YAML, the entries of a scenario's `regression:` section); they add to and override the current results' own.")
    var thresholds: String?

    @Option(help: "Significance level of the tests (default 0.05, or the scenario's regression.alpha).")
    var alpha: Double?

    @Option(help: "Noise band: relative changes within ± this are no verdict, e.g. 2% (default 1% simulated, 5% live).")
    var noise: String?

    @Option(name: .customLong("direction"), help: ArgumentHelp("Which way is better for a metric: lower, higher or none (repeatable).", valueName: "metric=lower|higher|none"))
    var directions: [String] = []

    @Flag(help: "Compare even when the scenario file changed between base and current.")
    var allowScenarioChange = false

    @Option(help: "Bootstrap resamples for the intervals.")
    var resamples: Int = 400

    func validate() throws {
        if !["md", "json"].contains(format) { throw ValidationError("--format: expected md or json, found '\(format)'") }
        if let alpha, !(alpha > 0 && alpha < 1) { throw ValidationError("--alpha: expected a level between 0 and 1 such as 0.05, found \(alpha)") }
        if resamples < 10 { throw ValidationError("--resamples must be at least 10, found \(resamples)") }
    }

    func comparisonOptions() throws -> ComparisonOptions {
        var limits = Thresholds()
        if let thresholds {
            limits = try Thresholds(ProvenanceFacts.json(ScenarioLoader.regression(path: thresholds))) ?? Thresholds()
        }
        if let alpha { limits.alpha = alpha }
        if let noise {
            do { limits.noise = try Units.probability(noise) } catch {
                throw BadInput("--noise \(noise): expected a band such as 2% (\(error.expected))")
            }
        }
        for text in directions {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, Direction(rawValue: parts[1]) != nil else {
                throw BadInput("--direction \(text): expected metric=lower, metric=higher or metric=none")
            }
            limits.directions[parts[0]] = parts[1]
        }
        return ComparisonOptions(thresholds: limits, allowScenarioChange: allowScenarioChange, resamples: resamples)
    }

    /// Compares, prints and writes what was asked for; exit 1 on a regression.
    func judge(base: RunSet, baseSource: String, current: RunSet, currentSource: String) throws {
        let comparison: Comparison
        do {
            comparison = try Comparer.compare(base: base, current: current, baseSource: baseSource, currentSource: currentSource,
                                              options: try comparisonOptions())
        } catch let error as ComparisonError {
            throw BadInput(error.description)
        }
        let text = format == "json" ? ComparisonRenderer.json(comparison) : ComparisonRenderer.markdown(comparison)
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        if let reportFile { try writeOutput(text, to: reportFile) }
        if let junit { try writeOutput(JUnitReport.comparison(comparison), to: junit) }
        if comparison.regressed { throw ExitStatus.checkFailed.code }
    }
}

extension Thresholds {
    /// From the JSON a scenario's `RegressionSpec` encodes to (the keys are shared).
    init?(_ json: String) { self.init(json: json) }
}

/// A results folder, its results.sqlite, or a baseline file (JSON).
func loadResults(_ source: String) throws -> RunSet {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        throw BadInput("\(source): no such file or folder")
    }
    if !isDirectory.boolValue && source.hasSuffix(".json") {
        do { return try Baseline.read(path: source).runSet } catch { throw BadInput(error.description) }
    }
    let database = isDirectory.boolValue ? source + "/results.sqlite" : source
    guard FileManager.default.fileExists(atPath: database) else {
        throw BadInput("\(source): no results.sqlite inside")
    }
    do {
        return try ResultsStore(path: database).load()
    } catch {
        throw BadInput("\(database): not a Faultline results database (\(error))")
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results (folders, results.sqlite or baseline files): per group and metric, improved / regressed / unchanged.",
        discussion: """
            Simulated results of the same seeds are paired (Wilcoxon signed-rank over seeds; a seed whose trace hash \
            differs is reported as "behaviour changed"); live or unpaired results use Mann-Whitney U. Percentiles come \
            from histograms merged over runs, with intervals from a bootstrap over seeds. A metric regresses when the \
            change is significant (p < alpha) and worse than its limit (the scenario's `regression:` section, \
            --thresholds) or, without one, the noise band; a check or SLO regresses when it held in base and fails now.

            --interleave N runs a live A/B instead: `faultline load` of the base and the current target alternately, N \
            rounds (round k uses seed --seed + k − 1 on both sides, in the order base-current, then current-base), \
            then compares the rounds paired. The two targets are SCENARIO with --base-set / --current-set, or two \
            scenario files.

            Exit codes: 0 no regression; 1 a regression; 2 bad input (different scenarios, missing metrics, a changed \
            scenario without --allow-scenario-change); 3 internal error.
            """)

    @Argument(help: "BASE and CURRENT results; with --interleave, the scenario file (and optionally the current one).")
    var inputs: [String]

    @OptionGroup var options: CompareOptions

    @Option(help: "Live A/B: run base and current alternately this many rounds (6 or more for a paired test at 0.05).")
    var interleave: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("--interleave: an override for both sides.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .customLong("base-set"), help: ArgumentHelp("--interleave: an override for the base side only.", valueName: "key.path=value"))
    var baseOverrides: [String] = []

    @Option(name: .customLong("current-set"), help: ArgumentHelp("--interleave: an override for the current side only.", valueName: "key.path=value"))
    var currentOverrides: [String] = []

    @Option(help: "--interleave: seed of the first round.")
    var seed: UInt64 = 1

    @Option(help: "--interleave: where the rounds and the merged base/ and current/ results go (default Results/<scenario>-ab-<timestamp>).")
    var out: String?

    func validate() throws {
        if let interleave {
            if interleave < 1 { throw ValidationError("--interleave must be at least 1, found \(interleave)") }
            if inputs.isEmpty || inputs.count > 2 {
                throw ValidationError("--interleave takes the scenario file, or the base and current scenario files")
            }
        } else if inputs.count != 2 {
            throw ValidationError("compare takes two results: BASE CURRENT (folders, results.sqlite or baseline .json files)")
        }
    }

    func run() throws {
        if let interleave {
            let ab = InterleavedAB(baseScenario: inputs[0], currentScenario: inputs.count == 2 ? inputs[1] : inputs[0],
                                   common: overrides, base: baseOverrides, current: currentOverrides, rounds: interleave,
                                   seed: seed, out: out)
            let (base, current, folder) = try ab.run()
            var options = options
            // Two files are two versions of one experiment: their hashes differ by design.
            if inputs.count == 2 { options.allowScenarioChange = true }
            try options.judge(base: base, baseSource: folder + "/base", current: current, currentSource: folder + "/current")
            return
        }
        let base = try loadResults(inputs[0]), current = try loadResults(inputs[1])
        try options.judge(base: base, baseSource: inputs[0], current: current, currentSource: inputs[1])
    }
}

/// `compare --interleave`: base and current live targets run alternately, round after round,
/// on one machine in one job, so that drift in the machine (other jobs, thermal, caches) falls on
/// both sides alike and a round's two runs can be compared as a pair.
struct InterleavedAB {
    var baseScenario: String
    var currentScenario: String
    var common: [String]
    var base: [String]
    var current: [String]
    var rounds: Int
    var seed: UInt64
    var out: String?

    func run() throws -> (base: RunSet, current: RunSet, folder: String) {
        let baseModel = try ScenarioLoader.load(path: baseScenario, overrides: common + base)
        let currentModel = try ScenarioLoader.load(path: currentScenario, overrides: common + current)
        guard baseModel.name == currentModel.name else {
            throw BadInput("--interleave: the scenarios differ (base '\(baseModel.name)', current '\(currentModel.name)'); compare versions of one scenario")
        }
        let folder = try OutputFolder(requested: out, scenarioName: baseModel.name + "-ab").path
        let executable = currentExecutable()
        var folders: [String: [String]] = ["base": [], "current": []]
        for round in 1...rounds {
            // base first in odd rounds, current first in even ones: a trend within the job hits both.
            let order = round % 2 == 1 ? ["base", "current"] : ["current", "base"]
            for side in order {
                let scenario = side == "base" ? baseScenario : currentScenario
                let sets = common + (side == "base" ? base : current)
                let roundFolder = "\(folder)/\(side)-\(round)"
                var arguments = ["load", scenario, "--sim-seeds", "0", "--seed", String(seed + UInt64(round - 1)), "--out", roundFolder]
                for s in sets { arguments += ["--set", s] }
                progress("[round \(round)/\(rounds)] \(side): faultline \(arguments.joined(separator: " ")) > \(roundFolder).log")
                let status = try runChild(executable, arguments, log: roundFolder + ".log")
                // 0 and 1 (a check failed) are results; anything else stops the A/B.
                guard status == 0 || status == 1 else {
                    throw InternalFailure("--interleave: `faultline \(arguments.joined(separator: " "))` exited \(status) (see \(roundFolder).log)")
                }
                folders[side]!.append(roundFolder)
            }
        }
        let id = "\(folder)#\(ISO8601DateFormatter().string(from: Date()))"
        let merged = try ["base", "current"].map { side in
            try merge(folders[side]!, into: "\(folder)/\(side)", interleaved: id)
        }
        return (merged[0], merged[1], folder)
    }

    /// The rounds of one side as one results database: its live runs, and the first round's header.
    private func merge(_ roundFolders: [String], into path: String, interleaved: String) throws -> RunSet {
        // With their time series: the merged folder is a results folder like any other.
        let sets = try roundFolders.map { folder in
            do { return try ResultsStore(path: folder + "/results.sqlite").load(timeSeries: true) } catch {
                throw InternalFailure("cannot read \(folder)/results.sqlite: \(error)")
            }
        }
        let first = sets[0]
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let store = try ResultsStore(path: path + "/results.sqlite", createdAt: ISO8601DateFormatter().string(from: Date()))
            try store.setHeader(scenario: first.scenario, mode: "live", description: first.description, slos: first.slos)
            var properties = first.properties
            properties[ResultsProperty.interleaved] = interleaved
            try store.setProperties(properties)
            for set in sets {
                for run in set.runs where run.mode == "live" && run.parameters["driver"] != "sim" { try store.append(run) }
            }
            return try store.load()
        } catch {
            throw InternalFailure("cannot write \(path)/results.sqlite: \(error)")
        }
    }

    /// Runs one round's `faultline load`, its output into `log` (the comparison is what this prints).
    private func runChild(_ executable: String, _ arguments: [String], log: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw InternalFailure("cannot write \(log)")
        }
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch { throw InternalFailure("cannot start \(executable): \(error)") }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Save results as a named baseline (a JSON file meant to be committed) and check later results against it.",
        subcommands: [BaselineSave.self, BaselineCheck.self])
}

struct BaselineFolder: ParsableArguments {
    @Option(name: .customLong("baselines"), help: "The folder of baselines.")
    var folder: String = "baselines"

    func path(_ name: String) throws -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, !name.hasPrefix("."), name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw BadInput("baseline name '\(name)': expected letters, digits, '-', '_' or '.'")
        }
        return "\(folder)/\(name).json"
    }
}

struct BaselineSave: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save", abstract: "Save a results folder as baselines/NAME.json (scenario hash, overrides, seeds, version, host, runs with histograms).")

    @Argument(help: "The baseline's name, e.g. main.")
    var name: String

    @Argument(help: "A results folder or results.sqlite.")
    var results: String

    @OptionGroup var folder: BaselineFolder

    func run() throws {
        let set = try loadResults(results)
        guard !set.runs.isEmpty else { throw BadInput("\(results) holds no runs") }
        let path = try folder.path(name)
        let baseline = Baseline(name: name, set: set, savedAt: ISO8601DateFormatter().string(from: Date()))
        try writeOutput(baseline.jsonString(), to: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("baseline \(name): \(set.scenario), \(set.mode), \(set.runs.count) run(s), seeds \(baseline.seeds.map(String.init).joined(separator: ","))"
              + " → \(path) (\(size / 1024) KiB)")
    }
}

struct BaselineCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Compare results against a saved baseline (as `compare baselines/NAME.json DIR`); exit 1 on a regression.")

    @Argument(help: "The baseline's name.")
    var name: String

    @Argument(help: "A results folder or results.sqlite.")
    var results: String

    @OptionGroup var folder: BaselineFolder
    @OptionGroup var options: CompareOptions

    func run() throws {
        let path = try folder.path(name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw BadInput("no baseline '\(name)' in \(folder.folder) (save one: faultline baseline save \(name) RESULTS)")
        }
        try options.judge(base: try loadResults(path), baseSource: path, current: try loadResults(results), currentSource: results)
    }
}
