import ArrayClearing
import Auth
import Mesh
import Scenario
import SimCore
import Stations

/// Drives the OAuth fan-out model: requests enter the call graph at its entry service; every
/// hop validates the bearer token through its `HopValidator` (the sans-IO core the live
/// services run too), does its work on one of its threads, calls its children stage by stage,
/// and answers. Central validation calls the tokeninfo cluster; local validation fetches the
/// JWKS and revocation list from the JWKS endpoint. Every message crosses the simulated network.
extension MeshModel {
    /// How long a JWKS or revocation-list fetch waits for an answer.
    static let keyFetchTimeout: Int64 = Nanos.second

    // MARK: - Start

    mutating func start(_ cluster: inout VirtualCluster) {
        for index in world.workloadArrivals.indices {
            let first = cluster.scenario.meshWorkloads[index].start + world.workloadArrivals[index].interarrival(elapsed: 0, &world.arrivalRngs[index])
            if first < world.workloadStop[index] { cluster.schedule(.clientArrival(workload: Int32(index)), at: first) }
        }
        for replica in world.replicaNode.indices { startValidator(replica, &cluster) }
        for client in world.refreshers.indices { scheduleRefresh(client, &cluster) }
        if world.auth.revocationsPerSecond > 0 {
            let first = nextRevocation(&cluster)
            cluster.schedule(.revoke, at: first)
        }
    }

    mutating func nextRevocation(_ cluster: inout VirtualCluster) -> VirtualTime {
        cluster.now + max(1, Distribution.exponential(mean: 1e9 / world.auth.revocationsPerSecond).sampleNanos(&world.revocationRng))
    }

    mutating func startValidator(_ replica: Int, _ cluster: inout VirtualCluster) {
        var effects = world.validators[replica].start(now: cluster.now)
        applyHopEffects(replica, &effects, &cluster)
        armValidatorTimer(replica, &cluster)
    }

    // MARK: - Event dispatch

    // Always inlined into the run's dispatch: as a call, one more prologue per event (the
    // central run of central-vs-local 1,497 M -> 1,480 M instructions inlined).
    @inline(__always)
    mutating func handle(_ event: MeshEvent, _ cluster: inout VirtualCluster) {
        switch event {
        case .clientArrival(let w): meshArrival(Int(w), &cluster)
        case .callArrives(let c): callArrives(Int(c), event, &cluster)
        case .workDone(let r, let server, let inc): workDone(Int(r), Int(server), inc, event, &cluster)
        case .reply(let c): replyArrives(Int(c), event, &cluster)
        case .callTimeout(let c): callTimedOut(Int(c), event, &cluster)
        case .tokeninfoSend(let t): sendTokeninfo(Int(t), event, &cluster)
        case .tokeninfoArrives(let t): tokeninfoArrives(Int(t), event, &cluster)
        case .tokeninfoDone(let k, let server, let inc): tokeninfoDone(Int(k), Int(server), inc, event, &cluster)
        case .tokeninfoReply(let t): tokeninfoAnswered(Int(t), event, timedOut: false, &cluster)
        case .tokeninfoTimeout(let t): tokeninfoAnswered(Int(t), event, timedOut: true, &cluster)
        case .keysRequest(let r, let kind, let seq): keysRequested(Int(r), Int(kind), seq, event, &cluster)
        case .keysReply(let r, let kind, let seq): keysAnswered(Int(r), Int(kind), seq, event, timedOut: false, &cluster)
        case .keysTimeout(let r, let kind, let seq): keysAnswered(Int(r), Int(kind), seq, event, timedOut: true, &cluster)
        case .validatorTick(let r): validatorTick(Int(r), event, &cluster)
        case .tokenRefresh(let c): refreshToken(Int(c), &cluster)
        case .tokenRequest(let c): tokenRequested(Int(c), event, &cluster)
        case .tokenIssued(let c, let t): tokenIssued(Int(c), Int32(t), event, &cluster)
        case .revoke: revokeOne(&cluster)
        }
    }

    /// Whether a message from `from` is delivered to `to` now: dropped when `to` is down or a
    /// partition began while it was in flight, held until `to` resumes when paused.
    mutating func meshDelivered(from: NodeID, to: NodeID, _ event: MeshEvent, _ cluster: inout VirtualCluster) -> Bool {
        cluster.isRunning(to, else: .mesh(event)) && cluster.network.admitArrival(from: from, to: to)
    }

