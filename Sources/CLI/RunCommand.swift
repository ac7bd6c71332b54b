import ArgumentParser
import Foundation
import JobPlans
import Results
import Scenario
import Sim

struct SeedOptions: ParsableArguments {
    @Option(name: .long, help: "Run seeds 1…N (default: the scenario's `seeds`).")
    var seeds: Int?

    @Option(name: .long, help: "Run exactly this seed.")
    var seed: UInt64?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value, e.g. cluster.nodes=5.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "A scenario profile (`faultline calibrate` writes one): its `set:` overrides apply before any --set.")
    var profile: String?

    @Option(name: .long, help: "Output folder (default Results/<scenario>-<timestamp>).")
    var out: String?

    @Option(name: .long, help: "Parallel seeds (default: number of cores).")
    var jobs: Int?

    @Option(name: .long, help: "Also write the checks and SLOs as JUnit XML (one testcase per group × check/SLO) for CI.")
    var junit: String?

    /// The profile's overrides, then the command line's (which therefore win).
    func allOverrides() throws -> [String] {
        (try profile.map { path throws(ScenarioErrors) in try ScenarioProfile.overrides(fromFile: path) } ?? []) + overrides
    }

    func validate() throws {
        if seeds != nil && seed != nil { throw ValidationError("use either --seeds or --seed, not both") }
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1, found \(seeds)") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1, found \(jobs)") }
    }

    func seedList(default count: Int) -> [UInt64] {
        if let seed { return [seed] }
        return (1...UInt64(max(1, seeds ?? count))).map { $0 }
    }

    var threads: Int { jobs ?? ProcessInfo.processInfo.activeProcessorCount }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Simulate a scenario over one or more seeds and write results.sqlite, summary.json and report.md.")

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @OptionGroup var options: SeedOptions

    @OptionGroup var distribution: DistributionOptions

    func run() throws {
        let overrides = try options.allOverrides()
        var model = try ScenarioLoader.load(path: scenario, overrides: overrides)
        var jobs = options.seedList(default: model.seeds).map { SeedJob(scenario: model, parameters: [:], seed: $0) }
        if !model.compare.isEmpty {
            // `compare:` runs every listed setting side by side, as a sweep over those keys.
            (jobs, model) = try parameterJobs(scenarioPath: scenario, overrides: overrides,
                                              axes: model.compare.map { ($0.key, $0.values) }, options: options)
        }
        let axes = model.compare.map { JobPlan.Axis(key: $0.key, values: $0.values) }
        if try distribution.handle(jobs: jobs, scenario: model, scenarioPath: scenario, overrides: overrides, axes: axes,
                                   label: "seeds", options: options) { return }
        let output = try OutputFolder(requested: options.out, scenarioName: model.name)
        let set = try execute(jobs: jobs, scenario: model, output: output, threads: options.threads, label: "seeds", overrides: overrides)
        try finishRun(set: set, output: output, scenarioPath: scenario, overrides: overrides, junit: options.junit)
    }
}

/// Shared by run and sweep: runs the jobs into a fresh store and returns what it holds.
func execute(jobs: [SeedJob], scenario: Scenario, output: OutputFolder, threads: Int, label: String,
             overrides: [String], properties: [String: String]? = nil, durable: Bool = true) throws -> RunSet {
    let store = try openResultsStore(output, scenario: scenario, mode: "sim", overrides: overrides, properties: properties,
                                     durable: durable)
    let runner = SeedRunner(store: store, progress: Progress(total: jobs.count, label: label))
    _ = try runner.run(jobs, threads: threads)
    do {
        return try store.load()
    } catch {
        throw InternalFailure("cannot read back \(output.database): \(error)")
    }
}

