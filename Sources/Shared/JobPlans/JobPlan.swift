import Foundation
import Results

/// A sweep written down instead of run: which scenario (by content hash), which overrides and
/// parameter axes, which (parameters, seed) jobs, and which Faultline binary (by hash) may run
/// them. Any engine can split it into shards (`faultline run-jobs PLAN --shard i/n`) and merge
/// them back (`faultline merge`); the plan's hashes make a worker with another binary or
/// scenario file refuse instead of mixing in different results.
public struct JobPlan: Codable, Sendable, Equatable {
    public static let currentFormat = "faultline-plan/1"

    public struct ScenarioFile: Codable, Sendable, Equatable {
        /// As given on the command line that wrote the plan (workers resolve it from their own
        /// working folder, or take `--scenario`).
        public var path: String
        /// FNV-1a 64 of the file's bytes, the same hash the results record (`scenario_hash`).
        public var hash: String
        /// The scenario's `name:`.
        public var name: String

        public init(path: String, hash: String, name: String) {
            self.path = path
            self.hash = hash
            self.name = name
        }
    }

    public struct Binary: Codable, Sendable, Equatable {
        public var version: String
        /// `ContentHash.wideHex` of the executable: the same build on every worker, or a refusal.
        public var hash: String

        public init(version: String, hash: String) {
            self.version = version
            self.hash = hash
        }
    }

    public struct Axis: Codable, Sendable, Equatable {
        public var key: String
        public var values: [String]

        public init(key: String, values: [String]) {
            self.key = key
            self.values = values
        }
    }

    public struct Job: Codable, Sendable, Equatable, Hashable {
        public var parameters: [String: String]
        public var seed: UInt64

        public init(parameters: [String: String], seed: UInt64) {
            self.parameters = parameters
            self.seed = seed
        }
    }

    public var format: String
    /// Content hash of everything below: what shards and merges are matched on.
    public var id: String
    /// The progress label of the command that planned it ("seeds" or "sweep").
    public var label: String
    public var scenario: ScenarioFile
    public var faultline: Binary
    /// `--profile` and `--set` overrides, in order (before each job's axis assignments).
    public var overrides: [String]
    public var axes: [Axis]
    public var jobs: [Job]
    /// The provenance recorded in the merged results (`ResultsProperty`), fixed at plan time so
    /// that a merged folder says the same as a local run on the planning machine.
    public var properties: [String: String]

    public init(label: String, scenario: ScenarioFile, faultline: Binary, overrides: [String], axes: [Axis],
                jobs: [Job], properties: [String: String]) {
        format = Self.currentFormat
        id = ""
        self.label = label
        self.scenario = scenario
        self.faultline = faultline
        self.overrides = overrides
        self.axes = axes
        self.jobs = jobs
        self.properties = properties
        id = contentID()
    }

    /// The hash of the plan's canonical JSON with an empty id.
    public func contentID() -> String {
        var copy = self
        copy.id = ""
        return ContentHash.hex(of: (try? Self.encoder.encode(copy)) ?? Data())
    }

    /// The jobs shard `index` of `count` runs: contiguous, sizes differing by at most one.
    public func jobRange(shard index: Int, of count: Int) -> Range<Int> {
        (jobs.count * index / count)..<(jobs.count * (index + 1) / count)
    }

    /// A job's axis assignments (`key=value`) in the axes' order: applied after `overrides`.
    public func assignments(for job: Job) -> [String] {
        axes.compactMap { axis in job.parameters[axis.key].map { "\(axis.key)=\($0)" } }
    }

    public func encoded() throws -> Data {
        try Self.encoder.encode(self)
    }

    /// Reads a plan and checks its format and id, so a hand-edited or truncated plan is refused.
    public static func decode(_ data: Data) throws(PlanError) -> JobPlan {
        let plan: JobPlan
        do {
            plan = try JSONDecoder().decode(JobPlan.self, from: data)
        } catch {
            throw .unreadable("\(error)")
        }
        guard plan.format == currentFormat else { throw .unsupportedFormat(plan.format) }
        guard plan.contentID() == plan.id else { throw .idMismatch(recorded: plan.id, computed: plan.contentID()) }
        guard !plan.jobs.isEmpty else { throw .unreadable("the plan holds no jobs") }
        return plan
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// Which shard of which plan: "3/8" on the command line.
public struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `i/n` with 0 ≤ i < n.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, index >= 0, index < count
        else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }
}

public enum PlanError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case unsupportedFormat(String)
    case idMismatch(recorded: String, computed: String)

    public var description: String {
        switch self {
        case .unreadable(let reason): "not a Faultline job plan: \(reason)"
        case .unsupportedFormat(let format): "unsupported plan format \(format) (this Faultline reads \(JobPlan.currentFormat))"
        case .idMismatch(let recorded, let computed):
            "the plan was changed after it was written (id \(recorded), content hashes to \(computed)); plan it again"
        }
    }
}