    /// Puts a mesh message on the network; the one-way latency comes from where sender and
    /// receiver sit (same host, zone, account, region).
    mutating func meshSend(from: NodeID, to: NodeID, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let transmission = cluster.network.transmit(from: from, to: to, bytes: 0, now: cluster.now)
        guard let first = transmission.first else { return }
        let latency = placementLatency(from, to, &cluster)
        cluster.schedule(event, at: first + latency)
        if let second = transmission.second { cluster.schedule(event, at: second + latency) }
    }

    // `inout` although it only reads the cluster: passed by value, the whole `VirtualCluster` was
    // copied (memcpy and a retain per array) at every call — once per message of a fan-out run.
    mutating func placementLatency(_ from: NodeID, _ to: NodeID, _ cluster: inout VirtualCluster) -> Int64 {
        // Sampled where the distributions are stored: copying the spec (six distributions) and
        // the chosen one retained and released their payloads per call (2.6% of a fan-out run).
        let nanos: Int64
        if world.hasClientLatency, from == cluster.clientNode || to == cluster.clientNode {
            nanos = world.latency.client!.sampleNanos(&world.latencyRng)
        } else if from == to {
            nanos = world.latency.sameHost.sampleNanos(&world.latencyRng)
        } else if world.nodeRegionID[from] != world.nodeRegionID[to] {
            nanos = world.latency.crossRegion.sampleNanos(&world.latencyRng)
        } else if world.nodeAccountID[from] != world.nodeAccountID[to] {
            nanos = world.latency.crossAccount.sampleNanos(&world.latencyRng)
        } else if cluster.nodeZone[from] != cluster.nodeZone[to] {
            nanos = world.latency.crossZone.sampleNanos(&world.latencyRng)
        } else {
            nanos = world.latency.sameZone.sampleNanos(&world.latencyRng)
        }
        return max(0, nanos)
    }

    // MARK: - Requests from the client

    mutating func meshArrival(_ w: Int, _ cluster: inout VirtualCluster) {
        let request = cluster.requests.open(workload: w, at: cluster.now)
        if let timeout = world.workloadTimeout[w] { cluster.schedule(.timeout(request: request), after: timeout) }

        let client = Int(request % UInt64(world.refreshers.count))
        var token = world.clientToken[client]
        var owner = Int32(client)
        if world.auth.forgedFraction > 0 && world.clientRng.chance(world.auth.forgedFraction) {
            token = world.forgedPool[world.clientRng.index(below: world.forgedPool.count)]
            owner = -1
        }
        // Indexed by request id; station requests of a mixed scenario hold -2.
        while world.requestClient.count < Int(request) { world.requestClient.append(-2) }
        world.requestClient.append(owner)

        var entry = world.workloadEntry[w]
        if entry < 0 {
            let u = world.entryRng.nextUnit() * (world.entryWeights.last?.cumulative ?? 1)
            entry = (world.entryWeights.first { u < $0.cumulative } ?? world.entryWeights[world.entryWeights.count - 1]).service
        }
        let call = newCall(request: request, parent: -1, service: entry, token: token, caller: cluster.clientNode,
                           edge: 0, attempt: 0, &cluster)
        meshSend(from: cluster.clientNode, to: world.replicaNode[Int(world.calls[call].replica)], .callArrives(call: UInt64(call)), &cluster)

        let next = cluster.now + world.workloadArrivals[w].interarrival(elapsed: cluster.now - cluster.scenario.meshWorkloads[w].start, &world.arrivalRngs[w])
        if next < world.workloadStop[w] { cluster.schedule(.clientArrival(workload: Int32(w)), at: next) }
    }

    /// Records a new call attempt to a replica of `service`, chosen by the shared call rules
    /// (`CallRules.replica`: round-robin per service, retries on the next replica, health checks).
    mutating func newCall(request: UInt64, parent: Int64, service: Int, token: Int32, caller: NodeID,
                          edge: Int16, attempt: Int32, avoiding failed: Int32? = nil, _ cluster: inout VirtualCluster) -> Int {
        let replicas = world.replicas(of: service)
        let replica = replicas.lowerBound + CallRules.replica(
            count: replicas.count, turn: world.roundRobin[service], retryAfter: failed.map { Int($0) - replicas.lowerBound },
            healthChecks: world.healthChecks, isUp: { cluster.processes[world.replicaNode[replicas.lowerBound + $0]].state != .crashed })
        if failed == nil { world.roundRobin[service] &+= 1 }
        world.calls.append(MeshCall(request: request, parent: parent, replica: Int32(replica), service: Int32(service),
                                token: token, callerIncarnation: cluster.processes[caller].incarnation, edge: edge, attempt: attempt,
                                sentAt: cluster.now))
        world.serviceCalls += 1
        let callee = world.replicaNode[replica]
        if cluster.nodeZone[caller] != cluster.nodeZone[callee] { world.crossZoneCalls += 1 }
        if caller != cluster.clientNode && world.nodeAccountID[caller] != world.nodeAccountID[callee] { world.crossAccountCalls += 1 }
        return world.calls.count - 1
    }

