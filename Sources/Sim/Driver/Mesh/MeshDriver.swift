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
extension Simulation {
    /// How long a JWKS or revocation-list fetch waits for an answer.
    static let keyFetchTimeout: Int64 = Nanos.second

    // MARK: - Start

    mutating func scheduleMeshStart() {
        guard let m = meshWorld else { return }
        for index in m.workloadArrivals.indices {
            let first = scenario.meshWorkloads[index].start + Self.interarrival(m.workloadArrivals[index], elapsed: 0, &m.arrivalRngs[index])
            if first < m.workloadStop[index] { queue.schedule(.meshArrival(workload: Int32(index)), at: first) }
        }
        for replica in m.replicaNode.indices { startValidator(replica) }
        for client in m.refreshers.indices { scheduleRefresh(client) }
        if m.auth.revocationsPerSecond > 0 {
            queue.schedule(.meshRevoke, at: nextRevocation(m))
        }
    }

    func nextRevocation(_ m: MeshWorld) -> VirtualTime {
        now + max(1, Distribution.exponential(mean: 1e9 / m.auth.revocationsPerSecond).sampleNanos(&m.revocationRng))
    }

    mutating func startValidator(_ replica: Int) {
        let m = meshWorld!
        let effects = m.validators[replica].start(now: now)
        applyHopEffects(replica, effects)
        armValidatorTimer(replica)
    }

    func localNow(_ node: NodeID) -> Int64 { processes[node].clock.now(now) }

    // MARK: - Event dispatch

    mutating func handleMesh(_ event: SimEvent) {
        switch event {
        case .meshArrival(let w): meshArrival(Int(w))
        case .meshCallArrives(let c): callArrives(Int(c), event)
        case .meshWorkDone(let r, let server, let inc): workDone(Int(r), Int(server), inc, event)
        case .meshReply(let c): replyArrives(Int(c), event)
        case .meshCallTimeout(let c): callTimedOut(Int(c), event)
        case .meshTokeninfoSend(let t): sendTokeninfo(Int(t), event)
        case .meshTokeninfoArrives(let t): tokeninfoArrives(Int(t), event)
        case .meshTokeninfoDone(let k, let server, let inc): tokeninfoDone(Int(k), Int(server), inc, event)
        case .meshTokeninfoReply(let t): tokeninfoAnswered(Int(t), event, timedOut: false)
        case .meshTokeninfoTimeout(let t): tokeninfoAnswered(Int(t), event, timedOut: true)
        case .meshKeysRequest(let r, let kind, let seq): keysRequested(Int(r), Int(kind), seq, event)
        case .meshKeysReply(let r, let kind, let seq): keysAnswered(Int(r), Int(kind), seq, event, timedOut: false)
        case .meshKeysTimeout(let r, let kind, let seq): keysAnswered(Int(r), Int(kind), seq, event, timedOut: true)
        case .meshValidatorTick(let r): validatorTick(Int(r), event)
        case .meshTokenRefresh(let c): refreshToken(Int(c))
        case .meshTokenRequest(let c): tokenRequested(Int(c), event)
        case .meshTokenIssued(let c, let t): tokenIssued(Int(c), Int32(t), event)
        case .meshRevoke: revokeOne()
        default: break
        }
    }

    /// Whether an event at `node` happens now: dropped when the process is down, held until
    /// it resumes when paused.
    mutating func meshProcessUp(_ node: NodeID, _ event: SimEvent) -> Bool {
        switch processes[node].state {
        case .running: return true
        case .crashed: return false
        case .paused:
            heldWhilePaused[node].append(event)
            return false
        }
    }

    /// Like `meshProcessUp` for a message from `from`, which a partition that began while it
    /// was in flight drops on arrival.
    mutating func meshDelivered(from: NodeID, to: NodeID, _ event: SimEvent) -> Bool {
        meshProcessUp(to, event) && network.admitArrival(from: from, to: to)
    }

