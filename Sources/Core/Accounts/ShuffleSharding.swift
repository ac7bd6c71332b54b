/// Measurements of how shuffle-sharded services overlap, and the combinatorics they should
/// match. With N accounts and shards of k, two services share their whole shard with
/// probability 1/C(N, k), so a failure (or a poison-pill tenant) that takes out one shard
/// takes out every replica of only that small fraction of other services.
public enum ShuffleSharding {
    /// Fraction of ordered pairs (a, b), a ≠ b, of services whose account sets are identical.
    public static func sameShardFraction(_ placement: Placement) -> Double {
        let n = placement.replicaAccounts.count
        guard n >= 2 else { return 0 }
        var sameOrdered = 0
        for (_, size) in groups(placement) { sameOrdered += size * (size - 1) }
        return Double(sameOrdered) / (Double(n) * Double(n - 1))
    }

    /// counts[j] = ordered pairs of distinct services sharing exactly j accounts, for
    /// j in 0...k. The array grows past k if some pair shares more (a placement with more
    /// than k accounts per service), so no pair goes uncounted.
    public static func overlapCounts(_ placement: Placement, shardSize k: Int) -> [Int] {
        precondition(k >= 0)
        var counts = [Int](repeating: 0, count: k + 1)
        // Services with the same account set overlap alike, so compare groups, not services:
        // at most C(N, k) groups however many services there are.
        let grouped = groups(placement)
        let masks: [UInt64]? = placement.accounts.count <= 64
            ? grouped.map { $0.set.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) } } : nil
        func add(_ j: Int, _ pairs: Int) {
            while counts.count <= j { counts.append(0) }
            counts[j] += pairs
        }
        for a in grouped.indices {
            let (setA, sizeA) = grouped[a]
            add(setA.count, sizeA * (sizeA - 1))
            for b in (a + 1)..<grouped.count {
                let (setB, sizeB) = grouped[b]
                let shared = masks.map { ($0[a] & $0[b]).nonzeroBitCount } ?? intersectionCount(setA, setB)
                add(shared, 2 * sizeA * sizeB)
            }
        }
        return counts
    }

    /// C(n, k) as a Double (0 outside 0...n): exact up to 2^53, ample for account counts.
    public static func binomial(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, n >= 0, k <= n else { return 0 }
        let k = min(k, n - k)
        var result = 1.0
        for i in 0..<k { result = result * Double(n - i) / Double(i + 1) }
        return result.rounded()
    }

    /// P(two random k-subsets of N share exactly j) = C(k, j)·C(N − k, k − j) / C(N, k).
    public static func hypergeometric(n: Int, k: Int, j: Int) -> Double {
        let total = binomial(n, k)
        guard total > 0 else { return 0 }
        return binomial(k, j) * binomial(n - k, k - j) / total
    }

    /// Distinct account sets and how many services use each, in ascending set order.
    static func groups(_ placement: Placement) -> [(set: [Int], size: Int)] {
        var sizes: [[Int]: Int] = [:]
        for s in placement.replicaAccounts.indices {
            sizes[placement.accounts(of: s), default: 0] += 1
        }
        return sizes.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { ($0, sizes[$0]!) }
    }

    private static func intersectionCount(_ a: [Int], _ b: [Int]) -> Int {
        var i = 0, j = 0, shared = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { shared += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return shared
    }
}