    func callerNode(ofCall c: Int, client: NodeID) -> NodeID {
        let parent = peek(c) { $0.parent }
        return parent < 0 ? client : world.replicaNode[Int(peek(Int(parent)) { $0.replica })]
    }

    /// Reads a call record in place. `world.calls[c].field` outside a mutation copies the whole
    /// `MeshCall` (its hop, stages and token: a 256-byte memcpy and a dozen retains) to read one
    /// field — 10% of a fan-out run under callgrind; the buffer's element is read where it is.
    @inline(__always)
    func peek<T>(_ c: Int, _ read: (borrowing MeshCall) -> T) -> T {
        world.calls.withUnsafeBufferPointer { read($0[c]) }
    }

    // MARK: - A hop: validate, work, call children, answer

    mutating func callArrives(_ c: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let replica = Int(peek(c) { $0.replica })
        let node = world.replicaNode[replica]
        let caller = callerNode(ofCall: c, client: cluster.clientNode)
        guard meshDelivered(from: caller, to: node, event, &cluster), world.calls[c].arrivedAt == 0 else { return }
        world.calls[c].arrivedAt = cluster.now
        world.calls[c].calleeIncarnation = cluster.processes[node].incarnation
        stepValidator(replica, .validate(request: UInt64(c), token: world.tokens[Int(world.calls[c].token)]), &cluster)
    }

    mutating func stepValidator(_ replica: Int, _ input: HopInput, _ cluster: inout VirtualCluster) {
        // Timers run on virtual (monotonic) time; token expiry is judged by the node's own,
        // possibly skewed, wall clock.
        // Into the world's spare buffer (taken out while in use: applying the effects may step
        // another validator, which then works in a buffer of its own).
        var effects = world.spareHopEffects.take() ?? []
        world.validators[replica].step(input, now: cluster.now, wallClock: cluster.localNow(world.replicaNode[replica]), into: &effects)
        applyHopEffects(replica, &effects, &cluster)
        // Emptied here, destroying the placeholders the hop effects left (see `clearKeepingCapacity`).
        effects.clearKeepingCapacity()
        world.spareHopEffects = effects
        armValidatorTimer(replica, &cluster)
    }

    /// Carries out `effects` in order, each moved out of the buffer (a payload-free placeholder
    /// left behind): copied, each was retained and released, and the buffer's emptying then
    /// destroyed claims and tokens through the generic value witness (2% of a fan-out run).
    mutating func applyHopEffects(_ replica: Int, _ effects: inout [HopEffect], _ cluster: inout VirtualCluster) {
        for index in effects.indices {
            var effect = HopEffect.fetchJWKS
            swap(&effect, &effects[index])
            switch consume effect {
            case .callTokeninfo(let call, let attempt, _, let after):
                let node = world.replicaNode[replica]
                world.tokeninfoCalls.append(TokeninfoCall(replica: Int32(replica), call: call, attempt: Int32(attempt),
                                                      token: world.calls[Int(call)].token, incarnation: cluster.processes[node].incarnation))
                let ti = UInt64(world.tokeninfoCalls.count - 1)
                if after > 0 {
                    cluster.schedule(.tokeninfoSend(ti: ti), at: cluster.now + after)
                } else {
                    sendTokeninfo(Int(ti), nil, &cluster)
                }
            case .decided(let call, let decision, let verifiedLocally, let cacheHit):
                decided(Int(call), decision, verifiedLocally: verifiedLocally, cacheHit: cacheHit, &cluster)
            case .fetchJWKS:
                fetchKeys(replica, kind: 0, &cluster)
            case .fetchRevocations:
                fetchKeys(replica, kind: 1, &cluster)
            }
        }
    }

    /// Keeps one tick event scheduled at the validator's next timer.
    mutating func armValidatorTimer(_ replica: Int, _ cluster: inout VirtualCluster) {
        // Through the buffer: Array's subscript would copy the whole validator (caches, parked
        // requests) for this one read — 3% of a fan-out run.
        guard let next = world.validators.withUnsafeBufferPointer({ $0[replica].nextTimer }) else { return }
        let at = max(cluster.now, next)
        if let scheduled = world.validatorTickAt[replica], scheduled <= at { return }
        world.validatorTickAt[replica] = at
        cluster.schedule(.validatorTick(replica: Int32(replica)), at: at)
    }

