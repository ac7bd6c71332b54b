import Checkers
import Scenario
import SimCore
import Stats

/// What every model of a run shares, and nothing a model owns: virtual time, the agenda, the
/// processes with their disks and clocks, the network, the load driver's book of requests, the
/// trace sink. Each model's `handle` borrows it (`inout`) per event, as TigerBeetle's replicas are
/// generic over their network, storage and time: the model decides, the cluster carries out.
struct VirtualCluster {
    let scenario: Scenario
    var now: VirtualTime = 0
    var queue = EventQueue<SimEvent>(capacity: 4096)
    var processes: [SimProcess]
    var network: NetworkModel
    /// The load driver's process (last), and the cluster's (everything before it).
    let clientNode: NodeID
    let clusterNodes: [NodeID]
    let nodeIndex: [String: NodeID]   // lookups only, never iterated
    /// Per node: the index of its zone's first node (zones compared as integers on the hot path).
    let nodeZone: [Int]
    let crossZoneExtra: Distribution?
    var crossZoneRng: SeededGenerator
    /// Events that reached a paused process, delivered in order when it resumes.
    var heldWhilePaused: [[SimEvent]]
    var requests: RequestBook
    /// The models' time series (the requests' own are in `requests`) and the run's timeline.
    var series: TimeSeriesRecorder
    var timeline: [TimelineEvent] = []
    /// Whether `explain(_:_:nodes:)` notes anything (`SimulationOptions.explain`).
    var explaining = false
    var traceSink: TraceSink?
    /// A model asks the run to stop early (the broker's liveness phase saw the cluster converge).
    var stopRequested = false
    /// The delay each lane of `queue` serves (lane = index + 1), first come first served.
    var laneDelays: [VirtualTime] = []

    init(scenario: Scenario, processes: [SimProcess], network: NetworkModel, clusterNodeCount: Int, root: SeededGenerator) {
        self.scenario = scenario
        self.processes = processes
        self.network = network
        clientNode = processes.count - 1
        clusterNodes = Array(0..<clusterNodeCount)
        var index: [String: NodeID] = [:]
        for process in processes { index[process.name] = process.id }
        nodeIndex = index
        let zones = processes.map(\.zone)
        nodeZone = zones.map { zone in zones.firstIndex(of: zone)! }
        crossZoneExtra = scenario.cluster.network.crossZoneExtra
        crossZoneRng = root.stream("network.cross-zone")
        heldWhilePaused = Array(repeating: [], count: processes.count)
        let longestTimeout = (scenario.workload.compactMap(\.timeout) + scenario.meshWorkloads.compactMap(\.timeout)).max() ?? 0
        // A broker run goes on past `duration` into its liveness phase (at most this long).
        let span = scenario.broker == nil ? scenario.duration : scenario.duration + 60 * Nanos.second
        series = TimeSeriesRecorder(window: scenario.timeSeriesWindow, span: span)
        requests = RequestBook(warmup: scenario.warmup, liveness: LivenessAfterHeal(grace: max(Nanos.second, longestTimeout)),
                               series: TimeSeriesRecorder(window: scenario.timeSeriesWindow, span: span),
                               hasRequests: !scenario.workload.isEmpty || !scenario.meshWorkloads.isEmpty)
    }

    /// A line of the explained timeline, now (nothing unless explaining; callers test
    /// `explaining` first so that a plain run builds no text).
    mutating func explain(_ kind: String, _ description: String, nodes: [NodeID] = []) {
        guard explaining else { return }
        note(kind, description, nodes: nodes)
    }

    /// A line of the run's timeline, now.
    mutating func note(_ kind: String, _ description: String, nodes: [NodeID] = [], until end: VirtualTime? = nil) {
        timeline.append(TimelineEvent(atNanos: now, endNanos: end, kind: kind, description: description,
                                      nodes: nodes.map { processes[$0].name }))
    }

    // MARK: - The agenda (one overload per model's events, so model code names only its own)
    // Inlined by hand: these one-liners sit on every event's path, and as calls they cost
    // ~5 % of a station run's instructions (callgrind, mm1).

    @inline(__always) mutating func schedule(_ event: SimEvent, at time: VirtualTime) { queue.schedule(event, at: time) }
    @inline(__always) mutating func schedule(_ event: StationEvent, at time: VirtualTime) { queue.schedule(.station(event), at: time) }
    @inline(__always) mutating func schedule(_ event: BrokerEvent, at time: VirtualTime) { queue.schedule(.broker(event), at: time) }
    @inline(__always) mutating func schedule(_ event: MeshEvent, at time: VirtualTime) { queue.schedule(.mesh(event), at: time) }

