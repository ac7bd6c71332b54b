import Checkers
import Clients
import Replication
import Scenario
import SimCore

/// The simulator as a driver of the Clients cores: publishers and consumers run the same
/// state machines as the live load driver (`ProducerSession`, `ConsumerSession`), with their
/// messages on the simulated network and their timers in virtual time. Only the I/O is here.
extension Simulation {
    // MARK: - Publishers (drivers of the Clients producer core)

    /// One producer core per (publish workload, connection), as the live load driver runs
    /// them: `live.connections` connections split the workload's arrivals (round robin here),
    /// each with `live.max_in_flight` in flight. Without a `live:` section, one connection.
    mutating func startPublishers() {
        let live = scenario.live
        let connections = max(1, live?.connections ?? 1)
        let window = live?.maxInFlight ?? LiveSpec().maxInFlight
        var publishers: [SimPublisher] = []
        for (w, workload) in scenario.publishes.enumerated() {
            guard let stream = brokerBox!.world.streamIndex(workload.stream) else { continue }
            for c in 0..<connections {
                // The live driver's producer ids, so simulated and live read-backs name the same producers.
                let producer = connections == 1 ? UInt32(w + 1) : UInt32(w * 1000 + c + 1)
                publishers.append(SimPublisher(
                    workload: w, stream: stream, payloadBytes: workload.sizeBytes,
                    core: ProducerCore(.init(producer: producer, stream: workload.stream, maxInFlight: window,
                                             timeout: workload.timeout, retries: workload.retries))))
                queue.schedule(.publishTimeout(request: UInt64(publishers.count - 1), attempt: SimPublisher.sweepTimer),
                               at: workload.start + ProducerCore<NodeID>.sweepInterval)
            }
        }
        brokerBox!.world.publishers = publishers
        brokerBox!.world.producerIDs = publishers.map(\.core.config.producer)
        brokerBox!.world.publishersOfWorkload = scenario.publishes.indices.map { w in publishers.indices.filter { publishers[$0].workload == w } }
        brokerBox!.world.nextConnection = Array(repeating: 0, count: scenario.publishes.count)
    }

    /// Feeds one input to publisher `p`'s core, then carries out its effects in order (and those
    /// of inputs a synchronous answer feeds meanwhile, e.g. a connect answered at once).
    mutating func drivePublisher(_ p: Int, _ input: (inout ProducerCore<NodeID>, inout [ProducerEffect<NodeID>]) -> Void) {
        let box = brokerBox!
        input(&box.world.publishers[p].core, &box.producerEffects)
        guard !box.drainingEffects else { return }
        box.drainingEffects = true
        var i = 0
        while i < box.producerEffects.count {
            let effect = box.producerEffects[i]
            i += 1
            carryOut(effect, publisher: p)
        }
        box.producerEffects.removeAll(keepingCapacity: true)
        box.drainingEffects = false
    }

    mutating func publishArrives(_ workload: Int) {
        let spec = scenario.publishes[workload]
        guard brokerBox!.world.publishersOfWorkload.indices.contains(workload),
              !brokerBox!.world.publishersOfWorkload[workload].isEmpty else { return }
        let connections = brokerBox!.world.publishersOfWorkload[workload]
        let p = connections[brokerBox!.world.nextConnection[workload] % connections.count]
        brokerBox!.world.nextConnection[workload] += 1
        let t = now
        drivePublisher(p) { $0.messageDue(intended: t, now: t, into: &$1) }
        brokerBox!.world.publishers[p].endToEndMeasured.append(false)

        var rng = publishRngs[workload]
        let next = now + Self.interarrival(spec.arrivals, elapsed: now - spec.start, &rng)
        publishRngs[workload] = rng
        if next < min(spec.stop ?? scenario.duration, scenario.duration) {
            queue.schedule(.publish(workload: Int32(workload)), at: next)
        } else {
            for p in connections { drivePublisher(p) { $0.scheduleEnded(now: t, into: &$1) } }
        }
    }