    mutating func validatorTick(_ replica: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        guard cluster.isRunning(world.replicaNode[replica], else: .mesh(event)) else { return }
        // Superseded ticks find a later (or no) tracked time and do nothing; a tick held
        // through a pause is delivered late and still counts.
        guard let scheduled = world.validatorTickAt[replica], scheduled <= cluster.now else { return }
        world.validatorTickAt[replica] = nil
        stepValidator(replica, .tick, &cluster)
    }

    /// The validator's verdict on call `c`: compared with the truth, then the call takes a
    /// thread for the verification CPU and its work (or answers at once when it has neither).
    mutating func decided(_ c: Int, _ decision: Decision, verifiedLocally: Bool, cacheHit: Bool, _ cluster: inout VirtualCluster) {
        guard world.calls[c].decidedAt == 0, !world.calls[c].answered else { return }
        world.calls[c].decidedAt = cluster.now
        world.hopDecisions += 1
        if cacheHit { world.cacheHits += 1 }
        let problem = world.truthProblem(world.calls[c].token, at: cluster.now)
        let status: CallStatus
        switch decision {
        case .accept:
            status = .ok
            if let problem {
                world.noteAcceptedInvalid(problem, call: c, at: cluster.now)
                if cluster.explaining {
                    let service = world.graph.services[Int(world.calls[c].service)].name
                    let how = cacheHit ? "from its cache" : verifiedLocally ? "verified locally" : "as tokeninfo answered"
                    let text = "\(service) accepted a \(problem.rawValue) token (\(world.tokens[Int(world.calls[c].token)].claims.jti)) \(how)"
                    cluster.explain("accept", text)
                }
            }
        case .reject:
            status = .unauthorized
            if problem == nil { world.rejectedValid += 1 } else { world.rejectedInvalid += 1 }
        case .badRequest:
            status = .badRequest
        case .unavailable:
            status = .unavailable
            world.unavailableDecisions += 1
        }
        if verifiedLocally {
            world.localVerifications += 1
            world.calls[c].verifyCost = max(0, world.auth.verifyCost.sampleNanos(&world.verifyRng))
        }
        world.calls[c].authCritical = (cluster.now - world.calls[c].arrivedAt) + world.calls[c].verifyCost
        // The verification CPU holds a server even when the token is refused.
        stepHop(c, .decided(status, holdsServer: world.calls[c].verifyCost > 0), &cluster)
    }

    /// Feeds call `c`'s hop state machine (`HopRequest`, shared with the live mesh) and carries
    /// out what it asks for.
    mutating func stepHop(_ c: Int, _ input: HopRequest.Input, _ cluster: inout VirtualCluster) {
        carryOut(c, world.calls[c].hop.step(input, stages: world.graph.services[Int(world.calls[c].service)].stages), failedReplica: nil, &cluster)
    }

    /// Carries out a hop's effect for call `c`; `failedReplica`: the replica whose attempt just
    /// failed, where a retry must not go again.
    mutating func carryOut(_ c: Int, _ effect: HopRequest.Effect, failedReplica: Int32?, _ cluster: inout VirtualCluster) {
        switch effect {
        case .none:
            break
        case .takeServer:
            let replica = Int(world.calls[c].replica)
            switch world.stations[replica].arrive(UInt64(c), at: cluster.now) {
            case .serve(let call, let server):
                startWork(replica, server: server, call: Int(call), &cluster)
            case .queued:
                break
            case .reject(let call):
                stepHop(Int(call), .serverRefused, &cluster)
            }
        case .startStage(let stage):
            world.calls[c].stageAuth = 0
            let calls = world.graph.services[Int(world.calls[c].service)].stages[stage]
            for edge in calls.indices { callChild(parent: c, edge: edge, of: calls, attempt: 0, &cluster) }
        case .retry(let edge, let attempt):
            guard case .calling(let stage) = world.calls[c].hop.phase else { return }
            callChild(parent: c, edge: edge, of: world.graph.services[Int(world.calls[c].service)].stages[Int(stage)],
                      attempt: Int32(attempt), avoiding: failedReplica, &cluster)
        case .answer:
            answer(c, &cluster)
        }
    }

    mutating func startWork(_ replica: Int, server: Int, call c: Int, _ cluster: inout VirtualCluster) {
        let service = Int(world.replicaService[replica])
        var duration = world.calls[c].verifyCost
        if world.calls[c].hop.accepted { duration += max(0, world.graph.services[service].work.sampleNanos(&world.workRngs[service])) }
        duration = Self.scaled(duration, by: world.slowdown[service])
        cluster.schedule(.workDone(replica: Int32(replica), server: Int32(server),
                                     incarnation: cluster.processes[world.replicaNode[replica]].incarnation), at: cluster.now + duration)
    }

