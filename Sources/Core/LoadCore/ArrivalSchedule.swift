import Scenario
import Sampling

/// When an open-loop load driver means to send: the intended send times (ns since the run's
/// start) of one workload, drawn lazily from its arrival process.
///
/// The times come from `ArrivalProcess.interarrival(elapsed:_:)`, the function the simulator
/// uses, stepped the way the simulator steps it: the first arrival is one gap after `start`,
/// each next one a gap after the previous, and none at or after `stop`. Given the generator the
/// simulator would use for the workload (`SeededGenerator(seed: s).stream("workload.0")` for the
/// first `requests:` entry), a live run sends at exactly the simulated run's instants.
///
/// A driver sends at these times whatever happened to earlier requests (wrk2's open loop), and
/// measures latency from them (`OpenLoopRecorder`), so a stalled server cannot slow the load
/// down and hide its own stall (coordinated omission).
public struct ArrivalSchedule: Sendable, IteratorProtocol, Sequence {
    public let process: ArrivalProcess
    /// Arrivals begin one gap after `start` (ns since the run's start); a ramp's clock starts here.
    public let start: Int64
    /// No arrival at or after `stop` (ns since the run's start).
    public let stop: Int64
    private var generator: SeededGenerator
    private var previous: Int64
    private var finished = false

    public init(_ process: ArrivalProcess, start: Int64 = 0, stop: Int64, generator: SeededGenerator) {
        self.process = process
        self.start = start
        self.stop = stop
        self.generator = generator
        previous = start
    }

    /// The next intended send time, or `nil` once the schedule has reached `stop` (and ever after;
    /// no further numbers are drawn).
    public mutating func next() -> Int64? {
        guard !finished else { return nil }
        let (sum, overflow) = previous.addingReportingOverflow(process.interarrival(elapsed: previous - start, &generator))
        guard !overflow, sum < stop else {
            finished = true
            return nil
        }
        previous = sum
        return sum
    }
}
