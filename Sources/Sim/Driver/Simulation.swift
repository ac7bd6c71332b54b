import Checkers
import FaultPlan
import Raft
import Replication
import Mesh
import Scenario
import SimCore
import Stations
import Stats

/// Runs one seed of a scenario: builds the virtual cluster (processes, network, disks,
/// clocks), places the service stations on it, drives open-loop clients against them and
/// injects the fault schedule and nemesis. Single-threaded and deterministic: the same
/// scenario and seed give the same event sequence and trace hash in any process.
public struct Simulation {
    let scenario: Scenario
    let seed: UInt64
    let options: SimulationOptions

    /// What the models share: time, the agenda, processes, network, the load driver's requests.
    var cluster: VirtualCluster
    /// The models. Each owns its state and its events; `handle` routes an event to its owner.
    var stations: StationModel
    /// The replicated log, when the scenario has a `broker:` section.
    var broker: BrokerModel?
    /// The OAuth fan-out, when the scenario has a `services:` (or `organisation:`) section.
    var mesh: MeshModel?
    /// The multi-account model, when the scenario has an `organisation:` section (its requests
    /// run as a mesh).
    var accounts: AccountsState?

    var trace = TraceHasher()
    /// The models' gauges, sampled at window boundaries (`RunSeries.swift`).
    var gauges = SimGauges()

    // The fault schedule and the nemesis (the run's, not a model's: they act on the cluster
    // and on every model).
    var faultRng: SeededGenerator
    var nemesisRng: SeededGenerator
    var faultUndo: [SimFaultUndo?]
    var nemesisUndo: [SimFaultUndo?] = []
    /// The nemesis's strikes so far, as explicit faults.
    var nemesisFaults: [MaterialisedFault] = []
    var nemesisPlan: NemesisPlan?
    var activeLinkFaults = 0
    var partitioned = false
    /// The disk settings the end of the safety phase returns every node to.
    let baseDiskConfig: DiskConfig

    /// With a placement other than `single`: the same seed's request latency with every
    /// service in one account, so that the run can report the latency accounts add.
    var singleAccountLatency: LatencyHistogram?
    /// Events the single-account baseline run processed (see `RunOutcome.baselineEvents`).
    var baselineEvents: UInt64 = 0

    public var clusterNodes: [NodeID] { cluster.clusterNodes }