    mutating func workDone(_ replica: Int, _ server: Int, _ incarnation: UInt32, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let node = world.replicaNode[replica]
        guard cluster.processes[node].incarnation == incarnation, cluster.isRunning(node, else: .mesh(event)) else { return }
        let (done, next) = world.stations[replica].finish(server: server, at: cluster.now)
        if let next { startWork(replica, server: server, call: Int(next), &cluster) }
        stepHop(Int(done), .workDone, &cluster)
    }

    /// Calls `stage[edge]` on behalf of call `p`: a first attempt on the service's round-robin
    /// turn, a retry on the replica after `failed`.
    mutating func callChild(parent p: Int, edge: Int, of stage: [CallGraph.Edge], attempt: Int32, avoiding failed: Int32? = nil, _ cluster: inout VirtualCluster) {
        let call = stage[edge]
        let (replica, request, token) = peek(p) { ($0.replica, $0.request, $0.token) }
        let caller = world.replicaNode[Int(replica)]
        let child = newCall(request: request, parent: Int64(p), service: call.callee, token: token,
                            caller: caller, edge: Int16(edge), attempt: attempt, avoiding: failed, &cluster)
        meshSend(from: caller, to: world.replicaNode[Int(peek(child) { $0.replica })], .callArrives(call: UInt64(child)), &cluster)
        if let timeout = call.timeout { cluster.schedule(.callTimeout(call: UInt64(child)), after: timeout) }
    }

    /// The callee sends its answer (status and critical-path auth time ride in the call record, &cluster).
    mutating func answer(_ c: Int, _ cluster: inout VirtualCluster) {
        guard !world.calls[c].answered else { return }
        world.calls[c].answered = true
        let node = world.replicaNode[Int(peek(c) { $0.replica })]
        let caller = callerNode(ofCall: c, client: cluster.clientNode)
        meshSend(from: node, to: caller, .reply(call: UInt64(c)), &cluster)
    }

    mutating func replyArrives(_ c: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let caller = callerNode(ofCall: c, client: cluster.clientNode)
        let (replica, callerIncarnation, parent, resolved) = peek(c) { ($0.replica, $0.callerIncarnation, $0.parent, $0.resolved) }
        guard meshDelivered(from: world.replicaNode[Int(replica)], to: caller, event, &cluster),
              cluster.processes[caller].incarnation == callerIncarnation else { return }
        guard !resolved else {
            if parent < 0 { cluster.requests.ledger.lateOrDuplicateAnswer() }
            return
        }
        world.calls[c].resolved = true
        if parent < 0 {
            clientGotAnswer(c, &cluster)
        } else {
            childFinished(c, status: peek(c) { $0.hop.status }, &cluster)
        }
    }

    mutating func callTimedOut(_ c: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let caller = callerNode(ofCall: c, client: cluster.clientNode)
        let (callerIncarnation, resolved) = peek(c) { ($0.callerIncarnation, $0.resolved) }
        guard cluster.isRunning(caller, else: .mesh(event)), cluster.processes[caller].incarnation == callerIncarnation,
              !resolved else { return }
        world.calls[c].resolved = true
        childFinished(c, status: .timeout, &cluster)
    }

    /// A child attempt ended: its parent's hop decides (retry on the next replica, wait for the
    /// rest of the stage, start the next stage, answer, or fail at once on a hard dependency).
    mutating func childFinished(_ c: Int, status: CallStatus, _ cluster: inout VirtualCluster) {
        let p = Int(world.calls[c].parent)
        guard !world.calls[p].answered else { return }
        let before = world.calls[p].hop
        let effect = world.calls[p].hop.step(.childEnded(edge: Int(world.calls[c].edge), attempt: Int(world.calls[c].attempt), status: status),
                                         stages: world.graph.services[Int(world.calls[p].service)].stages)
        let after = world.calls[p].hop
        world.degradedCalls += UInt64(after.skippedSoft - before.skippedSoft)
        // Critical-path auth time: children finish in event order, so the last call of a stage
        // to finish sets the stage's share.
        let stageEnded: Bool
        switch effect {
        case .startStage: stageEnded = true
        case .answer(let answer): stageEnded = answer == .ok
        default: stageEnded = false
        }
        if stageEnded || after.pending < before.pending {
            world.calls[p].stageAuth = world.calls[c].authCritical
            if stageEnded { world.calls[p].authCritical += world.calls[p].stageAuth }
        }
        carryOut(p, effect, failedReplica: world.calls[c].replica, &cluster)
    }