    /// Puts a mesh message on the network; the one-way latency comes from where sender and
    /// receiver sit (same host, zone, account, region).
    mutating func meshSend(from: NodeID, to: NodeID, _ event: SimEvent) {
        let transmission = network.transmit(from: from, to: to, bytes: 0, now: now)
        guard let first = transmission.first else { return }
        let m = meshWorld!
        let latency = placementLatency(from, to, m)
        queue.schedule(event, at: first + latency)
        if let second = transmission.second { queue.schedule(event, at: second + latency) }
    }

    func placementLatency(_ from: NodeID, _ to: NodeID, _ m: MeshWorld) -> Int64 {
        let spec = m.latency
        let distribution: Distribution
        if let client = spec.client, from == clientNode || to == clientNode {
            distribution = client
        } else if from == to {
            distribution = spec.sameHost
        } else if m.nodeRegion[from] != m.nodeRegion[to] {
            distribution = spec.crossRegion
        } else if m.nodeAccount[from] != m.nodeAccount[to] {
            distribution = spec.crossAccount
        } else if processes[from].zone != processes[to].zone {
            distribution = spec.crossZone
        } else {
            distribution = spec.sameZone
        }
        return max(0, distribution.sampleNanos(&m.latencyRng))
    }

    // MARK: - Requests from the client

    mutating func meshArrival(_ w: Int) {
        let m = meshWorld!
        let request = UInt64(requestStart.count)
        requestStart.append(now)
        requestWorkload.append(Int32(w))
        ledger.sent(request, at: now)
        liveness.started(request, at: now)
        if let timeout = m.workloadTimeout[w] { queue.schedule(.timeout(request: request), at: now + timeout) }

        let client = Int(request % UInt64(m.refreshers.count))
        var token = m.clientToken[client]
        var owner = Int32(client)
        if m.auth.forgedFraction > 0 && m.clientRng.chance(m.auth.forgedFraction) {
            token = m.forgedPool[m.clientRng.index(below: m.forgedPool.count)]
            owner = -1
        }
        // Indexed by request id; station requests of a mixed scenario hold -2.
        while m.requestClient.count < Int(request) { m.requestClient.append(-2) }
        m.requestClient.append(owner)

        var entry = m.workloadEntry[w]
        if entry < 0 {
            let u = m.entryRng.nextUnit() * (m.entryWeights.last?.cumulative ?? 1)
            entry = (m.entryWeights.first { u < $0.cumulative } ?? m.entryWeights[m.entryWeights.count - 1]).service
        }
        let call = newCall(request: request, parent: -1, service: entry, token: token, caller: clientNode,
                           edge: 0, attempt: 0)
        meshSend(from: clientNode, to: m.replicaNode[Int(m.calls[call].replica)], .meshCallArrives(call: UInt64(call)))

        let next = now + Self.interarrival(m.workloadArrivals[w], elapsed: now - scenario.meshWorkloads[w].start, &m.arrivalRngs[w])
        if next < m.workloadStop[w] { queue.schedule(.meshArrival(workload: Int32(w)), at: next) }
    }

    /// Records a new call attempt to a replica of `service`, chosen by the shared call rules
    /// (`CallRules.replica`: round-robin per service, retries on the next replica, health checks).
    mutating func newCall(request: UInt64, parent: Int64, service: Int, token: Int32, caller: NodeID,
                          edge: Int16, attempt: Int32, avoiding failed: Int32? = nil) -> Int {
        let m = meshWorld!
        let replicas = m.replicas(of: service)
        let replica = replicas.lowerBound + CallRules.replica(
            count: replicas.count, turn: m.roundRobin[service], retryAfter: failed.map { Int($0) - replicas.lowerBound },
            healthChecks: m.healthChecks, isUp: { processes[m.replicaNode[replicas.lowerBound + $0]].state != .crashed })
        if failed == nil { m.roundRobin[service] &+= 1 }
        m.calls.append(MeshCall(request: request, parent: parent, replica: Int32(replica), service: Int32(service),
                                token: token, callerIncarnation: processes[caller].incarnation, edge: edge, attempt: attempt,
                                sentAt: now))
        m.serviceCalls += 1
        let callee = m.replicaNode[replica]
        if processes[caller].zone != processes[callee].zone { m.crossZoneCalls += 1 }
        if caller != clientNode && m.nodeAccount[caller] != m.nodeAccount[callee] { m.crossAccountCalls += 1 }
        return m.calls.count - 1
    }

