import Foundation
import Results

/// Keys a shard's `properties` carry besides the plan's provenance: which plan and which shard
/// of it the runs belong to. A merged folder has none of them.
public enum ShardProperty {
    public static let plan = "shard.plan"
    public static let index = "shard.index"
    public static let count = "shard.count"

    public static func properties(plan: JobPlan, shard: ShardSpec) -> [String: String] {
        var properties = plan.properties
        properties[Self.plan] = plan.id
        properties[Self.index] = String(shard.index)
        properties[Self.count] = String(shard.count)
        return properties
    }
}

/// Merges the results of a plan's shards into one results set, in the plan's job order, after
/// checking that every job ran exactly once: shards of another plan, a missing shard, or a
/// shard with a missing, extra or foreign run are refused. A shard that arrives twice (a
/// retried task whose first attempt also finished) is taken once — its runs are the same,
/// since every run is determined by its seed.
public struct ShardMerge {
    public let plan: JobPlan
    /// The shard databases chosen per index, in index order.
    public let shards: [String]
    /// Shards given more than once (paths skipped), for the caller to mention.
    public let duplicates: [String]

    /// Reads each database's shard properties (not its runs) and picks one per index.
    public init(plan: JobPlan, databases: [String]) throws(MergeError) {
        self.plan = plan
        var byIndex: [Int: String] = [:]
        var duplicates: [String] = []
        var count: Int?
        for path in databases.sorted() {
            let properties: [String: String]
            do {
                properties = try ResultsStore(path: path).properties()
            } catch {
                throw .unreadable(path: path, reason: "\(error)")
            }
            guard let planID = properties[ShardProperty.plan], let indexText = properties[ShardProperty.index],
                  let countText = properties[ShardProperty.count], let index = Int(indexText), let shardCount = Int(countText)
            else { throw .notAShard(path: path) }
            guard planID == plan.id else { throw .otherPlan(path: path, found: planID, expected: plan.id) }
            if let count, count != shardCount { throw .mixedShardCounts(path: path, found: shardCount, expected: count) }
            count = shardCount
            if byIndex[index] != nil {
                duplicates.append(path)
            } else {
                byIndex[index] = path
            }
        }
        guard let count else { throw .noShards }
        let missing = (0..<count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else { throw .missingShards(missing, of: count) }
        shards = (0..<count).map { byIndex[$0]! }
        self.duplicates = duplicates
    }

    public var shardCount: Int { shards.count }

    /// One shard's runs in the plan's job order, after checking they are exactly its jobs.
    public func runs(ofShard index: Int) throws(MergeError) -> (header: RunSet, runs: [RunRecord]) {
        let path = shards[index]
        let set: RunSet
        do {
            set = try ResultsStore(path: path).load(timeSeries: true)
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        let range = plan.jobRange(shard: index, of: shards.count)
        // Runs by (parameters, seed); a job listed twice in the plan takes two runs.
        var pending: [String: [RunRecord]] = [:]
        for run in set.runs {
            pending[Self.key(run.parameters, run.seed), default: []].append(run)
        }
        var ordered: [RunRecord] = []
        ordered.reserveCapacity(range.count)
        for job in plan.jobs[range] {
            let key = Self.key(job.parameters, job.seed)
            guard var runs = pending[key], !runs.isEmpty else {
                throw .missingRun(path: path, parameters: canonicalParametersJSON(job.parameters), seed: job.seed)
            }
            ordered.append(runs.removeFirst())
            pending[key] = runs
        }
        let extra = pending.values.reduce(0) { $0 + $1.count }
        guard extra == 0 else { throw .extraRuns(path: path, count: extra) }
        var header = set
        header.runs = []
        return (header, ordered)
    }

    static func key(_ parameters: [String: String], _ seed: UInt64) -> String {
        canonicalParametersJSON(parameters) + "#" + String(seed)
    }
}

public enum MergeError: Error, CustomStringConvertible, Equatable {
    case noShards
    case unreadable(path: String, reason: String)
    case notAShard(path: String)
    case otherPlan(path: String, found: String, expected: String)
    case mixedShardCounts(path: String, found: Int, expected: Int)
    case missingShards([Int], of: Int)
    case missingRun(path: String, parameters: String, seed: UInt64)
    case extraRuns(path: String, count: Int)

    public var description: String {
        switch self {
        case .noShards: "no shard results to merge"
        case let .unreadable(path, reason): "\(path): cannot read: \(reason)"
        case let .notAShard(path): "\(path): not the results of a shard (no shard.plan/shard.index/shard.count properties; `faultline run-jobs` writes them)"
        case let .otherPlan(path, found, expected): "\(path): results of plan \(found), not of this plan \(expected)"
        case let .mixedShardCounts(path, found, expected): "\(path): shard of \(found) shards, the others are of \(expected)"
        case let .missingShards(missing, count):
            "missing shards \(missing.map(String.init).joined(separator: ", ")) of \(count): run them with faultline run-jobs PLAN --shard i/\(count)"
        case let .missingRun(path, parameters, seed): "\(path): no run of seed \(seed) with parameters \(parameters), which the plan assigns to it"
        case let .extraRuns(path, count): "\(path): \(count) run(s) the plan does not assign to this shard"
        }
    }
}