    mutating func clientGotAnswer(_ c: Int, _ cluster: inout VirtualCluster) {
        let request = world.calls[c].request
        guard cluster.requests.ledger.outcome(of: request) == .pending else {
            cluster.requests.ledger.lateOrDuplicateAnswer()
            return
        }
        switch world.calls[c].hop.status {
        case .ok:
            if let elapsed = cluster.requests.recordLatency(of: request, at: cluster.now) {
                let auth = world.calls[c].authCritical
                world.authLatency.record(auth)
                if elapsed > 0 {
                    world.authShareSum += Double(auth) / Double(elapsed)
                    world.authShareCount += 1
                }
            }
            cluster.requests.conclude(request, .succeeded, at: cluster.now)
        case .unauthorized, .badRequest:
            cluster.requests.conclude(request, .rejected, at: cluster.now)
            // A client whose own token was refused re-authenticates.
            let owner = world.requestClient[Int(request)]
            if owner >= 0 && !world.clientInvalidated[Int(owner)] {
                world.clientInvalidated[Int(owner)] = true
                cluster.schedule(.tokenRefresh(client: owner), at: cluster.now)
            }
        case .badGateway, .unavailable, .timeout:
            cluster.requests.conclude(request, .failed, at: cluster.now)
        }
    }

    /// A service time under a `slowdown:` factor.
    static func scaled(_ duration: Int64, by factor: Double) -> Int64 {
        factor == 1 ? duration : Int64((Double(duration) * factor).rounded())
    }

    // MARK: - The tokeninfo cluster

    mutating func sendTokeninfo(_ ti: Int, _ event: MeshEvent?, _ cluster: inout VirtualCluster) {
        let replica = Int(world.tokeninfoCalls[ti].replica)
        let node = world.replicaNode[replica]
        if let event {
            guard cluster.isRunning(node, else: .mesh(event)), cluster.processes[node].incarnation == world.tokeninfoCalls[ti].incarnation else { return }
        }
        guard !world.tokeninfoNodes.isEmpty else {
            tokeninfoAnswered(ti, nil, timedOut: true, &cluster)
            return
        }
        let k = Int(world.tokeninfoRoundRobin % UInt32(world.tokeninfoNodes.count))
        world.tokeninfoRoundRobin &+= 1
        world.tokeninfoCalls[ti].node = Int32(k)
        meshSend(from: node, to: world.tokeninfoNodes[k], .tokeninfoArrives(ti: UInt64(ti)), &cluster)
        cluster.schedule(.tokeninfoTimeout(ti: UInt64(ti)), after: world.auth.tokeninfoTimeout)
    }

    mutating func tokeninfoArrives(_ ti: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        // Fields read in place: a copy of the call (`let call = …`) went through its value
        // witness for the response it holds, three times per tokeninfo call.
        let k = Int(world.tokeninfoCalls[ti].node)
        let callerNode = world.replicaNode[Int(world.tokeninfoCalls[ti].replica)]
        guard meshDelivered(from: callerNode, to: world.tokeninfoNodes[k], event, &cluster),
              world.tokeninfoCalls[ti].arrivedAt == 0 else { return }
        world.tokeninfoCalls[ti].arrivedAt = cluster.now
        switch world.tokeninfoStations[k].arrive(UInt64(ti), at: cluster.now) {
        case .serve(let id, let server):
            startTokeninfoWork(k, server: server, ti: Int(id), &cluster)
        case .queued:
            break
        case .reject(let id):
            // Overloaded: answers 503 at once, which the validator counts as a failed call.
            world.tokeninfoCalls[Int(id)].response = nil
            meshSend(from: world.tokeninfoNodes[k], to: callerNode, .tokeninfoReply(ti: id), &cluster)
        }
    }

    mutating func startTokeninfoWork(_ k: Int, server: Int, ti: Int, _ cluster: inout VirtualCluster) {
        let duration = Self.scaled(max(0, world.auth.tokeninfo.service.sampleNanos(&world.tokeninfoRng)),
                                   by: world.slowdown[world.graph.services.count])
        world.tokeninfoServiceSum += Double(duration)
        world.tokeninfoServed += 1
        cluster.schedule(.tokeninfoDone(node: Int32(k), server: Int32(server),
                                          incarnation: cluster.processes[world.tokeninfoNodes[k]].incarnation), at: cluster.now + duration)
    }