    func callerNode(_ call: MeshCall, _ m: MeshWorld) -> NodeID {
        call.parent < 0 ? clientNode : m.replicaNode[Int(m.calls[Int(call.parent)].replica)]
    }

    // MARK: - A hop: validate, work, call children, answer

    mutating func callArrives(_ c: Int, _ event: SimEvent) {
        let m = meshWorld!
        let replica = Int(m.calls[c].replica)
        let node = m.replicaNode[replica]
        guard meshDelivered(from: callerNode(m.calls[c], m), to: node, event), m.calls[c].arrivedAt == 0 else { return }
        m.calls[c].arrivedAt = now
        m.calls[c].calleeIncarnation = processes[node].incarnation
        stepValidator(replica, .validate(request: UInt64(c), token: m.tokens[Int(m.calls[c].token)]))
    }

    mutating func stepValidator(_ replica: Int, _ input: HopInput) {
        let m = meshWorld!
        // Timers run on virtual (monotonic) time; token expiry is judged by the node's own,
        // possibly skewed, wall clock.
        let effects = m.validators[replica].step(input, now: now, wallClock: localNow(m.replicaNode[replica]))
        applyHopEffects(replica, effects)
        armValidatorTimer(replica)
    }

    mutating func applyHopEffects(_ replica: Int, _ effects: [HopEffect]) {
        let m = meshWorld!
        for effect in effects {
            switch effect {
            case .callTokeninfo(let call, let attempt, _, let after):
                let node = m.replicaNode[replica]
                m.tokeninfoCalls.append(TokeninfoCall(replica: Int32(replica), call: call, attempt: Int32(attempt),
                                                      token: m.calls[Int(call)].token, incarnation: processes[node].incarnation))
                let ti = UInt64(m.tokeninfoCalls.count - 1)
                if after > 0 {
                    queue.schedule(.meshTokeninfoSend(ti: ti), at: now + after)
                } else {
                    sendTokeninfo(Int(ti), nil)
                }
            case .decided(let call, let decision, let verifiedLocally, let cacheHit):
                decided(Int(call), decision, verifiedLocally: verifiedLocally, cacheHit: cacheHit)
            case .fetchJWKS:
                fetchKeys(replica, kind: 0)
            case .fetchRevocations:
                fetchKeys(replica, kind: 1)
            }
        }
    }

    /// Keeps one tick event scheduled at the validator's next timer.
    mutating func armValidatorTimer(_ replica: Int) {
        let m = meshWorld!
        guard let next = m.validators[replica].nextTimer else { return }
        let at = max(now, next)
        if let scheduled = m.validatorTickAt[replica], scheduled <= at { return }
        m.validatorTickAt[replica] = at
        queue.schedule(.meshValidatorTick(replica: Int32(replica)), at: at)
    }

    mutating func validatorTick(_ replica: Int, _ event: SimEvent) {
        let m = meshWorld!
        guard meshProcessUp(m.replicaNode[replica], event) else { return }
        // Superseded ticks find a later (or no) tracked time and do nothing; a tick held
        // through a pause is delivered late and still counts.
        guard let scheduled = m.validatorTickAt[replica], scheduled <= now else { return }
        m.validatorTickAt[replica] = nil
        stepValidator(replica, .tick)
    }

