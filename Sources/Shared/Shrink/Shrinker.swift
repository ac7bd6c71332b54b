import Foundation
import Scenario

/// Searches for a smaller scenario that still fails: delta debugging over the fault schedule
/// (Zeller's ddmin), then shorter faults, faults earlier in the run, a shorter run and lower
/// publish rates. It never runs anything itself: `evaluate` runs a batch of candidates (the CLI
/// runs them in parallel, one seed each) and says which still fail the check. Of a batch, the
/// first failing candidate in batch order is taken, so the result depends only on the input,
/// not on which run finished first.
public struct Shrinker {
    /// One accepted reduction, for the table.
    public struct Step: Sendable, Equatable {
        public var phase: String
        public var change: String
        public var faults: Int
        public var durationNanos: Int64
    }

    public struct Result: Sendable {
        public var minimal: ScenarioSource
        public var steps: [Step]
        /// Candidates run (including ones that no longer failed or were invalid).
        public var candidatesRun: Int
        /// Removed fault entries, as written.
        public var removedFaults: [String]
    }

    /// A candidate scenario and what it changes.
    public struct Candidate: Sendable {
        public var source: ScenarioSource
        public var change: String
    }

    public typealias Evaluate = ([Candidate]) -> [Bool]

    /// Faults are kept at least this long (a shorter one is no longer the same fault).
    public static let shortestFault: Int64 = 1_000_000
    /// The run keeps at least this much time after its last fault begins.
    public static let shortestTail: Int64 = 100_000_000

    let evaluate: Evaluate
    var current: ScenarioSource
    var steps: [Step] = []
    var runs = 0
    var removed: [String] = []
    /// Called after each batch with (candidates run so far, steps accepted so far).
    let progress: (Int, Int) -> Void

    public init(start: ScenarioSource, progress: @escaping (Int, Int) -> Void = { _, _ in }, evaluate: @escaping Evaluate) {
        self.current = start
        self.evaluate = evaluate
        self.progress = progress
    }

    public mutating func run() -> Result {
        removeFaults()
        removeStructure()
        shortenFaults()
        moveFaultsEarlier()
        shortenRun()
        lowerRates()
        return Result(minimal: current, steps: steps, candidatesRun: runs, removedFaults: removed)
    }

    /// Runs a batch; takes the first that still fails and returns its index in the batch.
    @discardableResult
    private mutating func firstFailing(_ phase: String, _ batch: [Candidate]) -> Int? {
        guard !batch.isEmpty else { return nil }
        let verdicts = evaluate(batch)
        runs += batch.count
        defer { progress(runs, steps.count) }
        guard let i = verdicts.firstIndex(of: true) else { return nil }
        current = batch[i].source
        steps.append(Step(phase: phase, change: batch[i].change, faults: current.faults.count,
                          durationNanos: current.duration ?? 0))
        return i
    }

    // MARK: Phases

    /// ddmin over the fault list: remove chunks (then their complements' halves), granularity
    /// doubling until single faults.
    mutating func removeFaults() {
        var chunks = 2
        while current.faults.count >= 1 {
            let faults = current.faults
            let n = faults.count
            let size = max(1, (n + chunks - 1) / chunks)
            var batch: [Candidate] = []
            var groups: [[Int]] = []
            for start in stride(from: 0, to: n, by: size) {
                let group = Array(start..<min(n, start + size))
                groups.append(group)
                let what = group.map { faults[$0].text }.joined(separator: ", ")
                batch.append(Candidate(source: current.removingFaults(Set(group)), change: "removed \(what)"))
            }
            if let g = firstFailing("faults", batch) {
                removed += groups[g].map { faults[$0].text }
                chunks = max(chunks - 1, 2)
                continue
            }
            if size == 1 { break }
            chunks = min(chunks * 2, n)
        }
    }

