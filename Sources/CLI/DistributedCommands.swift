import ArgumentParser
import Foundation
import JobPlans
import Results
import Scenario

/// `run`/`sweep` beyond this process: write the job plan instead of running (`--plan`), or hand
/// it to Dask (`--executor dask`), which runs shards with `run-jobs` and merges them.
struct DistributionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Write the job plan (scenario and binary hashes, parameters × seeds) to FILE and run nothing.", valueName: "FILE"))
    var plan: String?

    @Option(name: .long, help: "Where the seeds run: local (threads of this process, the default) or dask (python/faultline_dask: shards on a Dask cluster, merged).")
    var executor: Executor = .local

    @Option(name: .long, help: ArgumentHelp("With --executor dask: the Dask scheduler (default: a local cluster on 127.0.0.1).", valueName: "tcp://host:port"))
    var scheduler: String?

    @Option(name: .long, help: "With --executor dask and no --scheduler: workers of the local cluster (default: number of cores).")
    var workers: Int?

    @Option(name: .long, help: "With --executor dask: shards to split the plan into (default: 2 per worker).")
    var shards: Int?

    enum Executor: String, ExpressibleByArgument, CaseIterable {
        case local, dask
    }

    func validate() throws {
        if plan != nil && executor == .dask { throw ValidationError("use either --plan or --executor dask, not both") }
        if executor == .local && (scheduler != nil || workers != nil || shards != nil) {
            throw ValidationError("--scheduler, --workers and --shards go with --executor dask")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, found \(workers)") }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1, found \(shards)") }
    }

    /// Writes the plan, or runs it on Dask; false when the command should run the jobs itself.
    func handle(jobs: [SeedJob], scenario: Scenario, scenarioPath: String, overrides: [String], axes: [JobPlan.Axis],
                label: String, options: SeedOptions) throws -> Bool {
        if plan == nil && executor == .local { return false }
        let jobPlan = try JobPlan(
            label: label,
            scenario: .init(path: scenarioPath, hash: ContentHash.hex(ofFile: scenarioPath) ?? "", name: scenario.name),
            faultline: .init(version: FaultlineVersion.current, hash: try SelfBinary.hash()),
            overrides: overrides, axes: axes,
            jobs: jobs.map { JobPlan.Job(parameters: $0.parameters, seed: $0.seed) },
            properties: ProvenanceFacts.properties(scenario: scenario, overrides: overrides))
        if let plan {
            try writeOutput(String(decoding: try jobPlan.encoded(), as: UTF8.self), to: plan)
            print("plan \(jobPlan.id): \(jobPlan.jobs.count) runs of \(scenario.name) → \(plan); run shards with: faultline run-jobs \(shellQuote(plan)) --shard i/n --out DIR")
            return true
        }
        try runOnDask(jobPlan, scenario: scenario, options: options)
        return true
    }

    /// The output folder keeps plan.json and shards/ until the merge, so the same command resumes
    /// an interrupted sweep from the shards already done.
    private func runOnDask(_ jobPlan: JobPlan, scenario: Scenario, options: SeedOptions) throws {
        let output = try OutputFolder(requested: options.out, scenarioName: scenario.name)
        let planPath = output.path + "/plan.json"
        if let existing = FileManager.default.contents(atPath: planPath) {
            guard let earlier = try? JobPlan.decode(existing), earlier.id == jobPlan.id else {
                throw BadInput("\(output.path) holds the shards of another plan (\(planPath)); choose an empty --out folder")
            }
        } else {
            try writeOutput(String(decoding: try jobPlan.encoded(), as: UTF8.self), to: planPath)
        }
        let helper = try PythonHelper.locate(package: "faultline_dask", neededFor: "--executor dask")
        try helper.ensureRequirements(imports: "dask, distributed") { printError($0) }
        var arguments = ["execute", planPath, "--out", output.path, "--faultline", SelfBinary.path]
        if let scheduler { arguments += ["--scheduler", scheduler] }
        if let workers { arguments += ["--workers", String(workers)] }
        if let shards { arguments += ["--shards", String(shards)] }
        if let junit = options.junit { arguments += ["--junit", junit] }
        let status = try helper.runModule("faultline_dask", arguments, stdoutToStdout: true)
        if status != 0 { throw ExitCode(status) }
    }
}

