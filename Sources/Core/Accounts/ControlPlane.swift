/// Cloud control-plane APIs throttle per account (and per region): a token bucket that refills
/// at a steady rate up to a burst. During a mass recovery — every service re-creating
/// instances, re-attaching volumes, rotating credentials — the calls of one account queue
/// behind each other, which is a cost of packing many services into one account and a benefit
/// of splitting them.
public struct ControlPlane: Sendable {
    public let accounts: Int
    /// Tokens per second, per account.
    public let rate: Double
    /// Bucket capacity: calls that pass at once after a quiet period.
    public let burst: Int

    /// A token bucket per account: `rate` tokens/s, capacity `burst`, full at time 0.
    public init(accounts: Int, rate: Double, burst: Int) {
        precondition(accounts >= 0 && rate > 0 && burst >= 1, "bad token bucket")
        self.accounts = accounts
        self.rate = rate
        self.burst = burst
    }

    /// Each call's wait (ns) for a token, in input order. Calls are taken in time order
    /// (ties keep their input order) and wait FIFO per account.
    ///
    /// Implemented as GCRA, the virtual-scheduling form of the token bucket: emission interval
    /// T = 1/rate, tolerance τ = (burst − 1)·T, and a call arriving at t is served at
    /// max(t, TAT − τ), after which TAT = max(served, TAT) + T. With TAT = 0 at time 0 the
    /// bucket starts full. Waits are rounded to the nearest nanosecond.
    public func delays(_ calls: [(time: Int64, account: Int)]) -> [Int64] {
        let interval = 1e9 / rate
        let tolerance = Double(burst - 1) * interval
        var theoreticalArrival = [Double](repeating: 0, count: accounts)
        let order = calls.indices.sorted {
            (calls[$0].time, $0) < (calls[$1].time, $1)
        }
        var waits = [Int64](repeating: 0, count: calls.count)
        for i in order {
            let (time, account) = calls[i]
            precondition(account >= 0 && account < accounts, "unknown account \(account)")
            let arrival = Double(time)
            let served = max(arrival, theoreticalArrival[account] - tolerance)
            theoreticalArrival[account] = max(served, theoreticalArrival[account]) + interval
            waits[i] = max(0, Int64((served - arrival).rounded()))
        }
        return waits
    }
}