    /// The validator's verdict on call `c`: compared with the truth, then the call takes a
    /// thread for the verification CPU and its work (or answers at once when it has neither).
    mutating func decided(_ c: Int, _ decision: Decision, verifiedLocally: Bool, cacheHit: Bool) {
        let m = meshWorld!
        guard m.calls[c].decidedAt == 0, !m.calls[c].answered else { return }
        m.calls[c].decidedAt = now
        m.hopDecisions += 1
        if cacheHit { m.cacheHits += 1 }
        let problem = m.truthProblem(m.calls[c].token, at: now)
        let status: CallStatus
        switch decision {
        case .accept:
            status = .ok
            if let problem { m.noteAcceptedInvalid(problem, call: c, at: now) }
        case .reject:
            status = .unauthorized
            if problem == nil { m.rejectedValid += 1 } else { m.rejectedInvalid += 1 }
        case .badRequest:
            status = .badRequest
        case .unavailable:
            status = .unavailable
            m.unavailableDecisions += 1
        }
        if verifiedLocally {
            m.localVerifications += 1
            m.calls[c].verifyCost = max(0, m.auth.verifyCost.sampleNanos(&m.verifyRng))
        }
        m.calls[c].authCritical = (now - m.calls[c].arrivedAt) + m.calls[c].verifyCost
        // The verification CPU holds a server even when the token is refused.
        stepHop(c, .decided(status, holdsServer: m.calls[c].verifyCost > 0))
    }

    /// Feeds call `c`'s hop state machine (`HopRequest`, shared with the live mesh) and carries
    /// out what it asks for.
    mutating func stepHop(_ c: Int, _ input: HopRequest.Input) {
        let m = meshWorld!
        carryOut(c, m.calls[c].hop.step(input, stages: m.graph.services[Int(m.calls[c].service)].stages), failedReplica: nil)
    }

    /// Carries out a hop's effect for call `c`; `failedReplica`: the replica whose attempt just
    /// failed, where a retry must not go again.
    mutating func carryOut(_ c: Int, _ effect: HopRequest.Effect, failedReplica: Int32?) {
        let m = meshWorld!
        switch effect {
        case .none:
            break
        case .takeServer:
            let replica = Int(m.calls[c].replica)
            switch m.stations[replica].arrive(UInt64(c), at: now) {
            case .serve(let call, let server):
                startWork(replica, server: server, call: Int(call))
            case .queued:
                break
            case .reject(let call):
                stepHop(Int(call), .serverRefused)
            }
        case .startStage(let stage):
            m.calls[c].stageAuth = 0
            let calls = m.graph.services[Int(m.calls[c].service)].stages[stage]
            for edge in calls.indices { callChild(parent: c, edge: edge, of: calls, attempt: 0) }
        case .retry(let edge, let attempt):
            guard case .calling(let stage) = m.calls[c].hop.phase else { return }
            callChild(parent: c, edge: edge, of: m.graph.services[Int(m.calls[c].service)].stages[Int(stage)],
                      attempt: Int32(attempt), avoiding: failedReplica)
        case .answer:
            answer(c)
        }
    }

    mutating func startWork(_ replica: Int, server: Int, call c: Int) {
        let m = meshWorld!
        let service = Int(m.replicaService[replica])
        var duration = m.calls[c].verifyCost
        if m.calls[c].hop.accepted { duration += max(0, m.graph.services[service].work.sampleNanos(&m.workRngs[service])) }
        duration = Self.scaled(duration, by: m.slowdown[service])
        queue.schedule(.meshWorkDone(replica: Int32(replica), server: Int32(server),
                                     incarnation: processes[m.replicaNode[replica]].incarnation), at: now + duration)
    }

    mutating func workDone(_ replica: Int, _ server: Int, _ incarnation: UInt32, _ event: SimEvent) {
        let m = meshWorld!
        let node = m.replicaNode[replica]
        guard processes[node].incarnation == incarnation, meshProcessUp(node, event) else { return }
        let (done, next) = m.stations[replica].finish(server: server, at: now)
        if let next { startWork(replica, server: server, call: Int(next)) }
        stepHop(Int(done), .workDone)
    }

