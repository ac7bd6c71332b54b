import Scenario
import SimCore
import Stations

/// The station model: open-loop workloads send requests over the network to service stations
/// (servers and a queue) placed on cluster nodes; a station's work dies with its process.
struct StationModel {
    var stations: [Station] = []
    var stationNode: [NodeID] = []
    var stationService: [Distribution] = []
    /// Service-time factor per station (`slowdown:` faults).
    var slowdown: [Double] = []
    var stationIndex: [String: Int] = [:]  // lookups only
    // Per-workload facts resolved once, so the hot path does no string hashing or comparison
    // and copies no scenario structs.
    var workloadStation: [Int] = []
    var workloadArrivals: [ArrivalProcess] = []
    var workloadTimeout: [VirtualTime?] = []
    var workloadRequestBytes: [Int] = []
    var workloadResponseBytes: [Int] = []
    var workloadStop: [VirtualTime] = []
    /// When each workload's arrivals begin: a ramp's rate depends on the time since then.
    var workloadStart: [VirtualTime] = []
    // One named random stream per component, so adding one doesn't perturb the others.
    var arrivalRngs: [SeededGenerator] = []
    var serviceRngs: [SeededGenerator] = []
    var deliveredToStations: UInt64 = 0
    var droppedAtDeadProcess: UInt64 = 0

    init(_ scenario: Scenario, nodeIndex: [String: NodeID], root: SeededGenerator) throws {
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
    }

    /// Every workload's first arrival.
    mutating func start(_ cluster: inout VirtualCluster) {
        for index in workloadArrivals.indices {
            let first = workloadStart[index] + workloadArrivals[index].interarrival(elapsed: 0, &arrivalRngs[index])
            cluster.schedule(.arrival(workload: Int32(index)), at: first)
        }
    }

    mutating func handle(_ event: StationEvent, _ cluster: inout VirtualCluster) {
        switch event {
        case .arrival(let workload):
            clientSends(workload: Int(workload), &cluster)
        case .requestArrives(request: let request, station: let station):
            requestArrives(station: Int(station), request: request, event: event, &cluster)
        case .responseArrives(request: let request, from: let from, answer: let answer):
            responseArrives(from: NodeID(from), request: request, answer: answer, &cluster)
        case .serviceDone(let station, let server, let incarnation):
            serviceDone(station: Int(station), server: Int(server), incarnation: incarnation, event: event, &cluster)
        }
    }

    mutating func clientSends(workload index: Int, _ cluster: inout VirtualCluster) {
        let now = cluster.now
        let id = cluster.requests.open(workload: index, at: now)
        let station = workloadStation[index]
        if let timeout = workloadTimeout[index] {
            cluster.schedule(.timeout(request: id), after: timeout)
        }
        cluster.send(from: cluster.clientNode, to: stationNode[station], bytes: workloadRequestBytes[index],
                     .requestArrives(request: id, station: Int32(station)))

        let next = now + workloadArrivals[index].interarrival(elapsed: now - workloadStart[index], &arrivalRngs[index])
        if next < workloadStop[index] {
            cluster.schedule(.arrival(workload: Int32(index)), at: next)
        }
    }

    mutating func requestArrives(station: Int, request: UInt64, event: StationEvent, _ cluster: inout VirtualCluster) {
        let node = stationNode[station]
        guard cluster.isRunning(node, else: .station(event)) else {
            if cluster.processes[node].state == .crashed { droppedAtDeadProcess += 1 }
            return
        }
        // A partition that began while the message was in flight drops it on arrival.
        guard cluster.network.admitArrival(from: cluster.clientNode, to: node) else { return }
        deliveredToStations += 1
        switch stations[station].arrive(request, at: cluster.now) {
        case .serve(let request, let server):
            startService(station: station, server: server, request: request, &cluster)
        case .queued:
            break
        case .reject(let request):
            // Sized first: reading the cluster inside `send`'s arguments would copy it.
            let bytes = responseBytes(of: request, &cluster)
            cluster.send(from: node, to: cluster.clientNode, bytes: bytes,
                         .responseArrives(request: request, from: Int32(node), answer: .rejected))
        }
    }

    /// `inout` only so that the cluster is not copied per request (a memcpy and retains).
    func responseBytes(of request: UInt64, _ cluster: inout VirtualCluster) -> Int {
        workloadResponseBytes[Int(cluster.requests.workload[Int(request)])]
    }

    mutating func startService(station: Int, server: Int, request: UInt64, _ cluster: inout VirtualCluster) {
        let base = stationService[station].sampleNanos(&serviceRngs[station])
        let duration = slowdown[station] == 1 ? base : Int64((Double(base) * slowdown[station]).rounded())
        let node = stationNode[station]
        cluster.schedule(
            .serviceDone(station: Int32(station), server: Int32(server), incarnation: cluster.processes[node].incarnation),
            at: cluster.now + duration)
    }

    mutating func serviceDone(station: Int, server: Int, incarnation: UInt32, event: StationEvent, _ cluster: inout VirtualCluster) {
        let node = stationNode[station]
        // Lost in a crash (an older incarnation's work), held while paused.
        guard cluster.processes[node].incarnation == incarnation, cluster.isRunning(node, else: .station(event)) else { return }
        let (done, next) = stations[station].finish(server: server, at: cluster.now)
        let bytes = responseBytes(of: done, &cluster)
        cluster.send(from: node, to: cluster.clientNode, bytes: bytes,
                     .responseArrives(request: done, from: Int32(node), answer: .ok))
        if let next { startService(station: station, server: server, request: next, &cluster) }
    }

    mutating func responseArrives(from: NodeID, request: UInt64, answer: StationEvent.Answer, _ cluster: inout VirtualCluster) {
        guard cluster.network.admitArrival(from: from, to: cluster.clientNode) else { return }
        guard cluster.requests.ledger.outcome(of: request) == .pending else {
            cluster.requests.ledger.lateOrDuplicateAnswer()
            return
        }
        switch answer {
        case .ok:
            cluster.requests.recordLatency(of: request, at: cluster.now)
            cluster.requests.conclude(request, .succeeded, at: cluster.now)
        case .rejected:
            cluster.requests.conclude(request, .rejected, at: cluster.now)
        }
    }

    /// A station's process crashed: its queue and work in progress die with it.
    mutating func crashed(_ node: NodeID, at now: VirtualTime) {
        for station in stations.indices where stationNode[station] == node {
            stations[station].crash(at: now)
        }
    }

    /// Trace fields of a station event.
    func describe(_ event: StationEvent, into line: inout TraceLine, _ cluster: VirtualCluster) {
        switch event {
        case .arrival(let w):
            line.add("workload", Int(w))
        case .requestArrives(request: let r, station: let s):
            line.add("station", cluster.scenario.stations[Int(s)].name)
            line.add("request", r)
        case .responseArrives(request: let r, from: let f, answer: let answer):
            line.add("from", cluster.processes[Int(f)].name)
            line.add("request", r)
            line.add("answer", answer == .ok ? "ok" : "rejected")
        case .serviceDone(let s, let server, let inc):
            line.add("station", cluster.scenario.stations[Int(s)].name)
            line.add("server", Int(server))
            line.add("incarnation", Int(inc))
        }
    }
}
