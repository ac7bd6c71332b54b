import ArrayClearing
import Checkers
import Clients
import Replication
import Scenario
import SimCore

/// The simulator as a driver of the Clients cores: publishers and consumers run the same
/// state machines as the live load driver (`ProducerSession`, `ConsumerSession`), with their
/// messages on the simulated network and their timers in virtual time. Only the I/O is here.
extension BrokerModel {
    // MARK: - Publishers (drivers of the Clients producer core)

    /// One producer core per (publish workload, connection), as the live load driver runs
    /// them: `live.connections` connections split the workload's arrivals (round robin here),
    /// each with `live.max_in_flight` in flight. Without a `live:` section, one connection.
    mutating func startPublishers(_ cluster: inout VirtualCluster) {
        let live = cluster.scenario.live
        let connections = max(1, live?.connections ?? 1)
        let window = live?.maxInFlight ?? LiveSpec().maxInFlight
        var publishers: [SimPublisher] = []
        for (w, workload) in cluster.scenario.publishes.enumerated() {
            guard let stream = world.streamIndex(workload.stream) else { continue }
            for c in 0..<connections {
                // The live driver's producer ids, so simulated and live read-backs name the same producers.
                let producer = connections == 1 ? UInt32(w + 1) : UInt32(w * 1000 + c + 1)
                publishers.append(SimPublisher(
                    workload: w, stream: stream, payloadBytes: workload.sizeBytes,
                    core: ProducerCore(.init(producer: producer, stream: workload.stream, maxInFlight: window,
                                             timeout: workload.timeout, retries: workload.retries))))
                cluster.schedule(.publishTimeout(request: UInt64(publishers.count - 1), attempt: SimPublisher.sweepTimer),
                               at: workload.start + ProducerCore<NodeID>.sweepInterval)
            }
        }
        world.publishers = publishers
        world.producerIDs = publishers.map(\.core.config.producer)
        world.publishersOfWorkload = cluster.scenario.publishes.indices.map { w in publishers.indices.filter { publishers[$0].workload == w } }
        world.nextConnection = Array(repeating: 0, count: cluster.scenario.publishes.count)
    }

    /// Feeds one input to publisher `p`'s core, then carries out its effects in order (and those
    /// of inputs a synchronous answer feeds meanwhile, e.g. a connect answered at once).
    mutating func drivePublisher(_ p: Int, _ cluster: inout VirtualCluster, _ input: (inout ProducerCore<NodeID>, inout [ProducerEffect<NodeID>]) -> Void) {
        input(&world.publishers[p].core, &producerEffects)
        guard !drainingEffects else { return }
        drainingEffects = true
        var i = 0
        while i < producerEffects.count {
            // Moved out (a payload-free placeholder left behind), not copied: the copy was
            // destroyed through the generic value witness of this multi-payload enum.
            var effect = ProducerEffect<NodeID>.finished
            swap(&effect, &producerEffects[i])
            i += 1
            carryOut(effect, publisher: p, &cluster)
        }
        producerEffects.clearKeepingCapacity()
        drainingEffects = false
    }

    mutating func publishArrives(_ workload: Int, _ cluster: inout VirtualCluster) {
        let spec = cluster.scenario.publishes[workload]
        guard world.publishersOfWorkload.indices.contains(workload),
              !world.publishersOfWorkload[workload].isEmpty else { return }
        let connections = world.publishersOfWorkload[workload]
        let p = connections[world.nextConnection[workload] % connections.count]
        world.nextConnection[workload] += 1
        let t = cluster.now
        drivePublisher(p, &cluster) { $0.messageDue(intended: t, now: t, into: &$1) }
        world.publishers[p].endToEndMeasured.append(false)

        let next = cluster.now + spec.arrivals.interarrival(elapsed: cluster.now - spec.start, &publishRngs[workload])
        if next < min(spec.stop ?? cluster.scenario.duration, cluster.scenario.duration) {
            cluster.schedule(.publish(workload: Int32(workload)), at: next)
        } else {
            for p in connections { drivePublisher(p, &cluster) { $0.scheduleEnded(now: t, into: &$1) } }
        }
    }