    /// Fewer nodes, streams and workload entries (clients), one at a time while the check still
    /// fails. A candidate that no longer validates (a fault names the node removed) is not taken.
    mutating func removeStructure() {
        while let nodes = current.nodeCount, nodes > 1,
              firstFailing("nodes", [Candidate(source: current.withOneNodeFewer(), change: "\(nodes - 1) nodes instead of \(nodes)")]) != nil {}
        var progress = true
        while progress {
            progress = false
            let streams = current.streamNames
            if streams.count > 1 {
                let batch = streams.map { Candidate(source: current.removingStream($0), change: "removed stream \($0) and its clients") }
                if firstFailing("streams", batch) != nil { progress = true; continue }
            }
            let entries = current.workloadCount
            if entries > 1 {
                let batch = (0..<entries).map { Candidate(source: current.removingWorkload($0), change: "removed workload entry \($0 + 1)") }
                if firstFailing("clients", batch) != nil { progress = true }
            }
        }
    }

    /// Shortens each fault's `for:`: the shortest that still fails of 1 ms, ⅛, ¼ and ½ of it, until none does.
    mutating func shortenFaults() {
        for index in current.faults.indices {
            while let held = current.faults[index].duration {
                let tries = [Self.shortestFault, held / 8, held / 4, held / 2].filter { $0 >= Self.shortestFault && $0 < held }
                let batch = tries.map { d in
                    Candidate(source: current.settingFaultDuration(index, to: d),
                              change: "fault \(index + 1) held \(Self.readable(d)) instead of \(Self.readable(held))")
                }
                guard firstFailing("fault durations", batch) != nil else { break }
            }
        }
    }

    /// A duration for people (the file keeps the exact value).
    public static func readable(_ nanos: Int64) -> String {
        let v = Double(nanos)
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000) s" }
        if v >= 1e9 { return String(format: "%.3g s", v / 1e9) }
        if v >= 1e6 { return String(format: "%.3g ms", v / 1e6) }
        return String(format: "%.3g µs", v / 1e3)
    }

    /// Moves the whole schedule earlier (the time before the first fault shrinks), largest move first.
    mutating func moveFaultsEarlier() {
        while let first = current.faults.map(\.at).min() {
            let room = first - current.warmup
            guard room >= Self.shortestFault else { return }
            let moves = [room, room / 2, room / 4].filter { $0 >= Self.shortestFault }
            let batch = moves.map { move in
                Candidate(source: current.shiftingFaults(earlierBy: move).with(duration: max(1, (current.duration ?? 0) - move)),
                          change: "faults \(Self.readable(move)) earlier (and the run as much shorter)")
            }
            guard firstFailing("earlier faults", batch) != nil else { return }
        }
    }

    /// Cuts the run short after the last fault, shortest first.
    mutating func shortenRun() {
        while let duration = current.duration {
            let lastFault = current.faults.map { $0.at + ($0.duration ?? 0) }.max() ?? current.warmup
            let floor = lastFault + Self.shortestTail
            let tail = duration - floor
            guard tail >= Self.shortestFault else { return }
            let cuts = [floor, floor + tail / 4, floor + tail / 2].filter { $0 < duration }
            let batch = cuts.map { Candidate(source: current.with(duration: $0), change: "duration \(Self.readable($0))") }
            guard firstFailing("duration", batch) != nil else { return }
        }
    }

    /// Lowers the publish rates (fewer messages: a shorter timeline): the lowest that still
    /// fails of 1/64, 1/16, ¼ and ½, until none does.
    mutating func lowerRates() {
        while let highest = current.publishRates.max(), highest >= 2 {
            let factors = [1.0 / 64, 1.0 / 16, 0.25, 0.5].filter { highest * $0 >= 1 }
            let batch = factors.map { f in
                Candidate(source: current.scalingPublishRates(by: f), change: "publish rates × \(f == 0.5 ? "½" : f == 0.25 ? "¼" : "1/\(Int(1 / f))")")
            }
            guard firstFailing("rates", batch) != nil else { return }
        }
    }
}