/// This executable: its path (for the Dask helper to run on workers) and its content hash
/// (what a plan names, so a worker with another build refuses).
enum SelfBinary {
    static var path: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    }

    static func hash() throws -> String {
        guard let hash = ContentHash.wideHex(ofFile: path) else { throw InternalFailure("cannot read this executable (\(path)) to hash it") }
        return hash
    }
}

/// Reads and checks a plan file: exit 2 with the reason when it is not one.
func readPlan(_ path: String) throws -> JobPlan {
    guard let data = FileManager.default.contents(atPath: path) else { throw BadInput("\(path): cannot read the plan") }
    do {
        return try JobPlan.decode(data)
    } catch {
        throw BadInput("\(path): \(error)")
    }
}

struct RunJobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-jobs",
        abstract: "Run one shard of a job plan (`run`/`sweep … --plan FILE`) into a results folder for `merge`.",
        discussion: """
            Refuses (exit 2) when this binary or the scenario file differs from the ones the plan \
            names by hash. Exit 0 once every run of the shard is stored, whatever the checks say: \
            verdicts are the merge's.
            """)

    @Argument(help: "The plan file.")
    var plan: String

    @Option(name: .long, help: ArgumentHelp("Which shard: i/n with 0 ≤ i < n (contiguous job ranges).", valueName: "i/n"))
    var shard: String

    @Option(name: .long, help: "Output folder (must not hold results yet).")
    var out: String

    @Option(name: .long, help: "The scenario file, when not at the plan's path relative to this folder.")
    var scenario: String?

    @Option(name: .long, help: "Parallel seeds (default: number of cores).")
    var jobs: Int?

    func run() throws {
        let jobPlan = try readPlan(plan)
        guard let spec = ShardSpec(shard) else { throw BadInput("--shard \(shard): expected i/n with 0 ≤ i < n") }
        let binaryHash = try SelfBinary.hash()
        guard binaryHash == jobPlan.faultline.hash else {
            throw BadInput("refused: this faultline (\(FaultlineVersion.current), hash \(binaryHash)) is not the build the plan was written with (\(jobPlan.faultline.version), hash \(jobPlan.faultline.hash)); put the same binary on every worker")
        }
        let scenarioPath = scenario ?? jobPlan.scenario.path
        guard let scenarioHash = ContentHash.hex(ofFile: scenarioPath) else {
            throw BadInput("\(scenarioPath): cannot read the plan's scenario (give its path with --scenario)")
        }
        guard scenarioHash == jobPlan.scenario.hash else {
            throw BadInput("refused: \(scenarioPath) (hash \(scenarioHash)) is not the scenario the plan was written for (hash \(jobPlan.scenario.hash))")
        }
        let range = jobPlan.jobRange(shard: spec.index, of: spec.count)
        // One scenario per parameter combination, loaded as the planning command did.
        var models: [[String]: Scenario] = [:]
        var seedJobs: [SeedJob] = []
        for job in jobPlan.jobs[range] {
            let assignments = jobPlan.assignments(for: job)
            if models[assignments] == nil {
                models[assignments] = try ScenarioLoader.load(path: scenarioPath, overrides: jobPlan.overrides + assignments)
            }
            seedJobs.append(SeedJob(scenario: models[assignments]!, parameters: job.parameters, seed: job.seed))
        }
        let header = try seedJobs.first?.scenario ?? ScenarioLoader.load(path: scenarioPath, overrides: jobPlan.overrides)
        let output = try OutputFolder(requested: out, scenarioName: header.name)
        let clock = ContinuousClock()
        let started = clock.now
        _ = try execute(jobs: seedJobs, scenario: header, output: output, threads: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                        label: "shard \(spec)", overrides: jobPlan.overrides,
                        properties: ShardProperty.properties(plan: jobPlan, shard: spec), durable: false)
        // The plan travels with the shard, so `merge` needs nothing else.
        try writeOutput(String(decoding: try jobPlan.encoded(), as: UTF8.self), to: output.path + "/plan.json")
        let seconds = (clock.now - started).seconds
        print("shard \(spec) of plan \(jobPlan.id): \(seedJobs.count) runs (jobs \(range.lowerBound)..<\(range.upperBound)) in \(String(format: "%.2f", seconds)) s → \(output.path)")
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shards of a job plan into one results folder (results.sqlite, summary.json, report.md).",
        discussion: """
            Checks that the shards belong to one plan and hold every planned run exactly once \
            (exit 2 otherwise); the merged folder is what `run`/`sweep` would have written locally, \
            summary.json and report.md byte for byte. Exit 1 when a check or SLO failed.
            """)

    @Argument(help: "The merged results folder (may hold plan.json and shards/, not results.sqlite).")
    var out: String

    @Argument(help: "Shard results: folders written by run-jobs, or their results.sqlite.")
    var shards: [String]

    @Option(name: .long, help: "The plan (default: OUT/plan.json, else the first shard's plan.json).")
    var plan: String?

    @Option(name: .long, help: "Also write the checks and SLOs as JUnit XML.")
    var junit: String?

    func validate() throws {
        if shards.isEmpty { throw ValidationError("merge needs at least one shard folder") }
    }

    func run() throws {
        let databases = shards.map { $0.hasSuffix(".sqlite") ? $0 : $0 + "/results.sqlite" }
        for path in databases where !FileManager.default.fileExists(atPath: path) {
            throw BadInput("\(path): no such shard results (an unfinished shard has none)")
        }
        let planPath = plan ?? [out + "/plan.json", (databases[0] as NSString).deletingLastPathComponent + "/plan.json"]
            .first { FileManager.default.fileExists(atPath: $0) } ?? out + "/plan.json"
        let jobPlan = try readPlan(planPath)
        let merge: ShardMerge
        do {
            merge = try ShardMerge(plan: jobPlan, databases: databases)
        } catch {
            throw BadInput("cannot merge: \(error)")
        }
        for path in merge.duplicates { printError("note: \(path) repeats a shard already merged; its runs are taken once") }
        let output = try OutputFolder(requested: out, scenarioName: jobPlan.scenario.name)
        let store: ResultsStore
        do {
            store = try ResultsStore(path: output.database, createdAt: ISO8601DateFormatter().string(from: Date()))
            try store.setProperties(jobPlan.properties)
        } catch {
            throw InternalFailure("cannot create \(output.database): \(error)")
        }
        for index in 0..<merge.shardCount {
            let shard: (header: RunSet, runs: [RunRecord])
            do {
                shard = try merge.runs(ofShard: index)
            } catch {
                try? FileManager.default.removeItem(atPath: output.database)
                throw BadInput("cannot merge: \(error)")
            }
            do {
                if index == 0 {
                    try store.setHeader(scenario: shard.header.scenario, mode: shard.header.mode,
                                        description: shard.header.description, slos: shard.header.slos)
                }
                try store.append(contentsOf: shard.runs)
            } catch {
                throw InternalFailure("cannot write \(output.database): \(error)")
            }
        }
        let set: RunSet
        do {
            set = try store.load()
        } catch {
            throw InternalFailure("cannot read back \(output.database): \(error)")
        }
        try finishRun(set: set, output: output, scenarioPath: jobPlan.scenario.path, overrides: jobPlan.overrides, junit: junit)
    }
}