    /// A publisher's timer (`SimPublisher.sweepTimer` every `sweepInterval`, or a core timer).
    mutating func publisherTimer(_ p: Int, _ kind: UInt32, _ cluster: inout VirtualCluster) {
        guard p < world.publishers.count else { return }
        let t = cluster.now
        switch kind {
        case SimPublisher.sweepTimer:
            drivePublisher(p, &cluster) { $0.tick(now: t, into: &$1) }
            if !world.publishers[p].core.isFinished {
                cluster.schedule(.publishTimeout(request: UInt64(p), attempt: kind), at: cluster.now + ProducerCore<NodeID>.sweepInterval)
            }
        case SimPublisher.backoffTimer: drivePublisher(p, &cluster) { $0.timerFired(.backoff, now: t, into: &$1) }
        case SimPublisher.resetTimer:
            // The dead broker's reset arrives, after everything it had sent this connection.
            guard let node = world.publishers[p].resetFrom else { return }
            world.publishers[p].resetFrom = nil
            if world.publishers[p].core.leader == node { drivePublisher(p, &cluster) { $0.connectionLost(now: t, into: &$1) } }
        default: drivePublisher(p, &cluster) { $0.timerFired(.reconnect, now: t, into: &$1) }
        }
    }

    mutating func carryOut(_ effect: consuming ProducerEffect<NodeID>, publisher p: Int, _ cluster: inout VirtualCluster) {
        let t = cluster.now
        switch consume effect {
        case .send(let attempt, _, let sequence, _):
            // Fields read in place: a copy of the publisher (its core, ledger and window) cost
            // 1% of a simulated swarm seed in retains and releases.
            guard let leader = world.publishers[p].core.leader else { return }
            if world.spec.clientConnectionReset, !world.up[leader] {
                // The connection is reset: the write fails at once (the live transport's `.lost`).
                drivePublisher(p, &cluster) { $0.answered(attempt: attempt, .lost, now: t, into: &$1) }
                return
            }
            let payload = LogPayload(producerID: UInt64(world.publishers[p].core.config.producer),
                                     producerEpoch: world.publishers[p].core.producerEpoch,
                                     sequence: sequence, bytes: world.publishers[p].payloadBytes)
            // One TCP connection per publisher and leader: publishes reach the leader in the order
            // sent (idempotence refuses a sequence that overtakes its predecessor).
            let arriveBy = world.publishers[p].publishesArriveBy
            let notBefore = arriveBy.node == leader ? arriveBy.time : 0
            if let arrival = sendMail(from: cluster.clientNode, to: leader,
                                      .publish(stream: Int32(world.publishers[p].stream), requestID: UInt64(p) << 40 | attempt, payload: payload),
                                      notBefore: notBefore, &cluster) {
                world.publishers[p].publishesArriveBy = (leader, arrival)
            }
        case .connect(let hint):
            let stream = world.publishers[p].stream
            if let node = connectTarget(stream: stream, hint: hint, cluster) {
                drivePublisher(p, &cluster) { $0.connected(to: node, now: t, into: &$1) }
            } else {
                drivePublisher(p, &cluster) { $0.connectFailed(now: t, into: &$1) }
            }
        case .startTimer(let timer, let after):
            let kind = timer == .backoff ? SimPublisher.backoffTimer : SimPublisher.reconnectTimer
            cluster.schedule(.publishTimeout(request: UInt64(p), attempt: kind), at: cluster.now + after)
        case .acked(let slot, _, let intended, let sent, let offset):
            if intended >= cluster.scenario.warmup { world.publishLatency.record(cluster.now - intended) }
            if let series = world.publishSeries {
                cluster.series.outcome(series, at: cluster.now, succeeded: true, latency: cluster.now - intended)
            }
            let stream = world.publishers[p].stream
            if world.spec.ackPolicy == .all {
                let message = world.publishers[p].core.message(atSlot: slot)
                world.acknowledged.acknowledged(stream: stream, message: message, offset: offset, at: cluster.now)
            }
            // Failover ends with the first ack of an attempt sent after the leader was lost (as
            // live): an ack the old leader sent before dying measures nothing.
            if let lost = world.leaderLostAt[stream], sent >= lost {
                world.failoverTime.record(cluster.now - lost)
                world.leaderLostAt[stream] = nil
            }
        case .failed:
            // Counted in the core's ledger; the series sees the give-up when it happens.
            if let series = world.publishSeries { cluster.series.trial(series.errors, at: cluster.now, hit: true) }
        case .dropped(let count):
            if let series = world.publishSeries {
                for _ in 0..<count { cluster.series.trial(series.errors, at: cluster.now, hit: true) }
            }
        case .finished:
            break
        }
    }