    /// Calls `stage[edge]` on behalf of call `p`: a first attempt on the service's round-robin
    /// turn, a retry on the replica after `failed`.
    mutating func callChild(parent p: Int, edge: Int, of stage: [CallGraph.Edge], attempt: Int32, avoiding failed: Int32? = nil) {
        let m = meshWorld!
        let call = stage[edge]
        let caller = m.replicaNode[Int(m.calls[p].replica)]
        let child = newCall(request: m.calls[p].request, parent: Int64(p), service: call.callee, token: m.calls[p].token,
                            caller: caller, edge: Int16(edge), attempt: attempt, avoiding: failed)
        meshSend(from: caller, to: m.replicaNode[Int(m.calls[child].replica)], .meshCallArrives(call: UInt64(child)))
        if let timeout = call.timeout { queue.schedule(.meshCallTimeout(call: UInt64(child)), at: now + timeout) }
    }

    /// The callee sends its answer (status and critical-path auth time ride in the call record).
    mutating func answer(_ c: Int) {
        let m = meshWorld!
        guard !m.calls[c].answered else { return }
        m.calls[c].answered = true
        let node = m.replicaNode[Int(m.calls[c].replica)]
        meshSend(from: node, to: callerNode(m.calls[c], m), .meshReply(call: UInt64(c)))
    }

    mutating func replyArrives(_ c: Int, _ event: SimEvent) {
        let m = meshWorld!
        let call = m.calls[c]
        let caller = callerNode(call, m)
        guard meshDelivered(from: m.replicaNode[Int(call.replica)], to: caller, event),
              processes[caller].incarnation == call.callerIncarnation else { return }
        guard !call.resolved else {
            if call.parent < 0 { ledger.lateOrDuplicateAnswer() }
            return
        }
        m.calls[c].resolved = true
        if call.parent < 0 {
            clientGotAnswer(c)
        } else {
            childFinished(c, status: call.hop.status)
        }
    }

    mutating func callTimedOut(_ c: Int, _ event: SimEvent) {
        let m = meshWorld!
        let call = m.calls[c]
        let caller = callerNode(call, m)
        guard meshProcessUp(caller, event), processes[caller].incarnation == call.callerIncarnation,
              !call.resolved else { return }
        m.calls[c].resolved = true
        childFinished(c, status: .timeout)
    }

    /// A child attempt ended: its parent's hop decides (retry on the next replica, wait for the
    /// rest of the stage, start the next stage, answer, or fail at once on a hard dependency).
    mutating func childFinished(_ c: Int, status: CallStatus) {
        let m = meshWorld!
        let p = Int(m.calls[c].parent)
        guard !m.calls[p].answered else { return }
        let before = m.calls[p].hop
        let effect = m.calls[p].hop.step(.childEnded(edge: Int(m.calls[c].edge), attempt: Int(m.calls[c].attempt), status: status),
                                         stages: m.graph.services[Int(m.calls[p].service)].stages)
        let after = m.calls[p].hop
        m.degradedCalls += UInt64(after.skippedSoft - before.skippedSoft)
        // Critical-path auth time: children finish in event order, so the last call of a stage
        // to finish sets the stage's share.
        let stageEnded: Bool
        switch effect {
        case .startStage: stageEnded = true
        case .answer(let answer): stageEnded = answer == .ok
        default: stageEnded = false
        }
        if stageEnded || after.pending < before.pending {
            m.calls[p].stageAuth = m.calls[c].authCritical
            if stageEnded { m.calls[p].authCritical += m.calls[p].stageAuth }
        }
        carryOut(p, effect, failedReplica: m.calls[c].replica)
    }

    mutating func clientGotAnswer(_ c: Int) {
        let m = meshWorld!
        let request = m.calls[c].request
        guard ledger.outcome(of: request) == .pending else {
            ledger.lateOrDuplicateAnswer()
            return
        }
        switch m.calls[c].hop.status {
        case .ok:
            if let elapsed = recordLatency(of: request) {
                let auth = m.calls[c].authCritical
                m.authLatency.record(auth)
                if elapsed > 0 {
                    m.authShareSum += Double(auth) / Double(elapsed)
                    m.authShareCount += 1
                }
            }
            conclude(request, .succeeded)
        case .unauthorized, .badRequest:
            conclude(request, .rejected)
            // A client whose own token was refused re-authenticates.
            let owner = m.requestClient[Int(request)]
            if owner >= 0 && !m.clientInvalidated[Int(owner)] {
                m.clientInvalidated[Int(owner)] = true
                queue.schedule(.meshTokenRefresh(client: owner), at: now)
            }
        case .badGateway, .unavailable, .timeout:
            conclude(request, .failed)
        }
    }

