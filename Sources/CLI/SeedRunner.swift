import Dispatch
import Foundation
import Results
import Scenario
import Sim
import Stats

/// One unit of work: a scenario (with its overrides applied) and a seed.
struct SeedJob: Sendable {
    var scenario: Scenario
    var parameters: [String: String]
    var seed: UInt64
}

/// Runs seeds in parallel across `jobs` threads. Each seed runs start to finish on one
/// thread (determinism is per seed); results are appended to the store as they finish (by a
/// writer queue, in finishing order), so a crash later keeps the runs already written.
final class SeedRunner: @unchecked Sendable {
    private let lock = NSLock()
    private var nextJob = 0
    private var records: [RunRecord] = []
    private var failure: Error?
    private let store: ResultsStore
    private let progress: Progress
    /// Appends run on their own serial queue: each is a durable SQLite transaction (an fsync),
    /// and a simulation thread waiting for it was a core idle for milliseconds per seed.
    private let writer = DispatchQueue(label: "faultline.results-writer")

    init(store: ResultsStore, progress: Progress) {
        self.store = store
        self.progress = progress
    }

    func run(_ jobs: [SeedJob], threads: Int) throws -> [RunRecord] {
        let workers = max(1, min(threads, jobs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let job = self.takeJob(jobs) {
                do {
                    let record = try Self.execute(job)
                    self.finished(record)
                } catch {
                    self.fail(error)
                }
            }
        }
        writer.sync {}  // every append done (or failed) before the run is reported
        progress.finish()
        if let failure { throw failure }
        return records
    }

    static func execute(_ job: SeedJob) throws -> RunRecord {
        let started = Date()
        let clock = ContinuousClock()
        let begin = clock.now
        var simulation = try Simulation(scenario: job.scenario, seed: job.seed)
        let outcome = simulation.run()
        let elapsed = clock.now - begin
        return RunRecord(outcome: outcome, scenario: job.scenario, parameters: job.parameters,
                         startedAt: started, wallSeconds: elapsed.seconds)
    }

    private func takeJob(_ jobs: [SeedJob]) -> SeedJob? {
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil, nextJob < jobs.count else { return nil }
        nextJob += 1
        return jobs[nextJob - 1]
    }

    private func finished(_ record: RunRecord) {
        lock.lock()
        defer { lock.unlock() }
        records.append(record)
        // Queued under the lock, so the store's rows come in the order of `records`.
        writer.async {
            do {
                try self.store.append(record)
            } catch {
                self.fail(InternalFailure("cannot write results: \(error)"))
            }
        }
        progress.advance()
    }

    private func fail(_ error: Error) {
        lock.lock()
        defer { lock.unlock() }
        if failure == nil { failure = error }
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

extension RunRecord {
    init(outcome: RunOutcome, scenario: Scenario, parameters: [String: String], startedAt: Date, wallSeconds: Double) {
        var violations: [Violation] = []
        for check in outcome.checks {
            for v in check.violations {
                violations.append(Violation(check: v.check, description: v.description, virtualTimeNanos: v.time))
            }
        }
        self.init(
            scenario: scenario.name,
            mode: "sim",
            parameters: parameters,
            seed: outcome.seed,
            startedAt: ISO8601DateFormatter().string(from: startedAt),
            wallSeconds: wallSeconds,
            events: outcome.events,
            traceHash: outcome.traceHash,
            passed: outcome.passed,
            metrics: outcome.metrics,
            metricUnits: outcome.metricUnits,
            histograms: outcome.histograms,
            checks: outcome.checks.map { CheckResult(name: $0.name, passed: $0.passed, violations: $0.violations.count) },
            violations: violations,
            timeline: outcome.timeline,
            timeSeries: outcome.timeSeries)
    }
}

/// A progress bar on a terminal (stderr) for work longer than a second; silent otherwise.
final class Progress: @unchecked Sendable {
    private let total: Int
    private let label: String
    private var done = 0
    private let started = ContinuousClock.now
    private let enabled: Bool
    private var drawn = false
    private let lock = NSLock()

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    }

    func advance() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        draw()
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw() {
        guard enabled, ContinuousClock.now - started > .seconds(1) || drawn else { return }
        drawn = true
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }
}
