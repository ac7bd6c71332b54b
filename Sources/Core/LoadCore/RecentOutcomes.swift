import Stats

/// The load driver's recent past, for probes that look at a sliding window of it (a chaos
/// experiment's steady-state hypothesis): each ack with its completion time and
/// coordinated-omission-corrected latency, each failed attempt with its time. Entries older than
/// `keep` before the newest are dropped as new ones arrive, so memory stays bounded by the rate.
public struct RecentOutcomes: Sendable {
    /// How far back a window may reach (ns).
    public let keep: Int64
    private var acks: [(at: Int64, latency: Int64)] = []
    private var ackHead = 0
    private var failures: [Int64] = []
    private var failureHead = 0

    public init(keep: Int64) { self.keep = keep }

    /// An ack completed at `at` (ns since the run's start), `latency` after its intended send.
    public mutating func acked(at: Int64, latency: Int64) {
        acks.append((at, latency))
        trim(before: at - keep)
    }

    /// An attempt failed at `at` (refused, connection lost, timed out, given up).
    public mutating func failed(at: Int64) {
        failures.append(at)
        trim(before: at - keep)
    }

    /// What happened in `[from, to)`.
    public func window(from: Int64, to: Int64) -> LoadWindow {
        var result = LoadWindow(seconds: Double(max(0, to - from)) / 1e9)
        for i in ackHead..<acks.count where acks[i].at >= from && acks[i].at < to {
            result.acks += 1
            result.latency.record(acks[i].latency)
        }
        for i in failureHead..<failures.count where failures[i] >= from && failures[i] < to { result.failures += 1 }
        return result
    }

    /// Drops entries before `cutoff`; compacts the arrays once half of them is dead, so each
    /// entry is moved O(1) times on average.
    private mutating func trim(before cutoff: Int64) {
        while ackHead < acks.count && acks[ackHead].at < cutoff { ackHead += 1 }
        while failureHead < failures.count && failures[failureHead] < cutoff { failureHead += 1 }
        if ackHead > 1024 && ackHead * 2 > acks.count {
            acks.removeFirst(ackHead)
            ackHead = 0
        }
        if failureHead > 1024 && failureHead * 2 > failures.count {
            failures.removeFirst(failureHead)
            failureHead = 0
        }
    }
}

/// The load in one window: acks, failed attempts and the acks' latencies.
public struct LoadWindow: Sendable, Equatable {
    public var seconds: Double
    public var acks = 0
    public var failures = 0
    public var latency = LatencyHistogram()

    public init(seconds: Double) { self.seconds = seconds }

    /// Combines the windows of several connections over the same interval.
    public mutating func merge(_ other: LoadWindow) {
        acks += other.acks
        failures += other.failures
        latency.merge(other.latency)
    }

    public var throughput: Double { seconds > 0 ? Double(acks) / seconds : 0 }
    /// Failed attempts over all attempts answered in the window; 0 when none was.
    public var errorRate: Double { acks + failures > 0 ? Double(failures) / Double(acks + failures) : 0 }
}