    /// A service time under a `slowdown:` factor.
    static func scaled(_ duration: Int64, by factor: Double) -> Int64 {
        factor == 1 ? duration : Int64((Double(duration) * factor).rounded())
    }

    // MARK: - The tokeninfo cluster

    mutating func sendTokeninfo(_ ti: Int, _ event: SimEvent?) {
        let m = meshWorld!
        let replica = Int(m.tokeninfoCalls[ti].replica)
        let node = m.replicaNode[replica]
        if let event {
            guard meshProcessUp(node, event), processes[node].incarnation == m.tokeninfoCalls[ti].incarnation else { return }
        }
        guard !m.tokeninfoNodes.isEmpty else {
            tokeninfoAnswered(ti, nil, timedOut: true)
            return
        }
        let k = Int(m.tokeninfoRoundRobin % UInt32(m.tokeninfoNodes.count))
        m.tokeninfoRoundRobin &+= 1
        m.tokeninfoCalls[ti].node = Int32(k)
        meshSend(from: node, to: m.tokeninfoNodes[k], .meshTokeninfoArrives(ti: UInt64(ti)))
        queue.schedule(.meshTokeninfoTimeout(ti: UInt64(ti)), at: now + m.auth.tokeninfoTimeout)
    }

    mutating func tokeninfoArrives(_ ti: Int, _ event: SimEvent) {
        let m = meshWorld!
        let call = m.tokeninfoCalls[ti]
        let k = Int(call.node)
        guard meshDelivered(from: m.replicaNode[Int(call.replica)], to: m.tokeninfoNodes[k], event),
              call.arrivedAt == 0 else { return }
        m.tokeninfoCalls[ti].arrivedAt = now
        switch m.tokeninfoStations[k].arrive(UInt64(ti), at: now) {
        case .serve(let id, let server):
            startTokeninfoWork(k, server: server, ti: Int(id))
        case .queued:
            break
        case .reject(let id):
            // Overloaded: answers 503 at once, which the validator counts as a failed call.
            m.tokeninfoCalls[Int(id)].response = nil
            meshSend(from: m.tokeninfoNodes[k], to: m.replicaNode[Int(call.replica)], .meshTokeninfoReply(ti: id))
        }
    }

    mutating func startTokeninfoWork(_ k: Int, server: Int, ti: Int) {
        let m = meshWorld!
        let duration = Self.scaled(max(0, m.auth.tokeninfo.service.sampleNanos(&m.tokeninfoRng)),
                                   by: m.slowdown[m.graph.services.count])
        m.tokeninfoServiceSum += Double(duration)
        m.tokeninfoServed += 1
        queue.schedule(.meshTokeninfoDone(node: Int32(k), server: Int32(server),
                                          incarnation: processes[m.tokeninfoNodes[k]].incarnation), at: now + duration)
    }