    /// A publisher's timer (`SimPublisher.sweepTimer` every `sweepInterval`, or a core timer).
    mutating func publisherTimer(_ p: Int, _ kind: UInt32) {
        guard p < brokerBox!.world.publishers.count else { return }
        let t = now
        switch kind {
        case SimPublisher.sweepTimer:
            drivePublisher(p) { $0.tick(now: t, into: &$1) }
            if !brokerBox!.world.publishers[p].core.isFinished {
                queue.schedule(.publishTimeout(request: UInt64(p), attempt: kind), at: now + ProducerCore<NodeID>.sweepInterval)
            }
        case SimPublisher.backoffTimer: drivePublisher(p) { $0.timerFired(.backoff, now: t, into: &$1) }
        default: drivePublisher(p) { $0.timerFired(.reconnect, now: t, into: &$1) }
        }
    }

    mutating func carryOut(_ effect: ProducerEffect<NodeID>, publisher p: Int) {
        let t = now
        switch effect {
        case .send(let attempt, _, let sequence, _):
            let publisher = brokerBox!.world.publishers[p]
            guard let leader = publisher.core.leader else { return }
            if brokerBox!.world.spec.clientConnectionReset, !brokerBox!.world.up[leader] {
                // The connection is reset: the write fails at once (the live transport's `.lost`).
                drivePublisher(p) { $0.answered(attempt: attempt, .lost, now: t, into: &$1) }
                return
            }
            let payload = LogPayload(producerID: UInt64(publisher.core.config.producer), sequence: sequence, bytes: publisher.payloadBytes)
            sendMail(from: clientNode, to: leader, .publish(stream: Int32(publisher.stream), requestID: UInt64(p) << 40 | attempt, payload: payload))
        case .connect(let hint):
            let stream = brokerBox!.world.publishers[p].stream
            if let node = connectTarget(stream: stream, hint: hint) {
                drivePublisher(p) { $0.connected(to: node, now: t, into: &$1) }
            } else {
                drivePublisher(p) { $0.connectFailed(now: t, into: &$1) }
            }
        case .startTimer(let timer, let after):
            let kind = timer == .backoff ? SimPublisher.backoffTimer : SimPublisher.reconnectTimer
            queue.schedule(.publishTimeout(request: UInt64(p), attempt: kind), at: now + after)
        case .acked(let slot, _, let intended, _, let offset):
            if intended >= warmup { brokerBox!.world.publishLatency.record(now - intended) }
            let stream = brokerBox!.world.publishers[p].stream
            if brokerBox!.world.spec.ackPolicy == .all {
                let message = brokerBox!.world.publishers[p].core.message(atSlot: slot)
                brokerBox!.world.acknowledged.acknowledged(stream: stream, message: message, offset: offset, at: now)
            }
            if let lost = brokerBox!.world.leaderLostAt[stream] {
                brokerBox!.world.failoverTime.record(now - lost)
                brokerBox!.world.leaderLostAt[stream] = nil
            }
        case .failed, .dropped, .finished:
            break  // counted in the core's ledger
        }
    }

    /// Where a (re)connecting client ends up, as the live transport finds it: the hinted node, or
    /// the leader named by the metadata of a reachable broker, confirmed by that leader itself.
    /// Nil when the target is down or unreachable (a refused connection).
    func connectTarget(stream: Int, hint: NodeID?) -> NodeID? {
        let target: NodeID
        if let hint {
            target = hint
        } else {
            guard let leader = lookupLeader(stream) else { return nil }
            let name = brokerBox!.world.streamNames[stream]
            guard brokerBox!.world.nodes[leader]?.core.metadata.stream(named: name)?.leader.map({ Int($0.rawValue) }) == leader
            else { return nil }
            target = leader
        }
        guard brokerBox!.world.up[target], processes[target].state != .crashed,
              network.isReachable(from: clientNode, to: target) else { return nil }
        return target
    }

