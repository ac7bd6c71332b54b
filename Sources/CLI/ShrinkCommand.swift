import ArgumentParser
import Dispatch
import Foundation
import Results
import Scenario
import Shrink
import Sim

struct ShrinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shrink",
        abstract: "Shrink a failing seed to a minimal scenario that still fails the same check.",
        discussion: """
            Starting from SCENARIO (with --set overrides baked in) and a seed that fails, tries smaller \
            scenarios — fewer faults (delta debugging), shorter faults, faults earlier, a shorter run, \
            lower publish rates — each run deterministically for that seed, in parallel. Writes the \
            smallest that still fails the check (a valid scenario whose plain `faultline run` fails) \
            and prints the reduction table. The same input always gives the same file.
            Exit codes: 0 shrunk (the file fails the check); 2 bad input, or the seed does not fail.
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: "The failing seed.")
    var seed: UInt64

    @Option(name: .long, help: "The check that must keep failing (default: the seed's first failing check).")
    var check: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value (kept in the output).", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "Where to write the minimal scenario (default: NAME-seedS-shrunk.yaml here).")
    var out: String?

    @Option(name: .long, help: "Candidates run in parallel (default: number of cores).")
    var jobs: Int?

    func run() throws {
        let source = try ScenarioSource.load(path: scenario, overrides: overrides)
        let original = try source.scenario()
        let outcome = try Self.simulate(original, seed: seed)
        let failing = outcome.checks.filter { !$0.passed }.map(\.name) + original.slos.map(\.name).filter { Self.misses($0, outcome, original) }
        let names = outcome.checks.map(\.name) + original.slos.map(\.name)
        let target: String
        if let check {
            guard names.contains(check) else {
                throw BadInput("--check: \(scenario) has no check or SLO '\(check)' (checks and SLOs: \(names.joined(separator: ", ")))")
            }
            guard failing.contains(check) else { throw BadInput("seed \(seed) passes '\(check)': nothing to shrink") }
            target = check
        } else {
            guard let first = failing.first else { throw BadInput("seed \(seed) passes every check and SLO of \(scenario): nothing to shrink") }
            target = first
        }
        let threads = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        var start = source
        var notes: [String] = []
        if source.hasCompareAxes {
            // Candidates run one configuration (the scenario's, with the overrides): so does the output.
            start = start.withoutCompareAxes()
            notes.append("the compare: axes were dropped: this is the configuration the overrides chose (pick another with --set)")
            print("note: " + notes[0])
        }
        if source.hasNemesis {
            // The nemesis's strikes of this seed become an explicit schedule the search can cut down.
            let strikes = outcome.nemesisFaults
            if let explicit = source.materialisingNemesis(strikes) {
                do {
                    let model = try explicit.scenario()
                    let failsToo = Self.fails(target, try Self.simulate(model, seed: seed), model)
                    if failsToo {
                        start = explicit
                        notes.append("the nemesis's \(strikes.count) strikes of seed \(seed) were written into faults:")
                    } else {
                        notes.append("with the nemesis's strikes written as faults, seed \(seed) no longer fails \(target); the nemesis was kept")
                    }
                } catch {
                    notes.append("the nemesis's strikes, written as faults, are not a valid scenario (\(error)); the nemesis was kept")
                }
            } else {
                let kinds = Set(strikes.filter { $0.yamlEntries == nil }.map(\.keyword)).sorted()
                notes.append("the nemesis's \(kinds.joined(separator: ", ")) strikes have no explicit form; the nemesis was kept")
            }
            print("note: " + notes[notes.count - 1])
        }
        let started = ContinuousClock.now
        let progress = ShrinkProgress()
        var shrinker = Shrinker(start: start, progress: progress.update) { batch in
            Self.stillFails(batch.map(\.source), seed: seed, check: target, threads: threads)
        }
        let result = shrinker.run()
        progress.finish()
        let minimal = result.minimal.with(seeds: seed)
        let path = out ?? "\(original.name)-seed\(seed)-shrunk.yaml"
        let text = Self.header(scenario: scenario, overrides: overrides, seed: seed, check: target, result: result,
                               original: start, notes: notes) + minimal.yaml()
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw InternalFailure("cannot write \(path): \(error)")
        }
        // The file as written must fail on its own (parsed again from disk, like a plain run).
        let reread = try ScenarioLoader.load(path: path)
        let verdict = try Self.simulate(reread, seed: seed)
        let stillFails = Self.fails(target, verdict, reread)
        print(Self.table(result, original: start, check: target, seconds: (ContinuousClock.now - started).seconds))
        print("minimal scenario: \(path) (seed \(seed) \(stillFails ? "fails" : "PASSES") \(target))")
        print("shrunk: faults \(start.faults.count) → \(reread.faults.count), duration_ns \(source.duration ?? 0) → \(reread.duration), "
              + "nemesis \(reread.nemesis == nil ? "none" : "kept")")
        print("run it: faultline run \(path)")
        if !stillFails { throw InternalFailure("the minimal scenario no longer fails \(target): please report this") }
    }

    static func simulate(_ scenario: Scenario, seed: UInt64) throws -> RunOutcome {
        var simulation = try Simulation(scenario: scenario, seed: seed)
        return simulation.run()
    }

    /// Whether the run fails `name`: a check of the run, or an SLO of the scenario judged on
    /// this one run (as the summary judges it over seeds).
    static func fails(_ name: String, _ outcome: RunOutcome, _ scenario: Scenario) -> Bool {
        if let check = outcome.checks.first(where: { $0.name == name }) { return !check.passed }
        return misses(name, outcome, scenario)
    }

    static func misses(_ slo: String, _ outcome: RunOutcome, _ scenario: Scenario) -> Bool {
        guard let spec = scenario.slos.first(where: { $0.name == slo }) else { return false }
        let record = RunRecord(outcome: outcome, scenario: scenario, parameters: [:], startedAt: Date(timeIntervalSince1970: 0), wallSeconds: 0)
        let set = RunSet(scenario: scenario.name, mode: "sim",
                         slos: [StoredSLO(spec)], runs: [record])
        return SummaryBuilder.build(set).slos[slo]?.passed == false
    }

    /// Runs each candidate for `seed` (invalid candidates count as not failing), `threads` at a time.
    static func stillFails(_ candidates: [ScenarioSource], seed: UInt64, check: String, threads: Int) -> [Bool] {
        let verdicts = VerdictBox(count: candidates.count)
        DispatchQueue.concurrentPerform(iterations: min(threads, candidates.count)) { worker in
            var index = worker
            while index < candidates.count {
                let fails: Bool
                if let model = try? candidates[index].scenario(), let outcome = try? simulate(model, seed: seed) {
                    fails = Self.fails(check, outcome, model)
                } else {
                    fails = false
                }
                verdicts.set(index, fails)
                index += threads
            }
        }
        return verdicts.values
    }

    static func header(scenario: String, overrides: [String], seed: UInt64, check: String, result: Shrinker.Result,
                       original: ScenarioSource, notes: [String]) -> String {
        var lines = ["# Shrunk by `faultline shrink` from \(scenario)" + (overrides.isEmpty ? "" : " --set " + overrides.joined(separator: " --set ")),
                     "# seed \(seed) still fails `\(check)`; `seeds: \(seed)` makes a plain `faultline run` include it.",
                     "# \(original.faults.count) → \(result.minimal.faults.count) faults; duration \(durationText(original.duration)) → \(durationText(result.minimal.duration)).",
                     ] + notes.map { "# Note: " + $0.split(whereSeparator: \.isNewline).joined(separator: " / ") + "." }
            + ["# What was removed or changed, in order:"]
        for step in result.steps { lines.append("#   - [\(step.phase)] \(step.change)") }
        if result.steps.isEmpty { lines.append("#   (nothing could be removed)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func table(_ result: Shrinker.Result, original: ScenarioSource, check: String, seconds: Double) -> String {
        var out = "| step | phase | change | faults | duration |\n|---:|---|---|---:|---:|\n"
        out += "| 0 | original | — | \(original.faults.count) | \(durationText(original.duration)) |\n"
        for (i, step) in result.steps.enumerated() {
            out += "| \(i + 1) | \(step.phase) | \(step.change.replacingOccurrences(of: "|", with: "\\|")) | \(step.faults) | \(durationText(step.durationNanos)) |\n"
        }
        out += "\n\(result.candidatesRun) candidates run in \(String(format: "%.1f", seconds)) s; check `\(check)` fails in every accepted step."
        return out
    }

    /// The shrinker's own readable form (one formatter for the table and the steps' texts).
    static func durationText(_ nanos: Int64?) -> String {
        nanos.map(Shrinker.readable) ?? "—"
    }
}

/// Verdicts written by parallel workers, each to its own index.
private final class VerdictBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Bool]
    init(count: Int) { stored = Array(repeating: false, count: count) }
    func set(_ index: Int, _ value: Bool) {
        lock.lock()
        stored[index] = value
        lock.unlock()
    }
    var values: [Bool] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// One status line on a terminal while shrinking; silent otherwise.
private final class ShrinkProgress: @unchecked Sendable {
    private let enabled = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    private var drawn = false

    func update(_ runs: Int, _ steps: Int) {
        guard enabled else { return }
        drawn = true
        FileHandle.standardError.write(Data("\rshrink: \(runs) candidates run, \(steps) reductions kept".utf8))
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