    /// Where a (re)connecting client ends up, as the live transport finds it: the hinted node, or
    /// the leader named by the metadata of a reachable broker, confirmed by that leader itself.
    /// Nil when the target is down or unreachable (a refused connection).
    mutating func connectTarget(stream: Int, hint: NodeID?, _ cluster: VirtualCluster) -> NodeID? {
        let target: NodeID
        if let hint {
            target = hint
        } else {
            guard let leader = lookupLeader(stream, cluster) else { return nil }
            let name = world.streamNames[stream]
            guard world.nodes[leader]?.core.metadata.stream(named: name)?.leader.map({ Int($0.rawValue) }) == leader
            else { return nil }
            target = leader
        }
        guard world.up[target], cluster.processes[target].state != .crashed,
              cluster.network.isReachable(from: cluster.clientNode, to: target) else { return nil }
        return target
    }

    /// Metadata requests to every broker the client reaches (starting one further in rotation
    /// each time, as a client library spreads them), answered instantly from their committed
    /// metadata — the one message exchange not simulated — and decided by the clients' shared
    /// rule (`LeaderLookup`: the highest leader epoch).
    mutating func lookupLeader(_ stream: Int, _ cluster: VirtualCluster) -> NodeID? {
        let count = cluster.clusterNodes.count
        let cursor = lookupCursor
        lookupCursor = (cursor + 1) % max(1, count)
        var answers: [PartitionState] = []
        for step in 0..<count {
            let node = cluster.clusterNodes[(cursor + step) % count]
            guard cluster.processes[node].state == .running, cluster.network.isReachable(from: cluster.clientNode, to: node),
                  let state = world.nodes[node]?.core.metadata.stream(named: world.streamNames[stream]) else { continue }
            answers.append(state)
        }
        return LeaderLookup.freshest(answers, epoch: \.leaderEpoch, namesLeader: { $0.leader != nil })?.leader.map { Int($0.rawValue) }
    }

    /// The simulator's adapter: what a broker's answer to a publish means to the producer core
    /// (the attempt it answers, and the answer). Nil for other messages.
    static func producerAnswer(_ body: BrokerMessage) -> (publisher: Int, attempt: UInt64, ProducerAnswer<NodeID>)? {
        switch body {
        case .publishAck(let requestID, let offset) where requestID & consumerRequestBit == 0:
            return (Int(requestID >> 40), requestID & attemptMask, .acked(offset: offset))
        case .publishReject(let requestID, let reason) where requestID & consumerRequestBit == 0:
            switch reason {
            case .notLeader(let leader):
                return (Int(requestID >> 40), requestID & attemptMask, .refused(kind: "not leader", leaderHint: leader.map { Int($0.rawValue) }))
            case .notEnoughReplicas:
                return (Int(requestID >> 40), requestID & attemptMask, .refused(kind: "not enough replicas", leaderHint: nil))
            case .leadershipChanged:
                return (Int(requestID >> 40), requestID & attemptMask, .refused(kind: "leadership changed", leaderHint: nil))
            case .outOfOrderSequence(let expected):
                return (Int(requestID >> 40), requestID & attemptMask, .outOfOrder(expected: expected))
            case .fencedProducer, .duplicateSequence:
                return (Int(requestID >> 40), requestID & attemptMask, .refused(kind: reason.name.replacingOccurrences(of: "_", with: " "), leaderHint: nil))
            }
        default:
            return nil
        }
    }