    /// A metadata request to one broker (rotating through them, as a client library does),
    /// answered instantly from its committed metadata: the one message exchange not simulated.
    func lookupLeader(_ stream: Int) -> NodeID? {
        let count = clusterNodes.count
        let cursor = brokerBox!.lookupCursor
        for step in 0..<count {
            let node = clusterNodes[(cursor + step) % count]
            guard processes[node].state == .running, network.isReachable(from: clientNode, to: node),
                  let state = brokerBox!.world.nodes[node]?.core.metadata.stream(named: brokerBox!.world.streamNames[stream]),
                  let leader = state.leader else { continue }
            brokerBox!.lookupCursor = (cursor + step + 1) % count
            return Int(leader.rawValue)
        }
        brokerBox!.lookupCursor = (cursor + 1) % max(1, count)
        return nil
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
            }
        default:
            return nil
        }
    }

    static let attemptMask: UInt64 = (1 << 40) - 1

    mutating func clientReceives(_ body: BrokerMessage) {
        if let (p, attempt, answer) = Self.producerAnswer(body) {
            guard p < brokerBox!.world.publishers.count else { return }
            let t = now
            drivePublisher(p) { $0.answered(attempt: attempt, answer, now: t, into: &$1) }
            return
        }
        switch body {
        case .delivered(let requestID, let entries, _):
            consumerReceives(requestID, entries)
        case .publishReject(let requestID, let reason):
            let index = Int((requestID >> 40) & 0x7F_FFFF)
            guard index < brokerBox!.world.consumers.count else { return }
            var hint: NodeID?
            if case .notLeader(let leader?) = reason { hint = Int(leader.rawValue) }
            brokerBox!.world.consumers[index].core.failed(request: requestID & Self.attemptMask, leaderHint: hint, now: now)
            consumerPolls(index)
        default:
            break
        }
    }

    /// The publisher slot of a message: (publisher, ledger slot).
    func publisherSlot(of message: MessageID) -> (publisher: Int, slot: Int)? {
        brokerBox!.world.publisherSlot(of: message)
    }

    /// End-to-end latency, measured once per message (the first read, or the first commit
    /// without consumers), from the publisher's intended send time.
    mutating func measureEndToEnd(_ message: MessageID) {
        guard let (p, slot) = publisherSlot(of: message),
              slot < brokerBox!.world.publishers[p].endToEndMeasured.count,
              !brokerBox!.world.publishers[p].endToEndMeasured[slot] else { return }
        brokerBox!.world.publishers[p].endToEndMeasured[slot] = true
        let intended = brokerBox!.world.publishers[p].core.intended(atSlot: slot)
        if let latency = ConsumerCore<NodeID>.endToEnd(intended: intended, delivered: now, measureFrom: warmup) {
            brokerBox!.world.endToEndLatency.record(latency)
        }
    }

    // MARK: - Consumers (drivers of the Clients consumer core)

    static let consumerRequestBit: UInt64 = 1 << 63

    /// A consumer's poll event: the core says what is due; events that find nothing due are
    /// stale (a watchdog after an answer) and only re-arm.
    mutating func consumerPolls(_ index: Int) {
        while true {
            let stream = brokerBox!.world.consumers[index].stream
            switch brokerBox!.world.consumers[index].core.poll(now: now) {
            case .lookUpLeader:
                let leader = connectTarget(stream: stream, hint: nil)
                brokerBox!.world.consumers[index].core.leaderFound(leader, now: now)
            case .fetch(let request, let leader, let offset, let maxEntries):
                if brokerBox!.world.spec.clientConnectionReset, !brokerBox!.world.up[leader] {
                    // The connection to a dead process is refused at once.
                    brokerBox!.world.consumers[index].core.failed(request: request, leaderHint: nil, now: now)
                    continue
                }
                let requestID = Self.consumerRequestBit | UInt64(index) << 40 | (request & Self.attemptMask)
                armConsumer(index, at: now + brokerBox!.world.consumers[index].core.requestTimeout)
                sendMail(from: clientNode, to: leader, .consume(stream: Int32(stream), requestID: requestID,
                                                               offset: offset, maxEntries: Int32(maxEntries)))
                return
            case .wait(let until):
                armConsumer(index, at: until)
                return
            }
        }
    }

    /// One pending poll event per consumer: an event for another time is stale and ignored.
    mutating func armConsumer(_ index: Int, at time: VirtualTime) {
        guard brokerBox!.world.consumers[index].armedAt != time else { return }
        brokerBox!.world.consumers[index].armedAt = time
        queue.schedule(.consumePoll(consumer: Int32(index)), at: time)
    }

    mutating func consumerPollEvent(_ index: Int) {
        guard index < brokerBox!.world.consumers.count, brokerBox!.world.consumers[index].armedAt == now else { return }
        brokerBox!.world.consumers[index].armedAt = nil
        consumerPolls(index)
    }

    mutating func consumerReceives(_ requestID: UInt64, _ entries: [LogEntry]) {
        let index = Int((requestID >> 40) & 0x7F_FFFF)
        guard index < brokerBox!.world.consumers.count else { return }
        let stream = brokerBox!.world.consumers[index].stream
        let accepted = brokerBox!.world.consumers[index].core.delivered(
            request: requestID & Self.attemptMask, firstOffset: entries.first?.offset ?? 0, count: entries.count, now: now)
        for entry in entries[accepted] {
            let message = MessageID(producer: UInt32(truncatingIfNeeded: entry.payload.producerID), sequence: entry.payload.sequence)
            let offset = Int(entry.offset)
            if offset < brokerBox!.world.consumedLog[stream].count {
                let earlier = brokerBox!.world.consumedLog[stream][offset]
                if earlier != message && brokerBox!.world.consumerViolations.count < 20 {
                    brokerBox!.world.consumerViolations.append(CheckViolation(check: AcknowledgedLossChecker.name,
                        description: "stream \(brokerBox!.world.streamNames[stream]): consumers read \(earlier) and \(message) at committed offset \(offset)",
                        time: now))
                }
            } else {
                brokerBox!.world.consumedLog[stream].append(message)
            }
            measureEndToEnd(message)
        }
        consumerPolls(index)
    }

    // MARK: - Crashes

    /// A broker process died: with `client_connection_reset`, its clients' connections fail now
    /// (what is outstanding on them is lost), as a SIGKILLed process's sockets are reset.
    mutating func clientsSeeCrash(_ node: NodeID) {
        if brokerBox!.world.spec.clientConnectionReset {
            let t = now
            for p in brokerBox!.world.publishers.indices where brokerBox!.world.publishers[p].core.leader == node {
                drivePublisher(p) { $0.connectionLost(now: t, into: &$1) }
            }
            for c in brokerBox!.world.consumers.indices where brokerBox!.world.consumers[c].core.leader == node {
                if let request = brokerBox!.world.consumers[c].core.outstandingRequest {
                    brokerBox!.world.consumers[c].core.failed(request: request, leaderHint: nil, now: t)
                    armConsumer(c, at: brokerBox!.world.consumers[c].core.nextPollAt)
                }
            }
        }
    }
}

extension BrokerWorld {
    /// The publisher slot of a message: (publisher, ledger slot). `mutating` only so that a call
    /// through `brokerBox!.world` accesses the world in place: as a plain method it copied the
    /// whole world per call, and the lookup written out through `brokerBox!` copied the
    /// publisher's ledger (callgrind: 2 % of a broker run).
    mutating func publisherSlot(of message: MessageID) -> (publisher: Int, slot: Int)? {
        // A plain array of ids: a search over `publishers` copied each publisher.
        guard let p = producerIDs.firstIndex(of: message.producer),
              let slot = publishers[p].core.slot(of: message) else { return nil }
        return (p, slot)
    }
}