    public init(scenario: Scenario, seed: UInt64, options: SimulationOptions = .init()) throws {
        self.scenario = scenario
        self.seed = seed
        if !scenario.publishes.isEmpty && scenario.broker == nil {
            throw SimulationError("publish workloads need a broker: section")
        }
        self.options = options
        let root = SeededGenerator(seed: seed)

        let spec = scenario.cluster
        let defaultLink = LinkConfig(
            latency: spec.network.latency,
            loss: spec.network.loss,
            duplicate: spec.network.duplicate,
            bandwidthBytesPerSecond: spec.network.bandwidthBytesPerSecond)
        // The OAuth model's processes (service replicas, tokeninfo, provider, JWKS) join the
        // cluster after its nodes; the client stays last.
        var meshGraph: CallGraph?
        var meshNodes: [NodeSpec] = []
        var meshLatency = scenario.mesh?.latency ?? PlacementLatency()
        if let mesh = scenario.mesh {
            var graphRng = root.stream("mesh.graph")
            meshGraph = CallGraph(mesh, clusterZones: spec.zones, rng: &graphRng)
        } else if let organisation = scenario.organisation {
            // The multi-account model: the organisation of this seed, placed into accounts,
            // runs its requests as a mesh.
            var orgRng = root.stream("accounts.organisation")
            var placementRng = root.stream("accounts.placement")
            let org = AccountsModel.organisation(organisation, rng: &orgRng)
            let placement = AccountsModel.placement(org, scenario.accounts ?? AccountsSpec(), rng: &placementRng)
            accounts = AccountsState(organisation: org, placement: placement)
            meshGraph = AccountsModel.callGraph(org, placement, organisation, zones: spec.zones)
            meshLatency = organisation.latency
        }
        if let graph = meshGraph {
            if !scenario.meshWorkloads.isEmpty, let worst = graph.callsPerRequest().max(), worst > Self.maxCallsPerRequest {
                throw SimulationError("one request would make \(worst >= Int.max / 2 ? "astronomically many" : "\(worst)") calls through this graph (every call repeats its dependencies' calls; paths, not services, add up); the simulator allows \(Self.maxCallsPerRequest) — use fewer or sparser dependencies (e.g. a layered graph)")
            }
            meshNodes = MeshNodes.nodes(graph, auth: scenario.auth ?? AuthSpec(), zones: spec.zones)
        }
        let allNodes = spec.nodes + meshNodes + [spec.clients]
        let diskConfig = DiskConfig(
            writeLatency: spec.disk.write,
            fsyncLatency: spec.disk.fsync,
            tornWrites: spec.disk.tornWrites,
            corruptionProbability: spec.disk.corruption)
        baseDiskConfig = diskConfig
        let processes = allNodes.enumerated().map { id, node in
            SimProcess(id: id, name: node.name, zone: node.zone, disk: SimDisk(config: diskConfig, rng: root.stream("disk.\(node.name)")))
        }
        cluster = VirtualCluster(
            scenario: scenario, processes: processes,
            network: NetworkModel(nodeCount: allNodes.count, defaultLink: defaultLink, rng: root.stream("network")),
            clusterNodeCount: spec.nodes.count + meshNodes.count, root: root)
        cluster.explaining = options.explain
        stations = try StationModel(scenario, nodeIndex: cluster.nodeIndex, root: root)

        faultRng = root.stream("faults")
        nemesisRng = root.stream("nemesis")
        if let nemesis = scenario.nemesis {
            var swarmRng = root.stream("nemesis.swarm")
            nemesisPlan = NemesisPlan(nemesis, &swarmRng)
        }
        faultUndo = Array(repeating: nil, count: scenario.faults.count)
        if let spec = scenario.broker {
            broker = try BrokerModel(spec, nodes: scenario.cluster.nodes, publishWorkloads: scenario.publishes.count, root: root)
        }
        if let graph = meshGraph {
            mesh = try MeshModel(scenario, graph: graph, latency: meshLatency,
                                 firstNode: spec.nodes.count, nodeCount: allNodes.count, root: root)
        }
        try validateSelectors()
    }

    /// Runs to the scenario's end and reports metrics, checks and the trace hash.
    public mutating func run(trace sink: TraceSink? = nil) -> RunOutcome {
        cluster.traceSink = sink
        if options.injectHashOrderDependence { foldHashOrderDependence() }
        declareSeries()
        scheduleInitialEvents()

        // With a broker, the run continues past `duration` into the liveness phase until the
        // cluster converges or the phase times out.
        let end = broker.map { scenario.duration + $0.livenessTimeout + Nanos.second } ?? scenario.duration
        var processed: UInt64 = 0
        while let next = cluster.queue.nextTime, next <= end, processed < options.maxEvents, !cluster.stopRequested {
            guard let event = cluster.queue.popNext() else { break }
            if event.time >= gauges.nextSample { sampleSeries(upTo: event.time) }
            cluster.now = event.time
            processed += 1
            record(event)
            handle(event.payload)
        }
        if broker == nil || !cluster.stopRequested { cluster.now = end }
        sampleSeries(upTo: cluster.now)
        measureSingleAccountBaseline()
        return finish(events: processed)
    }

    /// The most calls one request may fan out to (a tree of depth 4 and fan-out 8 makes 4,681).
    static let maxCallsPerRequest = 100_000

    /// With accounts placed other than `single`: runs the same seed with every service in one
    /// account and without faults, so the run can report the latency its accounts add (common
    /// random numbers: the same organisation, arrivals and work times).
    mutating func measureSingleAccountBaseline() {
        guard scenario.organisation != nil, let accounts = scenario.accounts, accounts.strategy != .single,
              !scenario.meshWorkloads.isEmpty else { return }
        var single = scenario
        single.accounts?.strategy = .single
        single.faults = []
        single.nemesis = nil
        single.checks = []
        guard var baseline = try? Simulation(scenario: single, seed: seed, options: options) else { return }
        baselineEvents = baseline.run().events
        singleAccountLatency = baseline.cluster.requests.latency
    }

    // MARK: - Scheduling