    static let attemptMask: UInt64 = (1 << 40) - 1

    mutating func clientReceives(_ body: BrokerMessage, _ cluster: inout VirtualCluster) {
        if let (p, attempt, answer) = Self.producerAnswer(body) {
            guard p < world.publishers.count else { return }
            let t = cluster.now
            drivePublisher(p, &cluster) { $0.answered(attempt: attempt, answer, now: t, into: &$1) }
            return
        }
        switch body {
        case .delivered(let requestID, let entries, _):
            consumerReceives(requestID, entries, &cluster)
        case .publishReject(let requestID, let reason):
            let index = Int((requestID >> 40) & 0x7F_FFFF)
            guard index < world.consumers.count else { return }
            var hint: NodeID?
            if case .notLeader(let leader?) = reason { hint = Int(leader.rawValue) }
            world.consumers[index].core.failed(request: requestID & Self.attemptMask, leaderHint: hint, now: cluster.now)
            consumerPolls(index, &cluster)
        default:
            break
        }
    }


    /// End-to-end latency, measured once per message (the first read, or the first commit
    /// without consumers), from the publisher's intended send time.
    mutating func measureEndToEnd(_ message: MessageID, _ cluster: inout VirtualCluster) {
        guard let (p, slot) = world.publisherSlot(of: message),
              slot < world.publishers[p].endToEndMeasured.count,
              !world.publishers[p].endToEndMeasured[slot] else { return }
        world.publishers[p].endToEndMeasured[slot] = true
        let intended = world.publishers[p].core.intended(atSlot: slot)
        if let latency = ConsumerCore<NodeID>.endToEnd(intended: intended, delivered: cluster.now, measureFrom: cluster.scenario.warmup) {
            world.endToEndLatency.record(latency)
        }
    }

    // MARK: - Consumers (drivers of the Clients consumer core)

    static let consumerRequestBit: UInt64 = 1 << 63

    /// A consumer's poll event: the core says what is due; events that find nothing due are
    /// stale (a watchdog after an answer) and only re-arm.
    mutating func consumerPolls(_ index: Int, _ cluster: inout VirtualCluster) {
        while true {
            let stream = world.consumers[index].stream
            switch world.consumers[index].core.poll(now: cluster.now) {
            case .lookUpLeader:
                let leader = connectTarget(stream: stream, hint: nil, cluster)
                world.consumers[index].core.leaderFound(leader, now: cluster.now)
            case .fetch(let request, let leader, let offset, let maxEntries):
                if world.spec.clientConnectionReset, !world.up[leader] {
                    // The connection to a dead process is refused at once.
                    world.consumers[index].core.failed(request: request, leaderHint: nil, now: cluster.now)
                    continue
                }
                let requestID = Self.consumerRequestBit | UInt64(index) << 40 | (request & Self.attemptMask)
                armConsumer(index, at: cluster.now + world.consumers[index].core.requestTimeout, &cluster)
                sendMail(from: cluster.clientNode, to: leader, .consume(stream: Int32(stream), requestID: requestID,
                                                               offset: offset, maxEntries: Int32(maxEntries)), &cluster)
                return
            case .wait(let until):
                armConsumer(index, at: until, &cluster)
                return
            }
        }
    }

    /// One pending poll event per consumer: an event for another time is stale and ignored.
    mutating func armConsumer(_ index: Int, at time: VirtualTime, _ cluster: inout VirtualCluster) {
        guard world.consumers[index].armedAt != time else { return }
        world.consumers[index].armedAt = time
        cluster.schedule(.consumePoll(consumer: Int32(index)), at: time)
    }

