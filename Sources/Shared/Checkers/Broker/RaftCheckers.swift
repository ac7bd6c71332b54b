import Sampling

/// `raft_election_safety`: at most one leader per term, ever (Raft §5.2).
public struct RaftElectionSafetyChecker: Sendable {
    public static let name = "raft_election_safety"
    private var leaders: [(term: UInt64, node: Int)] = []
    private var violations: [CheckViolation] = []

    public init() {}

    public mutating func leaderElected(term: UInt64, node: Int, at time: VirtualTime, describe: (Int) -> String) {
        if let other = leaders.first(where: { $0.term == term }) {
            if other.node != node {
                violations.append(CheckViolation(check: Self.name,
                    description: "\(describe(other.node)) and \(describe(node)) both led term \(term)", time: time))
            }
            return
        }
        leaders.append((term, node))
    }

    public var elections: Int { leaders.count }
    public var highestTerm: UInt64 { leaders.map(\.term).max() ?? 0 }

    public func verify() -> CheckReport { CheckReport(name: Self.name, violations: violations) }
}

/// `raft_log_matching`: if two logs hold an entry with the same index and term, the logs are
/// identical up to that index (Raft §5.3). Logs are given as (term, command digest) per index,
/// index 1 first.
public enum RaftLogMatchingChecker {
    public static let name = "raft_log_matching"

    public static func verify(logs: [(node: String, entries: [(term: UInt64, digest: UInt64)])], at end: VirtualTime) -> CheckReport {
        var violations: [CheckViolation] = []
        for i in logs.indices {
            for j in logs.indices where j > i {
                let a = logs[i].entries, b = logs[j].entries
                let common = min(a.count, b.count)
                // The highest index where terms match; everything before it must be identical.
                guard let last = (0..<common).last(where: { a[$0].term == b[$0].term }) else { continue }
                if let bad = (0...last).first(where: { a[$0].term != b[$0].term || a[$0].digest != b[$0].digest }) {
                    violations.append(CheckViolation(check: name,
                        description: "\(logs[i].node) and \(logs[j].node) agree on index \(last + 1) (term \(a[last].term)) but differ at index \(bad + 1)",
                        time: end))
                }
            }
        }
        return CheckReport(name: name, violations: violations)
    }
}