    mutating func scheduleInitialEvents() {
        stations.start(&cluster)
        for (index, fault) in scenario.faults.enumerated() {
            cluster.schedule(.fault(index: Int32(index)), at: fault.at)
        }
        if let nemesis = scenario.nemesis, let plan = nemesisPlan {
            let strikes = plan.strikeTimes(nemesis, runDuration: scenario.duration)
            for (tick, at) in strikes.enumerated() { cluster.schedule(.nemesisStrike(tick: Int32(tick)), at: at) }
            nemesisUndo = Array(repeating: nil, count: strikes.count)
        }
        broker?.start(&cluster)
        mesh?.start(&cluster)
    }

    // MARK: - The event loop

    /// Routes an event to the model that owns it; the run's own events (faults, the nemesis,
    /// request time-outs, the end of the safety phase) are handled here.
    mutating func handle(_ event: SimEvent) {
        switch event {
        case .station(let event):
            stations.handle(event, &cluster)
        case .broker(let event):
            if case .storageBatchDone(let node, let incarnation) = event,
               broker?.batchFsyncFailed(Int(node), incarnation, &cluster) == true {
                failStop(Int(node))
            } else {
                broker?.handle(event, &cluster)
            }
        case .mesh(let event):
            mesh?.handle(event, &cluster)
        case .timeout(let request):
            if cluster.requests.ledger.outcome(of: request) == .pending {
                cluster.requests.conclude(request, .timedOut, at: cluster.now)
            }
        case .fault(let index):
            applyScheduledFault(Int(index))
        case .undoFault(let index):
            if let undo = faultUndo[Int(index)] {
                faultUndo[Int(index)] = nil
                apply(undo)
                cluster.note("undo", "undo " + scenario.faults[Int(index)].action.described)
            }
            noteHealth()
        case .nemesisStrike(let tick):
            nemesisStrike(Int(tick))
        case .nemesisHeal(let tick):
            if let undo = nemesisUndo[Int(tick)] {
                nemesisUndo[Int(tick)] = nil
                apply(undo)
                cluster.note("heal", "nemesis heal")
            }
            noteHealth()
        case .endSafetyPhase:
            endSafetyPhase()
        }
    }

    /// The scheduled duration of a broker run is over: every fault is healed, then the broker's
    /// liveness phase begins.
    mutating func endSafetyPhase() {
        cluster.note("heal", "end of the safety phase: every fault healed")
        for node in cluster.clusterNodes where cluster.processes[node].state == .crashed { restart(node) }
        resume(cluster.clusterNodes.filter { cluster.processes[$0].state == .paused })
        cluster.network.healPartitions()
        cluster.network.clearAllLinkFaults()
        partitioned = false
        activeLinkFaults = 0
        for station in stations.slowdown.indices { stations.slowdown[station] = 1 }
        for node in cluster.clusterNodes { cluster.processes[node].disk.config = baseDiskConfig }
        noteHealth()
        broker?.beginLivenessPhase(&cluster)
    }

    // MARK: - Trace

    @inline(__always)
    mutating func record(_ event: ScheduledEvent<SimEvent>) {
        let (code, a, b) = event.payload.traceKey
        trace.fold(event: code, time: event.time, a, b)
        if let sink = cluster.traceSink { write(event, a, b, to: sink) }
    }

    /// The event as a line of the trace file. Out of line: its frame (the line's fields) made
    /// every event's hash fold pay a large prologue when it was one function.
    @inline(never)
    mutating func write(_ event: ScheduledEvent<SimEvent>, _ a: UInt64, _ b: UInt64, to sink: TraceSink) {
        var line = TraceLine(time: event.time, sequence: event.sequence, kind: event.payload.name)
        switch event.payload {
        case .station(let e):
            stations.describe(e, into: &line, cluster)
        case .broker(let e):
            broker?.describe(e, into: &line, cluster)
        case .mesh:
            line.add("a", a)
            line.add("b", b)
        case .timeout(let r):
            line.add("request", r)
        case .fault(let i), .undoFault(let i):
            line.add("fault", Int(i))
        case .nemesisStrike(let t), .nemesisHeal(let t):
            line.add("tick", Int(t))
        case .endSafetyPhase:
            break
        }
        sink.write(line: line.json)
    }

    /// A deliberate rule violation for the determinism test: `Set` order is randomised
    /// per process, so folding it in makes two processes disagree.
    mutating func foldHashOrderDependence() {
        let names = Set((0..<32).map { "node-\($0)" })
        for name in names { trace.fold(stableHash(name)) }
    }
}