    mutating func tokeninfoDone(_ k: Int, _ server: Int, _ incarnation: UInt32, _ event: SimEvent) {
        let m = meshWorld!
        let node = m.tokeninfoNodes[k]
        guard processes[node].incarnation == incarnation, meshProcessUp(node, event) else { return }
        let (done, next) = m.tokeninfoStations[k].finish(server: server, at: now)
        if let next { startTokeninfoWork(k, server: server, ti: Int(next)) }
        let ti = Int(done)
        let call = m.tokeninfoCalls[ti]
        if call.arrivedAt >= warmup {
            let sojourn = now - call.arrivedAt
            m.tokeninfoSojourn.record(sojourn)
            m.tokeninfoSojournSum += Double(sojourn)
            m.tokeninfoMeasured += 1
        }
        // Tokeninfo sits next to the provider: it sees every key and revocation at once.
        let local = localNow(node)
        m.tokeninfoCalls[ti].response = Tokeninfo.respond(
            to: .presented(m.tokens[Int(call.token)]), keys: m.provider.jwks(at: local), revoked: m.revoked,
            rules: m.rules, now: local, scheme: m.scheme)
        meshSend(from: node, to: m.replicaNode[Int(call.replica)], .meshTokeninfoReply(ti: UInt64(ti)))
    }

    /// The validator hears from tokeninfo: an answer, a 503 (no response), or its own timeout.
    mutating func tokeninfoAnswered(_ ti: Int, _ event: SimEvent?, timedOut: Bool) {
        let m = meshWorld!
        let call = m.tokeninfoCalls[ti]
        let replica = Int(call.replica)
        let node = m.replicaNode[replica]
        if let event {
            let up = timedOut
                ? meshProcessUp(node, event)
                : meshDelivered(from: m.tokeninfoNodes[Int(call.node)], to: node, event)
            guard up else { return }
        }
        guard processes[node].incarnation == call.incarnation, !call.done else { return }
        m.tokeninfoCalls[ti].done = true
        let answer: TokeninfoAnswer = timedOut ? .failed : (m.tokeninfoCalls[ti].response.map { .response($0) } ?? .failed)
        stepValidator(replica, .tokeninfoAnswered(request: call.call, attempt: Int(call.attempt), answer))
    }

    // MARK: - JWKS and revocation list

    mutating func fetchKeys(_ replica: Int, kind: Int) {
        let m = meshWorld!
        m.keyFetchSeq[replica][kind] &+= 1
        let seq = m.keyFetchSeq[replica][kind]
        let node = m.replicaNode[replica]
        meshSend(from: node, to: m.jwksNode, .meshKeysRequest(replica: Int32(replica), kind: UInt8(kind), seq: seq))
        queue.schedule(.meshKeysTimeout(replica: Int32(replica), kind: UInt8(kind), seq: seq), at: now + Self.keyFetchTimeout)
    }

    mutating func keysRequested(_ replica: Int, _ kind: Int, _ seq: UInt32, _ event: SimEvent) {
        let m = meshWorld!
        let node = m.replicaNode[replica]
        guard meshDelivered(from: node, to: m.jwksNode, event) else { return }
        if kind == 0 {
            m.keyAnswerJWKS[replica] = m.provider.jwks(at: now)
        } else {
            m.keyAnswerRevocations[replica] = m.revoked
        }
        meshSend(from: m.jwksNode, to: node, .meshKeysReply(replica: Int32(replica), kind: UInt8(kind), seq: seq))
    }

    mutating func keysAnswered(_ replica: Int, _ kind: Int, _ seq: UInt32, _ event: SimEvent, timedOut: Bool) {
        let m = meshWorld!
        let node = m.replicaNode[replica]
        let up = timedOut ? meshProcessUp(node, event) : meshDelivered(from: m.jwksNode, to: node, event)
        guard up, m.keyFetchSeq[replica][kind] == seq else { return }
        m.keyFetchSeq[replica][kind] &+= 1  // settled: a later answer or timeout for it is stale
        let input: HopInput
        switch (kind, timedOut) {
        case (0, false): input = m.keyAnswerJWKS[replica].map { .jwksFetched($0) } ?? .jwksFetchFailed
        case (0, true): input = .jwksFetchFailed
        case (_, false): input = m.keyAnswerRevocations[replica].map { .revocationsFetched($0) } ?? .revocationsFetchFailed
        default: input = .revocationsFetchFailed
        }
        stepValidator(replica, input)
    }

    // MARK: - Client tokens

    mutating func scheduleRefresh(_ client: Int) {
        let m = meshWorld!
        guard let next = m.refreshers[client].nextRefresh else { return }
        queue.schedule(.meshTokenRefresh(client: Int32(client)), at: max(now, next))
    }

