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

    // The world.
    var processes: [SimProcess] = []
    var network: SimNetwork
    let clientNode: NodeID
    public let clusterNodes: [NodeID]
    var nodeIndex: [String: NodeID] = [:]   // lookups only, never iterated
    var stations: [Station] = []
    var stationNode: [NodeID] = []
    var stationService: [Distribution] = []
    var slowdown: [Double] = []
    var stationIndex: [String: Int] = [:]  // lookups only
    // Per-workload and per-node facts resolved once, so the hot path does no string
    // hashing or comparison and copies no scenario structs.
    var workloadStation: [Int] = []
    var workloadArrivals: [ArrivalProcess] = []
    var workloadTimeout: [VirtualTime?] = []
    var workloadRequestBytes: [Int] = []
    var workloadResponseBytes: [Int] = []
    var workloadStop: [VirtualTime] = []
    /// When each workload's arrivals begin: a ramp's rate depends on the time since then.
    var workloadStart: [VirtualTime] = []
    var nodeZone: [Int] = []
    var crossZoneExtra: Distribution?

    // Randomness: one named stream per component, so adding one doesn't perturb the others.
    var arrivalRngs: [SeededGenerator] = []
    var serviceRngs: [SeededGenerator] = []
    var crossZoneRng: SeededGenerator
    var faultRng: SeededGenerator
    var nemesisRng: SeededGenerator

    // The agenda and the trace.
    var queue = EventQueue<SimEvent>(capacity: 4096)
    var now: VirtualTime = 0
    var trace = TraceHasher()
    var traceSink: TraceSink?

    // Clients' view of requests, indexed by request id (ids are dense).
    var requestStart: [VirtualTime] = []
    var requestWorkload: [Int32] = []
    var ledger = RequestLedger()
    var liveness: LivenessAfterHeal
    var deliveredToStations: UInt64 = 0
    var droppedAtDeadProcess: UInt64 = 0
    var latency = LatencyHistogram()
    var latencySum: Double = 0
    var latencyCount: UInt64 = 0
    let warmup: VirtualTime

    // Fault bookkeeping.
    var heldWhilePaused: [[SimEvent]]
    var faultUndo: [SimFaultUndo?]
    var nemesisUndo: [SimFaultUndo?] = []
    var nemesisPlan: NemesisPlan?
    var activeLinkFaults = 0
    var partitioned = false

    // The replicated-log model, when the scenario has a `broker:` section.
    var brokerBox: BrokerBox?
    var publishRngs: [SeededGenerator] = []
    var baseDiskConfig: DiskConfig
    /// The OAuth fan-out model, when the scenario has a `services:` (or `organisation:`) section.
    var meshWorld: MeshWorld?
    /// The multi-account model, when the scenario has an `organisation:` section.
    var accountsState: AccountsState?
    /// With a placement other than `single`: the same seed's request latency with every
    /// service in one account, so that the run can report the latency accounts add.
    var singleAccountLatency: LatencyHistogram?
    /// Set when the liveness phase saw the cluster converge: nothing left to check.
    var stopAfterConvergence = false

    public init(scenario: Scenario, seed: UInt64, options: SimulationOptions = .init()) throws {
        self.scenario = scenario
        self.seed = seed
        if !scenario.publishes.isEmpty && scenario.broker == nil {
            throw SimulationError("publish workloads need a broker: section")
        }
        self.options = options
        warmup = scenario.warmup
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
            accountsState = AccountsState(organisation: org, placement: placement)
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
        network = SimNetwork(nodeCount: allNodes.count, defaultLink: defaultLink, rng: root.stream("network"))
        let diskConfig = DiskConfig(
            writeLatency: spec.disk.write,
            fsyncLatency: spec.disk.fsync,
            tornWrites: spec.disk.tornWrites,
            corruptionProbability: spec.disk.corruption)
        baseDiskConfig = diskConfig
        for (id, node) in allNodes.enumerated() {
            let disk = SimDisk(config: diskConfig, rng: root.stream("disk.\(node.name)"))
            processes.append(SimProcess(id: id, name: node.name, zone: node.zone, disk: disk))
            nodeIndex[node.name] = id
        }
        clientNode = allNodes.count - 1
        clusterNodes = Array(0..<(spec.nodes.count + meshNodes.count))
        heldWhilePaused = Array(repeating: [], count: allNodes.count)

        for (index, station) in scenario.stations.enumerated() {
            guard let node = nodeIndex[station.node] else {
                throw SimulationError("station \(station.name) is placed on unknown node \(station.node)")
            }
            stationIndex[station.name] = index
            stations.append(Station(.init(servers: station.servers, queueLimit: station.queueLimit)))
            stationNode.append(node)
            stationService.append(station.service)
            slowdown.append(1)
            serviceRngs.append(root.stream("station.\(station.name)"))
        }
        for (index, workload) in scenario.workload.enumerated() {
            guard let station = stationIndex[workload.station] else {
                throw SimulationError("workload \(index) targets unknown station \(workload.station)")
            }
            arrivalRngs.append(root.stream("workload.\(index)"))
            workloadStation.append(station)
            workloadArrivals.append(workload.arrivals)
            workloadTimeout.append(workload.timeout)
            workloadRequestBytes.append(workload.requestBytes)
            workloadResponseBytes.append(workload.responseBytes)
            workloadStop.append(min(workload.stop ?? scenario.duration, scenario.duration))
            workloadStart.append(workload.start)
        }
        let zones = allNodes.map(\.zone)
        nodeZone = zones.map { zone in zones.firstIndex(of: zone)! }
        crossZoneExtra = spec.network.crossZoneExtra
        crossZoneRng = root.stream("network.cross-zone")
        faultRng = root.stream("faults")
        nemesisRng = root.stream("nemesis")
        if let nemesis = scenario.nemesis {
            var swarmRng = root.stream("nemesis.swarm")
            nemesisPlan = NemesisPlan(nemesis, &swarmRng)
        }
        faultUndo = Array(repeating: nil, count: scenario.faults.count)
        if let broker = scenario.broker {
            brokerBox = BrokerBox(try Self.makeBrokerWorld(broker, nodes: spec.nodes, root: root.stream("broker")))
            publishRngs = scenario.publishes.indices.map { root.stream("publish.\($0)") }
        }
        if let graph = meshGraph {
            meshWorld = try Self.makeMeshWorld(scenario, graph: graph, latency: meshLatency,
                                               firstNode: spec.nodes.count, nodeCount: allNodes.count, root: root)
            meshWorld?.healthChecks = (scenario.mesh?.defaults ?? scenario.organisation?.defaults)?.healthChecks ?? false
        }
        let longestTimeout = (scenario.workload.compactMap(\.timeout) + scenario.meshWorkloads.compactMap(\.timeout)).max() ?? 0
        liveness = LivenessAfterHeal(grace: max(Nanos.second, longestTimeout))

        try validateSelectors()
    }

    /// Runs to the scenario's end and reports metrics, checks and the trace hash.
    public mutating func run(trace sink: TraceSink? = nil) -> RunOutcome {
        traceSink = sink
        if options.injectHashOrderDependence { foldHashOrderDependence() }
        scheduleInitialEvents()

        // With a broker, the run continues past `duration` into the liveness phase until the
        // cluster converges or the phase times out.
        let end = brokerBox == nil ? scenario.duration : scenario.duration + livenessTimeout + Nanos.second
        var processed: UInt64 = 0
        while let next = queue.nextTime, next <= end, processed < options.maxEvents, !stopAfterConvergence {
            guard let event = queue.popNext() else { break }
            now = event.time
            processed += 1
            record(event)
            handle(event.payload)
        }
        if brokerBox == nil || !stopAfterConvergence { now = end }
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
        _ = baseline.run()
        singleAccountLatency = baseline.latency
    }

    // MARK: - Scheduling

    mutating func scheduleInitialEvents() {
        for (index, workload) in scenario.workload.enumerated() {
            var rng = arrivalRngs[index]
            let first = workload.start + Self.interarrival(workload.arrivals, elapsed: 0, &rng)
            arrivalRngs[index] = rng
            queue.schedule(.arrival(workload: Int32(index)), at: first)
        }
        for (index, fault) in scenario.faults.enumerated() {
            queue.schedule(.fault(index: Int32(index)), at: fault.at)
        }
        if let nemesis = scenario.nemesis, let plan = nemesisPlan {
            var tick: Int32 = 0
            var at = nemesis.start
            let stop = min(nemesis.stop ?? scenario.duration, scenario.duration)
            while at < stop {
                queue.schedule(.nemesisStrike(tick: tick), at: at)
                tick += 1
                at += plan.interval
            }
            nemesisUndo = Array(repeating: nil, count: Int(tick))
        }
        scheduleBrokerStart()
        scheduleMeshStart()
    }

    /// Static on purpose: calling a method of `self` from a mutating context made Swift copy
    /// the whole simulation per request (measured: 2× slower station model).
    /// `elapsed`: time since the workload's start (a ramp's rate depends on it). The math is
    /// `ArrivalProcess.interarrival(elapsed:_:)`, shared with the live load driver.
    static func interarrival(_ process: ArrivalProcess, elapsed: VirtualTime, _ rng: inout SeededGenerator) -> VirtualTime {
        process.interarrival(elapsed: elapsed, &rng)
    }

    // MARK: - The event loop

    mutating func handle(_ event: SimEvent) {
        switch event {
        case .arrival(let workload):
            clientSends(workload: Int(workload))
        case .requestArrives(let station, let request):
            requestArrives(station: Int(station), request: request, event: event)
        case .responseArrives(let from, let request, let answer):
            responseArrives(from: NodeID(from), request: request, answer: answer)
        case .serviceDone(let station, let server, let incarnation):
            serviceDone(station: Int(station), server: Int(server), incarnation: incarnation, event: event)
        case .timeout(let request):
            if ledger.outcome(of: request) == .pending { conclude(request, .timedOut) }
        case .fault(let index):
            applyScheduledFault(Int(index))
        case .undoFault(let index):
            if let undo = faultUndo[Int(index)] {
                faultUndo[Int(index)] = nil
                apply(undo)
            }
            noteHealth()
        case .nemesisStrike(let tick):
            nemesisStrike(Int(tick))
        case .nemesisHeal(let tick):
            if let undo = nemesisUndo[Int(tick)] {
                nemesisUndo[Int(tick)] = nil
                apply(undo)
            }
            noteHealth()
        case .meshArrival, .meshCallArrives, .meshWorkDone, .meshReply, .meshCallTimeout, .meshTokeninfoSend,
             .meshTokeninfoArrives, .meshTokeninfoDone, .meshTokeninfoReply, .meshTokeninfoTimeout, .meshKeysRequest,
             .meshKeysReply, .meshKeysTimeout, .meshValidatorTick, .meshTokenRefresh, .meshTokenRequest, .meshTokenIssued,
             .meshRevoke:
            handleMesh(event)
        default:
            handleBroker(event)
        }
    }

    mutating func clientSends(workload index: Int) {
        let id = UInt64(requestStart.count)
        let station = workloadStation[index]
        requestStart.append(now)
        requestWorkload.append(Int32(index))
        ledger.sent(id, at: now)
        liveness.started(id, at: now)
        if let timeout = workloadTimeout[index] {
            queue.schedule(.timeout(request: id), at: now + timeout)
        }
        send(from: clientNode, to: stationNode[station], bytes: workloadRequestBytes[index],
             .requestArrives(station: Int32(station), request: id))

        var rng = arrivalRngs[index]
        let next = now + Self.interarrival(workloadArrivals[index], elapsed: now - workloadStart[index], &rng)
        arrivalRngs[index] = rng
        if next < workloadStop[index] {
            queue.schedule(.arrival(workload: Int32(index)), at: next)
        }
    }

    /// Puts a message on the simulated network: zero, one or two deliveries.
    mutating func send(from: NodeID, to: NodeID, bytes: Int, _ delivery: SimEvent) {
        let transmission = network.transmit(from: from, to: to, bytes: bytes, now: now)
        var extra: VirtualTime = 0
        if let crossZone = crossZoneExtra, nodeZone[from] != nodeZone[to] {
            extra = crossZone.sampleNanos(&crossZoneRng)
        }
        if let first = transmission.first { queue.schedule(delivery, at: first + extra) }
        if let second = transmission.second { queue.schedule(delivery, at: second + extra) }
    }

    mutating func requestArrives(station: Int, request: UInt64, event: SimEvent) {
        let node = stationNode[station]
        switch processes[node].state {
        case .crashed:
            droppedAtDeadProcess += 1
            return
        case .paused:
            heldWhilePaused[node].append(event)
            return
        case .running:
            break
        }
        // A partition that began while the message was in flight drops it on arrival.
        guard network.admitArrival(from: clientNode, to: node) else { return }
        deliveredToStations += 1
        switch stations[station].arrive(request, at: now) {
        case .serve(let request, let server):
            startService(station: station, server: server, request: request)
        case .queued:
            break
        case .reject(let request):
            send(from: node, to: clientNode, bytes: workloadResponseBytes[Int(requestWorkload[Int(request)])],
                 .responseArrives(from: Int32(node), request: request, answer: .rejected))
        }
    }

    mutating func startService(station: Int, server: Int, request: UInt64) {
        var rng = serviceRngs[station]
        let base = stationService[station].sampleNanos(&rng)
        serviceRngs[station] = rng
        let duration = slowdown[station] == 1 ? base : Int64((Double(base) * slowdown[station]).rounded())
        let node = stationNode[station]
        queue.schedule(
            .serviceDone(station: Int32(station), server: Int32(server), incarnation: processes[node].incarnation),
            at: now + duration)
    }

    mutating func serviceDone(station: Int, server: Int, incarnation: UInt32, event: SimEvent) {
        let node = stationNode[station]
        let state = processes[node].state
        guard processes[node].incarnation == incarnation, state != .crashed else { return }  // lost in a crash
        if state == .paused {
            heldWhilePaused[node].append(event)
            return
        }
        let (done, next) = stations[station].finish(server: server, at: now)
        send(from: node, to: clientNode, bytes: workloadResponseBytes[Int(requestWorkload[Int(done)])],
             .responseArrives(from: Int32(node), request: done, answer: .ok))
        if let next { startService(station: station, server: server, request: next) }
    }


    mutating func responseArrives(from: NodeID, request: UInt64, answer: SimEvent.Answer) {
        guard network.admitArrival(from: from, to: clientNode) else { return }
        guard ledger.outcome(of: request) == .pending else {
            ledger.lateOrDuplicateAnswer()
            return
        }
        switch answer {
        case .ok:
            recordLatency(of: request)
            conclude(request, .succeeded)
        case .rejected:
            conclude(request, .rejected)
        }
    }

    /// Records a successful request's latency, measured from its intended start (open loop),
    /// when it started after the warm-up; returns it then.
    @discardableResult
    mutating func recordLatency(of request: UInt64) -> Int64? {
        let start = requestStart[Int(request)]
        guard start >= warmup else { return nil }
        let elapsed = now - start
        latency.record(elapsed)
        latencySum += Double(elapsed)
        latencyCount += 1
        return elapsed
    }

    mutating func conclude(_ request: UInt64, _ outcome: RequestOutcome) {
        ledger.finished(request, outcome, at: now)
        liveness.finished(request, outcome, at: now)
    }

    // MARK: - Trace

    mutating func record(_ event: ScheduledEvent<SimEvent>) {
        let (a, b) = event.payload.words
        trace.fold(event: event.payload.code, time: event.time, a, b)
        guard let sink = traceSink else { return }
        var line = TraceLine(time: event.time, sequence: event.sequence, kind: event.payload.name)
        switch event.payload {
        case .arrival(let w):
            line.add("workload", Int(w))
        case .requestArrives(let s, let r):
            line.add("station", scenario.stations[Int(s)].name)
            line.add("request", r)
        case .responseArrives(let f, let r, let answer):
            line.add("from", processes[Int(f)].name)
            line.add("request", r)
            line.add("answer", answer == .ok ? "ok" : "rejected")
        case .serviceDone(let s, let server, let inc):
            line.add("station", scenario.stations[Int(s)].name)
            line.add("server", Int(server))
            line.add("incarnation", Int(inc))
        case .timeout(let r):
            line.add("request", r)
        case .fault(let i), .undoFault(let i):
            line.add("fault", Int(i))
        case .nemesisStrike(let t), .nemesisHeal(let t):
            line.add("tick", Int(t))
        case .brokerMail(let slot):
            if let mail = brokerBox?.world.mail[Int(slot)] {
                line.add("from", processes[mail.from].name)
                line.add("to", processes[mail.to].name)
                line.add("message", mail.body.kindName)
            }
        case .raftTick(let n, let i), .raftPersisted(let n, let i), .replicaTick(let n, let i):
            line.add("node", processes[Int(n)].name)
            line.add("incarnation", Int(i))
        case .logAppended(let n, _, let s, let upTo), .logSynced(let n, _, let s, let upTo):
            line.add("node", processes[Int(n)].name)
            line.add("stream", brokerBox?.world.streamNames[Int(s)] ?? "")
            line.add("up_to", upTo)
        case .checkpointSynced(let n, _, let ticket):
            line.add("node", processes[Int(n)].name)
            line.add("ticket", ticket)
        case .publish(let w):
            line.add("workload", Int(w))
        case .publishTimeout(let r, let a):
            line.add("request", r)
            line.add("attempt", Int(a & 0x7FFF_FFFF))
        case .adminTick, .endSafetyPhase, .livenessCheck:
            break
        case .consumePoll(let c):
            line.add("consumer", Int(c))
        default:
            let (a, b) = event.payload.words
            line.add("a", a)
            line.add("b", b)
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