    mutating func consumerPollEvent(_ index: Int, _ cluster: inout VirtualCluster) {
        guard index < world.consumers.count, world.consumers[index].armedAt == cluster.now else { return }
        world.consumers[index].armedAt = nil
        consumerPolls(index, &cluster)
    }

    mutating func consumerReceives(_ requestID: UInt64, _ entries: [LogEntry], _ cluster: inout VirtualCluster) {
        let index = Int((requestID >> 40) & 0x7F_FFFF)
        guard index < world.consumers.count else { return }
        let stream = world.consumers[index].stream
        let accepted = world.consumers[index].core.delivered(
            request: requestID & Self.attemptMask, firstOffset: entries.first?.offset ?? 0, count: entries.count, now: cluster.now)
        for entry in entries[accepted] {
            let message = MessageID(producer: UInt32(truncatingIfNeeded: entry.payload.producerID), sequence: entry.payload.sequence)
            let offset = Int(entry.offset)
            if offset < world.consumedLog[stream].count {
                let earlier = world.consumedLog[stream][offset]
                if earlier != message && world.consumerViolations.count < 20 {
                    world.consumerViolations.append(CheckViolation(check: AcknowledgedLossChecker.name,
                        description: "stream \(world.streamNames[stream]): consumers read \(earlier) and \(message) at committed offset \(offset)",
                        time: cluster.now))
                }
            } else {
                world.consumedLog[stream].append(message)
            }
            measureEndToEnd(message, &cluster)
        }
        consumerPolls(index, &cluster)
    }

    // MARK: - Crashes

    /// Notes when an answer to a publisher, just sent, reaches the client (see `clientsSeeCrash`).
    mutating func noteAnswerInFlight(requestID: UInt64, arrives: VirtualTime) {
        let p = Int(requestID >> 40)
        guard requestID & Self.consumerRequestBit == 0, p < world.publishers.count else { return }
        world.publishers[p].answersArriveBy = max(world.publishers[p].answersArriveBy, arrives)
    }

    /// A broker process died: with `client_connection_reset`, its clients' connections fail
    /// (what is outstanding on them is lost), as a SIGKILLed process's sockets are reset. The
    /// kernel still delivers what the process had sent before it died, and the reset after it:
    /// answers already on their way reach the publisher first, and the reset only then (at
    /// once when none are on the way).
    mutating func clientsSeeCrash(_ node: NodeID, _ cluster: inout VirtualCluster) {
        if world.spec.clientConnectionReset {
            let t = cluster.now
            for p in world.publishers.indices where world.publishers[p].core.leader == node {
                let resetAt = world.publishers[p].answersArriveBy
                if resetAt >= t {  // (at `t`: an answer sent just before the crash may still be queued)
                    world.publishers[p].resetFrom = node
                    cluster.schedule(.publishTimeout(request: UInt64(p), attempt: SimPublisher.resetTimer), at: resetAt)
                } else {
                    drivePublisher(p, &cluster) { $0.connectionLost(now: t, into: &$1) }
                }
            }
            for c in world.consumers.indices where world.consumers[c].core.leader == node {
                if let request = world.consumers[c].core.outstandingRequest {
                    world.consumers[c].core.failed(request: request, leaderHint: nil, now: t)
                    armConsumer(c, at: world.consumers[c].core.nextPollAt, &cluster)
                }
            }
        }
    }
}

extension BrokerWorld {
    /// The publisher slot of a message: (publisher, ledger slot). `mutating` only so that the
    /// producer core's slot lookup borrows the ledger in place instead of copying it
    /// (callgrind, when the world sat behind a class reference: 2 % of a broker run).
    mutating func publisherSlot(of message: MessageID) -> (publisher: Int, slot: Int)? {
        // A plain array of ids: a search over `publishers` copied each publisher.
        guard let p = producerIDs.firstIndex(of: message.producer),
              let slot = publishers[p].core.slot(of: message) else { return nil }
        return (p, slot)
    }
}