/// A fresh results database in `output` with the scenario's header (name, mode, SLOs) and what
/// produced it (`ResultsProperty`: the scenario file's hash, the overrides, the regression limits,
/// Faultline's version, the host), which `compare` and `baseline` read. A shard records its
/// plan's `properties` instead (what the planning machine recorded, so that a merge says the same).
func openResultsStore(_ output: OutputFolder, scenario: Scenario, mode: String, overrides: [String],
                      properties: [String: String]? = nil, durable: Bool = true) throws -> ResultsStore {
    do {
        let store = try ResultsStore(path: output.database, createdAt: ISO8601DateFormatter().string(from: Date()), durable: durable)
        try store.setHeader(scenario: scenario.name, mode: mode, description: scenario.description,
                            slos: scenario.slos.map(StoredSLO.init))
        try store.setProperties(properties ?? ProvenanceFacts.properties(scenario: scenario, overrides: overrides))
        return store
    } catch {
        throw InternalFailure("cannot create \(output.database): \(error)")
    }
}

/// Writes summary.json and report.md, prints the report and the folder, names the
/// commands that replay failed seeds, and exits 1 when a check or SLO failed.
func finishRun(set: RunSet, output: OutputFolder, scenarioPath: String, overrides: [String], junit: String? = nil) throws {
    // One summary for summary.json, report.md and the printed report (each used to build its own).
    let summary = SummaryBuilder.build(set)
    let report = ReportRenderer.render(set, summary: summary, format: .md)
    do {
        try ReportRenderer.render(set, summary: summary, format: .json).write(toFile: output.summary, atomically: true, encoding: .utf8)
        try report.write(toFile: output.report, atomically: true, encoding: .utf8)
    } catch {
        throw InternalFailure("cannot write reports to \(output.path): \(error)")
    }
    if let junit { try writeOutput(JUnitReport.runs(set), to: junit) }
    print(report)
    print("results: \(output.path)")
    // Live runs cannot be replayed: their report and folder are the record.
    let failed = set.runs.filter { !$0.passed && $0.mode == "sim" }
    for run in failed.prefix(10) {
        let sets = (overrides + run.parameters.keys.sorted().map { "\($0)=\(run.parameters[$0]!)" })
            .map { " --set \(shellQuote($0))" }.joined()
        print("seed \(run.seed) failed; replay it: faultline replay \(shellQuote(scenarioPath)) --seed \(run.seed)\(sets) --trace seed-\(run.seed).jsonl")
    }
    if failed.count > 10 { print("… and \(failed.count - 10) more failed seeds") }
    if !summary.allPassed { throw ExitStatus.checkFailed.code }
}

func shellQuote(_ s: String) -> String {
    let safe = s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./=:,%".unicodeScalars.contains($0) }
    return safe ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Where a run writes: `--out DIR`, or Results/<scenario>-<timestamp> (never reused).
struct OutputFolder {
    let path: String
    var database: String { path + "/results.sqlite" }
    var summary: String { path + "/summary.json" }
    var report: String { path + "/report.md" }

    init(requested: String?, scenarioName: String) throws {
        let fm = FileManager.default
        var candidate: String
        if let requested {
            candidate = requested
            if fm.fileExists(atPath: candidate + "/results.sqlite") {
                throw BadInput("\(candidate) already holds results.sqlite; choose an empty --out folder so earlier results stay intact")
            }
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            let base = "Results/\(scenarioName)-\(formatter.string(from: Date()))"
            candidate = base
            var attempt = 2
            while fm.fileExists(atPath: candidate) {
                candidate = "\(base)-\(attempt)"
                attempt += 1
            }
        }
        do {
            try fm.createDirectory(atPath: candidate, withIntermediateDirectories: true)
        } catch {
            throw InternalFailure("cannot create output folder \(candidate): \(error.localizedDescription)")
        }
        path = candidate
    }
}

/// Writes a report file a command was asked for (--junit, --out of compare); exit 3 when it cannot.
func writeOutput(_ text: String, to path: String) throws {
    do {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw InternalFailure("cannot write \(path): \(error.localizedDescription)")
    }
}