    mutating func tokeninfoDone(_ k: Int, _ server: Int, _ incarnation: UInt32, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let node = world.tokeninfoNodes[k]
        guard cluster.processes[node].incarnation == incarnation, cluster.isRunning(node, else: .mesh(event)) else { return }
        let (done, next) = world.tokeninfoStations[k].finish(server: server, at: cluster.now)
        if let next { startTokeninfoWork(k, server: server, ti: Int(next), &cluster) }
        let ti = Int(done)
        let arrivedAt = world.tokeninfoCalls[ti].arrivedAt
        if arrivedAt >= cluster.requests.warmup {
            let sojourn = cluster.now - arrivedAt
            world.tokeninfoSojourn.record(sojourn)
            world.tokeninfoSojournSum += Double(sojourn)
            world.tokeninfoMeasured += 1
        }
        // Tokeninfo sits next to the provider: it sees every key and revocation at once.
        let local = cluster.localNow(node)
        world.tokeninfoCalls[ti].response = Tokeninfo.respond(
            to: .presented(world.tokens[Int(world.tokeninfoCalls[ti].token)]), keys: world.jwks(at: local), revoked: world.revoked,
            rules: world.rules, now: local, scheme: world.scheme)
        meshSend(from: node, to: world.replicaNode[Int(world.tokeninfoCalls[ti].replica)], .tokeninfoReply(ti: UInt64(ti)), &cluster)
    }

    /// The validator hears from tokeninfo: an answer, a 503 (no response), or its own timeout.
    mutating func tokeninfoAnswered(_ ti: Int, _ event: MeshEvent?, timedOut: Bool, _ cluster: inout VirtualCluster) {
        let replica = Int(world.tokeninfoCalls[ti].replica)
        let node = world.replicaNode[replica]
        if let event {
            let up = timedOut
                ? cluster.isRunning(node, else: .mesh(event))
                : meshDelivered(from: world.tokeninfoNodes[Int(world.tokeninfoCalls[ti].node)], to: node, event, &cluster)
            guard up else { return }
        }
        guard cluster.processes[node].incarnation == world.tokeninfoCalls[ti].incarnation, !world.tokeninfoCalls[ti].done else { return }
        world.tokeninfoCalls[ti].done = true
        let answer: TokeninfoAnswer = timedOut ? .failed : (world.tokeninfoCalls[ti].response.map { .response($0) } ?? .failed)
        let (request, attempt) = (world.tokeninfoCalls[ti].call, Int(world.tokeninfoCalls[ti].attempt))
        stepValidator(replica, .tokeninfoAnswered(request: request, attempt: attempt, answer), &cluster)
    }

    // MARK: - JWKS and revocation list

    mutating func fetchKeys(_ replica: Int, kind: Int, _ cluster: inout VirtualCluster) {
        world.keyFetchSeq[replica][kind] &+= 1
        let seq = world.keyFetchSeq[replica][kind]
        let node = world.replicaNode[replica]
        meshSend(from: node, to: world.jwksNode, .keysRequest(replica: Int32(replica), kind: UInt8(kind), seq: seq), &cluster)
        cluster.schedule(.keysTimeout(replica: Int32(replica), kind: UInt8(kind), seq: seq), at: cluster.now + Self.keyFetchTimeout)
    }

    mutating func keysRequested(_ replica: Int, _ kind: Int, _ seq: UInt32, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        let node = world.replicaNode[replica]
        guard meshDelivered(from: node, to: world.jwksNode, event, &cluster) else { return }
        if kind == 0 {
            world.keyAnswerJWKS[replica] = world.jwks(at: cluster.now)
        } else {
            world.keyAnswerRevocations[replica] = world.revoked
        }
        meshSend(from: world.jwksNode, to: node, .keysReply(replica: Int32(replica), kind: UInt8(kind), seq: seq), &cluster)
    }

    mutating func keysAnswered(_ replica: Int, _ kind: Int, _ seq: UInt32, _ event: MeshEvent, timedOut: Bool, _ cluster: inout VirtualCluster) {
        let node = world.replicaNode[replica]
        let up = timedOut ? cluster.isRunning(node, else: .mesh(event)) : meshDelivered(from: world.jwksNode, to: node, event, &cluster)
        guard up, world.keyFetchSeq[replica][kind] == seq else { return }
        world.keyFetchSeq[replica][kind] &+= 1  // settled: a later answer or timeout for it is stale
        let input: HopInput
        switch (kind, timedOut) {
        case (0, false): input = world.keyAnswerJWKS[replica].map { .jwksFetched($0) } ?? .jwksFetchFailed
        case (0, true): input = .jwksFetchFailed
        case (_, false): input = world.keyAnswerRevocations[replica].map { .revocationsFetched($0) } ?? .revocationsFetchFailed
        default: input = .revocationsFetchFailed
        }
        stepValidator(replica, input, &cluster)
    }

    // MARK: - Client tokens