    /// `delay` after now, for delays that many events share (a timeout of fixed length, a
    /// periodic tick): events with the same delay come due in the order they are scheduled,
    /// so they wait in one of the queue's lanes, out of the heap. Same order of events as
    /// `schedule(_:at:)`; only the heap is smaller.
    mutating func schedule(_ event: SimEvent, after delay: VirtualTime) {
        let time = now + delay
        if let lane = laneDelays.firstIndex(of: delay) {
            queue.schedule(event, at: time, lane: lane + 1)
        } else if laneDelays.count < EventQueue<SimEvent>.maxLanes {
            laneDelays.append(delay)
            queue.schedule(event, at: time, lane: laneDelays.count)
        } else {
            queue.schedule(event, at: time)
        }
    }
    @inline(__always) mutating func schedule(_ event: MeshEvent, after delay: VirtualTime) { schedule(.mesh(event), after: delay) }

    // MARK: - The network

    /// When a message sent now from `from` to `to` arrives: zero, one or two deliveries (loss,
    /// duplication), each with the cross-zone extra when the zones differ.
    @inline(__always) mutating func deliveries(from: NodeID, to: NodeID, bytes: Int) -> (first: VirtualTime?, second: VirtualTime?) {
        let transmission = network.transmit(from: from, to: to, bytes: bytes, now: now)
        var extra: VirtualTime = 0
        if let crossZone = crossZoneExtra, nodeZone[from] != nodeZone[to] {
            extra = crossZone.sampleNanos(&crossZoneRng)
        }
        return (transmission.first.map { $0 + extra }, transmission.second.map { $0 + extra })
    }

    /// Puts a message on the simulated network: its delivery event happens zero, one or two times.
    @inline(__always) mutating func send(from: NodeID, to: NodeID, bytes: Int, _ delivery: SimEvent) {
        let (first, second) = deliveries(from: from, to: to, bytes: bytes)
        if let first { queue.schedule(delivery, at: first) }
        if let second { queue.schedule(delivery, at: second) }
    }

    @inline(__always) mutating func send(from: NodeID, to: NodeID, bytes: Int, _ delivery: StationEvent) {
        send(from: from, to: to, bytes: bytes, .station(delivery))
    }

    // MARK: - Processes

    /// Whether an event at `node` happens now: dropped when the process is down, held until it
    /// resumes when paused.
    @inline(__always) mutating func isRunning(_ node: NodeID, else event: SimEvent) -> Bool {
        switch processes[node].state {
        case .running: return true
        case .crashed: return false
        case .paused:
            heldWhilePaused[node].append(event)
            return false
        }
    }

    /// The node's own clock reading now (offset, drift and jumps applied).
    func localNow(_ node: NodeID) -> Int64 { processes[node].clock.now(now) }
}

/// The load driver's view of its requests (station and mesh workloads), indexed by request id
/// (ids are dense): when each started, how it ended, and the latency of those that succeeded.
struct RequestBook {
    let warmup: VirtualTime
    var start: [VirtualTime] = []
    var workload: [Int32] = []
    var ledger = RequestLedger()
    var liveness: LivenessAfterHeal
    var latency = LatencyHistogram()
    var latencySum: Double = 0
    var latencyCount: UInt64 = 0
    /// Per window, warm-up included: successes per second, the error rate, latency percentiles.
    var series: TimeSeriesRecorder
    let outcomeSeries: TimeSeriesRecorder.OutcomeHandles?

    init(warmup: VirtualTime, liveness: LivenessAfterHeal, series: TimeSeriesRecorder, hasRequests: Bool) {
        self.warmup = warmup
        self.liveness = liveness
        var series = series
        outcomeSeries = hasRequests
            ? TimeSeriesRecorder.OutcomeHandles(throughput: series.rate("throughput"), errors: series.ratio("error_rate"),
                                                latency: series.latency("request_latency"))
            : nil
        self.series = series
    }

    /// A new request of `workload` leaves the load driver now; returns its id.
    mutating func open(workload w: Int, at now: VirtualTime) -> UInt64 {
        let id = UInt64(start.count)
        start.append(now)
        workload.append(Int32(w))
        ledger.sent(id, at: now)
        liveness.started(id, at: now)
        return id
    }

    /// Records a successful request's latency, measured from its intended start (open loop),
    /// when it started after the warm-up; returns it then.
    @discardableResult
    mutating func recordLatency(of request: UInt64, at now: VirtualTime) -> Int64? {
        let started = start[Int(request)]
        guard started >= warmup else { return nil }
        let elapsed = now - started
        latency.record(elapsed)
        latencySum += Double(elapsed)
        latencyCount += 1
        return elapsed
    }

    mutating func conclude(_ request: UInt64, _ outcome: RequestOutcome, at now: VirtualTime) {
        let first = ledger.outcome(of: request) == .pending
        ledger.finished(request, outcome, at: now)
        liveness.finished(request, outcome, at: now)
        // A late or duplicate answer counts once, as its first outcome.
        if first, let outcomeSeries {
            series.outcome(outcomeSeries, at: now, succeeded: outcome == .succeeded, latency: now - start[Int(request)])
        }
    }
}
