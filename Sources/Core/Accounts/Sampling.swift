import Sampling

extension SeededGenerator {
    /// `k` distinct integers of `0..<n` in random order: a partial Fisher–Yates shuffle, so
    /// every k-subset (and every ordering of it) is equally likely. O(n), fine for the
    /// account and layer sizes modelled here.
    mutating func distinctSample(_ k: Int, of n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "cannot draw \(k) distinct of \(n)")
        var pool = Array(0..<n)
        for i in 0..<k {
            let j = i + index(below: n - i)
            pool.swapAt(i, j)
        }
        return Array(pool[0..<k])
    }
}