    mutating func scheduleRefresh(_ client: Int, _ cluster: inout VirtualCluster) {
        guard let next = world.refreshers[client].nextRefresh else { return }
        cluster.schedule(.tokenRefresh(client: Int32(client)), at: max(cluster.now, next))
    }

    /// The client asks the provider for a new token, assuming failure until one arrives (the
    /// retry is already scheduled; a timely token makes it a no-op).
    mutating func refreshToken(_ client: Int, _ cluster: inout VirtualCluster) {
        guard world.refreshers[client].needsToken(now: cluster.now) || world.clientInvalidated[client] else { return }
        if world.refreshPending[client] { world.tokenRefreshFailures += 1 }
        world.refreshPending[client] = true
        meshSend(from: cluster.clientNode, to: world.providerNode, .tokenRequest(client: Int32(client)), &cluster)
        world.refreshers[client].refreshFailed(now: cluster.now)
        cluster.schedule(.tokenRefresh(client: Int32(client)), at: cluster.now + world.auth.refreshRetry)
    }

    mutating func tokenRequested(_ client: Int, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        guard meshDelivered(from: cluster.clientNode, to: world.providerNode, event, &cluster) else { return }
        let token = world.issueToken(client: client, at: cluster.now)
        meshSend(from: world.providerNode, to: cluster.clientNode, .tokenIssued(client: Int32(client), token: UInt32(token)), &cluster)
    }

    mutating func tokenIssued(_ client: Int, _ token: Int32, _ event: MeshEvent, _ cluster: inout VirtualCluster) {
        guard meshDelivered(from: world.providerNode, to: cluster.clientNode, event, &cluster), token > world.clientToken[client] else { return }
        world.clientToken[client] = token
        world.refreshers[client].issued(world.tokens[Int(token)], now: cluster.now)
        world.clientInvalidated[client] = false
        world.refreshPending[client] = false
        world.tokenRefreshes += 1
        scheduleRefresh(client, &cluster)
    }

    /// The provider revokes a random client's current token (a leaked credential, a logout).
    mutating func revokeOne(_ cluster: inout VirtualCluster) {
        let client = world.revocationRng.index(below: world.clientToken.count)
        world.revoked.revoke(jti: world.tokens[Int(world.clientToken[client])].claims.jti, at: cluster.now)
        if cluster.explaining {
            cluster.explain("revoke", "token \(world.tokens[Int(world.clientToken[client])].claims.jti) of client \(client) revoked")
        }
        world.revocations += 1
        let next = nextRevocation(&cluster)
        if next < cluster.scenario.duration { cluster.schedule(.revoke, at: next) }
    }

    // MARK: - Faults

    mutating func crashed(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard node < world.nodeReplica.count else { return }
        let replica = Int(world.nodeReplica[node])
        if replica >= 0 {
            _ = world.stations[replica].crash(at: cluster.now)
            world.validators[replica] = world.newValidator()  // its caches die with it
            world.validatorTickAt[replica] = nil
            world.keyFetchSeq[replica][0] &+= 1
            world.keyFetchSeq[replica][1] &+= 1
        }
        if let k = world.tokeninfoNodes.firstIndex(of: node) {
            _ = world.tokeninfoStations[k].crash(at: cluster.now)
        }
    }

    mutating func restarted(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard node < world.nodeReplica.count else { return }
        let replica = Int(world.nodeReplica[node])
        if replica >= 0 { startValidator(replica, &cluster) }
    }

    /// Nodes of a service of the call graph (or of the tokeninfo cluster).
    func serviceNodes(named name: String) -> [NodeID]? {
        if name == MeshNaming.tokeninfo { return world.tokeninfoNodes }
        guard let service = world.graph.services.firstIndex(where: { $0.name == name }) else { return nil }
        return world.replicas(of: service).map { world.replicaNode[$0] }
    }

    /// Index into `MeshWorld.slowdown` of a service (the tokeninfo cluster is the last).
    func slowdownIndex(_ name: String) -> Int? {
        if name == MeshNaming.tokeninfo { return world.graph.services.count }
        return world.graph.services.firstIndex(where: { $0.name == name })
    }
}

extension MeshWorld {
    mutating func noteAcceptedInvalid(_ problem: TokenProblem, call: Int, at now: VirtualTime) {
        switch problem {
        case .forged: acceptedForged += 1
        case .expired: acceptedExpired += 1
        case .revoked: acceptedRevoked += 1
        }
        if acceptedInvalidExamples.count < 5 {
            let service = graph.services[Int(calls[call].service)].name
            acceptedInvalidExamples.append((now, "\(service) accepted a \(problem.rawValue) token (\(tokens[Int(calls[call].token)].claims.jti))"))
        }
    }
}