    /// The client asks the provider for a new token, assuming failure until one arrives (the
    /// retry is already scheduled; a timely token makes it a no-op).
    mutating func refreshToken(_ client: Int) {
        let m = meshWorld!
        guard m.refreshers[client].needsToken(now: now) || m.clientInvalidated[client] else { return }
        if m.refreshPending[client] { m.tokenRefreshFailures += 1 }
        m.refreshPending[client] = true
        meshSend(from: clientNode, to: m.providerNode, .meshTokenRequest(client: Int32(client)))
        m.refreshers[client].refreshFailed(now: now)
        queue.schedule(.meshTokenRefresh(client: Int32(client)), at: now + m.auth.refreshRetry)
    }

    mutating func tokenRequested(_ client: Int, _ event: SimEvent) {
        let m = meshWorld!
        guard meshDelivered(from: clientNode, to: m.providerNode, event) else { return }
        let token = m.issueToken(client: client, at: now)
        meshSend(from: m.providerNode, to: clientNode, .meshTokenIssued(client: Int32(client), token: UInt32(token)))
    }

    mutating func tokenIssued(_ client: Int, _ token: Int32, _ event: SimEvent) {
        let m = meshWorld!
        guard meshDelivered(from: m.providerNode, to: clientNode, event), token > m.clientToken[client] else { return }
        m.clientToken[client] = token
        m.refreshers[client].issued(m.tokens[Int(token)], now: now)
        m.clientInvalidated[client] = false
        m.refreshPending[client] = false
        m.tokenRefreshes += 1
        scheduleRefresh(client)
    }

    /// The provider revokes a random client's current token (a leaked credential, a logout).
    mutating func revokeOne() {
        let m = meshWorld!
        let client = m.revocationRng.index(below: m.clientToken.count)
        m.revoked.revoke(jti: m.tokens[Int(m.clientToken[client])].claims.jti, at: now)
        m.revocations += 1
        let next = nextRevocation(m)
        if next < scenario.duration { queue.schedule(.meshRevoke, at: next) }
    }

    // MARK: - Faults

    mutating func meshCrashed(_ node: NodeID) {
        guard let m = meshWorld, node < m.nodeReplica.count else { return }
        let replica = Int(m.nodeReplica[node])
        if replica >= 0 {
            _ = m.stations[replica].crash(at: now)
            m.validators[replica] = m.newValidator()  // its caches die with it
            m.validatorTickAt[replica] = nil
            m.keyFetchSeq[replica][0] &+= 1
            m.keyFetchSeq[replica][1] &+= 1
        }
        if let k = m.tokeninfoNodes.firstIndex(of: node) {
            _ = m.tokeninfoStations[k].crash(at: now)
        }
    }

    mutating func meshRestarted(_ node: NodeID) {
        guard let m = meshWorld, node < m.nodeReplica.count else { return }
        let replica = Int(m.nodeReplica[node])
        if replica >= 0 { startValidator(replica) }
    }

    /// Nodes of a service of the call graph (or of the tokeninfo cluster).
    func meshServiceNodes(_ name: String) -> [NodeID]? {
        guard let m = meshWorld else { return nil }
        if name == MeshNaming.tokeninfo { return m.tokeninfoNodes }
        guard let service = m.graph.services.firstIndex(where: { $0.name == name }) else { return nil }
        return m.replicas(of: service).map { m.replicaNode[$0] }
    }

    /// Index into `MeshWorld.slowdown` of a service (the tokeninfo cluster is the last).
    func meshSlowdownIndex(_ name: String) -> Int? {
        guard let m = meshWorld else { return nil }
        if name == MeshNaming.tokeninfo { return m.graph.services.count }
        return m.graph.services.firstIndex(where: { $0.name == name })
    }
}

extension MeshWorld {
    func noteAcceptedInvalid(_ problem: TokenProblem, call: Int, at now: VirtualTime) {
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
