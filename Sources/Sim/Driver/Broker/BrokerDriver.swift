import Broker
import BrokerSetup
import Checkers
import Clients
import Raft
import Replication
import Scenario
import SimCore
import Stats

/// The simulator as a *driver* of the broker's sans-IO state machines (the Raft metadata
/// group, the metadata state machine, the stream replicas): it delivers their messages over
/// the simulated network, carries out their disk effects on the simulated disk, fires their
/// timers in virtual time, and feeds crashes and restarts. No protocol decision is made here.
extension Simulation {
    // MARK: - Building

    static func makeBrokerWorld(_ spec: BrokerSpec, nodes: [NodeSpec], root: SeededGenerator) throws -> BrokerWorld {
        let count = nodes.count
        // The live broker's placement rule (BrokerSetup): replica order is preference order.
        let replicaNodes = spec.streams.indices.map { StreamPlacement.scenario(spec, stream: $0, nodeNames: nodes.map(\.name)) }
        var configs: [[ReplicaConfig]] = []
        for stream in spec.streams.indices {
            configs.append(replicaNodes[stream].map { node in ReplicaConfig(scenario: spec, brokerID: BrokerID(UInt32(node))) })
        }
        let streams = spec.streams.count
        var world = BrokerWorld(
            spec: spec, streamNames: spec.streams.map(\.name), replicaNodes: replicaNodes,
            nodes: Array(repeating: nil, count: count + 1),
            raftRngs: (0..<count).map { root.stream("raft.\(nodes[$0].name)") },
            replicaConfigs: configs,
            acknowledged: AcknowledgedLossChecker(streams: streams),
            hwMonotonic: HighWatermarkMonotonicChecker(streams: streams, nodes: count + 1),
            leaderEpochs: OneLeaderPerEpochChecker(streams: streams),
            leaderLostAt: Array(repeating: nil, count: streams),
            underReplicatedSince: Array(repeating: nil, count: streams),
            underReplicatedTotal: Array(repeating: 0, count: streams),
            leaderlessSince: Array(repeating: nil, count: streams),
            leaderlessTotal: Array(repeating: 0, count: streams))
        world.up = Array(repeating: false, count: count + 1)
        world.tracedEpoch = Array(repeating: 0, count: streams)
        world.hosts = (0...count).map { node in replicaNodes.map { $0.contains(node) } }
        world.committedMeasured = Array(repeating: 0, count: streams)
        return world
    }

    /// Builds (or, after a crash, rebuilds from disk) the broker process on `node`.
    mutating func bootBroker(_ node: NodeID) {
        guard var world = brokerBox?.world else { return }
        let disk = processes[node].disk
        let (hardState, log, offsets) = BrokerStorage.recoverRaft(from: disk)
        let spec = world.spec
        // Each incarnation draws election timeouts from its own stream: a restarted node
        // must not replay the timeouts of its previous life.
        let rng = world.raftRngs[node].stream("incarnation.\(processes[node].incarnation)")
        let raft = RaftNode<MetadataCommand>(
            config: RaftTiming(scenario: spec).config(id: node, peers: clusterNodes),
            restoring: hardState, log: log, appliedIndex: 0, rng: rng)
        var replicas: [StreamReplica?] = Array(repeating: nil, count: world.streamNames.count)
        var restartEffects: [(Int, [ReplicaEffect])] = []
        for stream in world.streamNames.indices {
            guard let position = world.replicaNodes[stream].firstIndex(of: node) else { continue }
            var replica = StreamReplica(stream: world.streamNames[stream], config: world.replicaConfigs[stream][position])
            if processes[node].incarnation > 0 {
                // A restart: the replica learns it came back from disk (it must then not lead
                // on in its old epoch). Its start-up effects (e.g. rewriting a stale epoch
                // cache) are carried out once the node is registered, below.
                var recovered = BrokerStorage.recoverStream(stream, from: disk)
                recovered.session = UInt64(processes[node].incarnation)
                restartEffects.append((stream, replica.handle(.restart(recovered), now: processes[node].clock.now(now))))
            }
            replicas[stream] = replica
        }
        let streams = world.streamNames.count
        world.up[node] = true
        let core = BrokerCore(raft: raft, metadata: MetadataStateMachine(config: MetadataConfig(uncleanElection: spec.uncleanElection)),
                              streamNames: world.streamNames, replicas: replicas)
        world.nodes[node] = BrokerNode(
            core: core, raftLogOffsets: offsets,
            appendChainEnd: Array(repeating: 0, count: streams), fsyncChainEnd: Array(repeating: 0, count: streams),
            logFsyncTickets: Array(repeating: [], count: streams),
            lastHighWatermark: replicas.map { $0?.highWatermark ?? 0 })
        brokerBox!.world = world
        let incarnation = processes[node].incarnation
        queue.schedule(.raftTick(node: Int32(node), incarnation: incarnation), at: now + spec.raftTick)
        queue.schedule(.replicaTick(node: Int32(node), incarnation: incarnation), at: now + spec.fetchInterval)
        for (stream, effects) in restartEffects {
            for effect in effects { carryOut(effect, node: node, stream: stream) }
        }
        drainRaft(node)
    }

    mutating func scheduleBrokerStart() {
        guard brokerBox != nil else { return }
        for node in clusterNodes { bootBroker(node) }
        for (index, workload) in scenario.publishes.enumerated() {
            var rng = publishRngs[index]
            let first = workload.start + Self.interarrival(workload.arrivals, elapsed: 0, &rng)
            publishRngs[index] = rng
            queue.schedule(.publish(workload: Int32(index)), at: first)
        }
        startPublishers()
        queue.schedule(.adminTick, at: 0)
        brokerBox!.world.consumedLog = Array(repeating: [], count: brokerBox!.world.streamNames.count)
        for (index, consumer) in scenario.consumers.enumerated() {
            guard let stream = brokerBox!.world.streamIndex(consumer.stream) else { continue }
            brokerBox!.world.consumers.append(SimConsumer(
                stream: stream, core: ConsumerCore(start: consumer.start, pollInterval: consumer.pollInterval, maxEntries: consumer.maxBatch)))
            armConsumer(brokerBox!.world.consumers.count - 1, at: consumer.start)
        }
        queue.schedule(.endSafetyPhase, at: scenario.duration)
    }

    // MARK: - Events

    mutating func handleBroker(_ event: SimEvent) {
        switch event {
        case .brokerMail(let slot):
            deliverMail(Int(slot), event: event)
        case .raftTick(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            brokerBox!.world.nodes[n]!.core.raft.tick()
            queue.schedule(event, at: now + brokerBox!.world.spec.raftTick)
            drainRaft(n)
        case .raftPersisted(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            raftPersisted(n)
        case .replicaTick(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            for stream in brokerBox!.world.streamNames.indices where brokerBox!.world.hosts[n][stream] {
                replicaInput(n, stream, .tick)
            }
            queue.schedule(event, at: now + brokerBox!.world.spec.fetchInterval)
        case .logAppended(let node, let incarnation, let stream, let upTo):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            replicaInput(n, Int(stream), .appendCompleted(upTo: upTo))
        case .logSynced(let node, let incarnation, let stream, let upTo):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            if !brokerBox!.world.nodes[n]!.logFsyncTickets[Int(stream)].isEmpty {
                let ticket = brokerBox!.world.nodes[n]!.logFsyncTickets[Int(stream)].removeFirst()
                processes[n].disk.completeFsync(ticket)
            }
            replicaInput(n, Int(stream), .fsyncCompleted(upTo: upTo))
        case .checkpointSynced(let node, let incarnation, let ticket):
            guard let n = liveBroker(Int(node), incarnation, event) else { return }
            if let i = brokerBox!.world.nodes[n]!.checkpointTickets.firstIndex(where: { $0.id == ticket }) {
                processes[n].disk.completeFsync(brokerBox!.world.nodes[n]!.checkpointTickets.remove(at: i))
            }
        case .publish(let workload):
            publishArrives(Int(workload))
        case .publishTimeout(let publisher, let timer):
            publisherTimer(Int(publisher), timer)
        case .adminTick:
            adminTick()
        case .consumePoll(let consumer):
            consumerPollEvent(Int(consumer))
        case .endSafetyPhase:
            beginLivenessPhase()
        case .livenessCheck:
            checkConvergence()
        default:
            break
        }
    }

    /// The node if it runs the broker in this incarnation; holds the event while paused.
    mutating func liveBroker(_ node: NodeID, _ incarnation: UInt32, _ event: SimEvent) -> NodeID? {
        guard processes[node].incarnation == incarnation, brokerBox?.world.up[node] == true else { return nil }
        switch processes[node].state {
        case .crashed: return nil
        case .paused:
            heldWhilePaused[node].append(event)
            return nil
        case .running: return node
        }
    }

    // MARK: - Network

    mutating func sendMail(from: NodeID, to: NodeID, _ body: BrokerMessage) {
        let slot: Int32
        let mail = BrokerMail(from: from, to: to, body: body)
        if let free = brokerBox!.world.freeMail.popLast() {
            slot = free
            brokerBox!.world.mail[Int(slot)] = mail
        } else {
            slot = Int32(brokerBox!.world.mail.count)
            brokerBox!.world.mail.append(mail)
        }
        let transmission = network.transmit(from: from, to: to, bytes: body.wireBytes, now: now)
        var extra: VirtualTime = 0
        if let crossZone = crossZoneExtra, nodeZone[from] != nodeZone[to] { extra = crossZone.sampleNanos(&crossZoneRng) }
        guard let first = transmission.first else {
            releaseMail(slot)
            return
        }
        queue.schedule(.brokerMail(slot: slot), at: first + extra)
        if let second = transmission.second {
            // A duplicate needs its own slot: the first delivery frees its slot.
            let copy = Int32(brokerBox!.world.mail.count)
            brokerBox!.world.mail.append(mail)
            queue.schedule(.brokerMail(slot: copy), at: second + extra)
        }
    }

    mutating func releaseMail(_ slot: Int32) {
        brokerBox!.world.mail[Int(slot)] = nil
        brokerBox!.world.freeMail.append(slot)
    }

    mutating func deliverMail(_ slot: Int, event: SimEvent) {
        guard let mail = brokerBox!.world.mail[slot] else { return }
        let to = mail.to
        if to != clientNode {
            switch processes[to].state {
            case .crashed:
                releaseMail(Int32(slot))
                return
            case .paused:
                heldWhilePaused[to].append(event)
                return
            case .running:
                break
            }
        }
        releaseMail(Int32(slot))
        guard network.admitArrival(from: mail.from, to: to) else { return }
        if to == clientNode {
            clientReceives(mail.body)
            return
        }
        guard brokerBox!.world.up[to] else { return }
        switch mail.body {
        case .raft(let message):
            brokerBox!.world.nodes[to]!.core.raft.step(message)
            drainRaft(to)
        case .replication(let message):
            guard let stream = brokerBox!.world.streamIndex(message.stream),
                  brokerBox!.world.hosts[to][stream] else { return }
            replicaInput(to, stream, .receive(message))
        case .proposal(let command):
            propose(command, at: to)
        case .publish(let stream, let requestID, let payload):
            if brokerBox!.world.hosts[to][Int(stream)] {
                replicaInput(to, Int(stream), .publish(requestID: requestID, payload: payload))
            } else {
                sendMail(from: to, to: clientNode, .publishReject(requestID: requestID, notLeaderHere(to, stream: Int(stream))))
            }
        case .consume(let stream, let requestID, let offset, let maxEntries):
            if brokerBox!.world.hosts[to][Int(stream)] {
                replicaInput(to, Int(stream), .consume(requestID: requestID, offset: offset, maxEntries: Int(maxEntries)))
            } else {
                sendMail(from: to, to: clientNode, .publishReject(requestID: requestID, notLeaderHere(to, stream: Int(stream))))
            }
        case .publishAck, .publishReject, .delivered:
            break
        }
    }

    /// A node's answer for a stream it holds no replica of (the core names the leader it knows).
    func notLeaderHere(_ node: NodeID, stream: Int) -> PublishRejection {
        brokerBox!.world.nodes[node]!.core.notLeaderHere(stream: brokerBox!.world.streamNames[stream]) ?? .notLeader(leader: nil)
    }

    // MARK: - Raft driving (persist, then send, then apply, then advance)

    mutating func drainRaft(_ node: NodeID) {
        // Work on the node in place (through the box): copying a BrokerNode would copy the
        // Raft log on the next mutation.
        guard let box = brokerBox, box.world.up[node], !box.world.nodes[node]!.raftPersisting,
              box.world.nodes[node]!.core.raft.hasReady else { return }
        let ready = box.world.nodes[node]!.core.raft.ready()
        if box.world.nodes[node]!.core.raft.role == .leader {
            box.world.electionSafety.leaderElected(term: box.world.nodes[node]!.core.raft.term, node: node, at: now) { [processes] in
                processes[$0].name
            }
        }
        var latency: Int64 = 0
        if let truncate = ready.truncateFrom, truncate >= 1 {
            let keep = Int(truncate - 1)
            if keep < box.world.nodes[node]!.raftLogOffsets.count {
                processes[node].disk.truncate(BrokerStorage.raftLog, to: box.world.nodes[node]!.raftLogOffsets[keep])
                box.world.nodes[node]!.raftLogOffsets.removeSubrange(keep...)
            }
        }
        var wrote = false
        for entry in ready.entriesToPersist {
            let bytes = BrokerStorage.encode(entry)
            box.world.nodes[node]!.raftLogOffsets.append(processes[node].disk.read(BrokerStorage.raftLog).count)
            latency = max(latency, processes[node].disk.append(BrokerStorage.raftLog, bytes))
            box.world.diskBytesWritten += UInt64(bytes.count)
            wrote = true
        }
        if let hard = ready.hardState {
            let bytes = BrokerStorage.encode(hard)
            latency = max(latency, processes[node].disk.write(BrokerStorage.raftState, at: 0, bytes))
            box.world.diskBytesWritten += UInt64(bytes.count)
            wrote = true
        }
        box.world.nodes[node]!.raftInFlight = ready
        box.world.nodes[node]!.raftPersisting = true
        if wrote {
            // Raft §5: persist before answering. One fsync per file per Ready.
            for file in [BrokerStorage.raftLog, BrokerStorage.raftState] {
                let ticket = processes[node].disk.beginFsync(file)
                box.world.nodes[node]!.raftTickets.append(ticket)
                latency = max(latency, ticket.latency)
                box.world.fsyncs += 1
            }
            queue.schedule(.raftPersisted(node: Int32(node), incarnation: processes[node].incarnation), at: now + latency)
        } else {
            raftPersisted(node)
        }
    }

    mutating func raftPersisted(_ node: NodeID) {
        guard let box = brokerBox, box.world.up[node], let ready = box.world.nodes[node]!.raftInFlight else { return }
        for ticket in box.world.nodes[node]!.raftTickets { processes[node].disk.completeFsync(ticket) }
        box.world.nodes[node]!.raftTickets.removeAll()
        box.world.nodes[node]!.raftInFlight = nil
        for message in ready.messages {
            sendMail(from: node, to: message.to, .raft(message))
        }
        for entry in ready.committedEntries {
            // One entry at a time, carrying out each entry's effects before the next.
            let outputs = box.world.nodes[node]!.core.applyCommitted([entry], now: processes[node].clock.now(now))
            for output in outputs {
                switch output {
                case .streamState(let stream, let state):
                    observeStreamState(stream, state)
                case .replicaEffects(let stream, let effects):
                    for effect in effects { carryOut(effect, node: node, stream: stream) }
                    observeHighWatermark(node, stream)
                case .replicaCreated, .streamDeleted:
                    break  // the simulated stream set is fixed at start (no `newStreamConfig`)
                }
            }
        }
        box.world.nodes[node]?.core.raft.advance()
        box.world.nodes[node]?.raftPersisting = false
        drainRaft(node)
    }

    /// Checkers and availability measurements see every committed stream state.
    mutating func observeStreamState(_ stream: Int, _ state: PartitionState) {
        if let sink = traceSink, state.epoch > brokerBox!.world.tracedEpoch[stream] {
            // The first node to apply a new stream state tells the trace (a line, not an event).
            brokerBox!.world.tracedEpoch[stream] = state.epoch
            var line = TraceLine(time: now, sequence: 0, kind: "stream_state")
            line.add("stream", state.name)
            line.add("leader", state.leader.map { processes[Int($0.rawValue)].name } ?? "none")
            line.add("leader_epoch", state.leaderEpoch)
            line.add("epoch", state.epoch)
            line.add("isr", state.isr.map { processes[Int($0.rawValue)].name }.joined(separator: ","))
            sink.write(line: line.json)
        }
        if let leader = state.leader {
            brokerBox!.world.leaderEpochs.becameLeader(stream: stream, node: Int(leader.rawValue), epoch: state.leaderEpoch, at: now,
                                                  describe: { [processes] in processes[$0].name }, streamName: state.name)
            if let since = brokerBox!.world.leaderlessSince[stream] {
                brokerBox!.world.leaderlessTotal[stream] += now - since
                brokerBox!.world.leaderlessSince[stream] = nil
            }
        } else if brokerBox!.world.leaderlessSince[stream] == nil {
            brokerBox!.world.leaderlessSince[stream] = now
        }
        let full = state.isr.count >= state.replicas.count
        if full, let since = brokerBox!.world.underReplicatedSince[stream] {
            brokerBox!.world.underReplicatedTotal[stream] += now - since
            brokerBox!.world.underReplicatedSince[stream] = nil
        } else if !full, brokerBox!.world.underReplicatedSince[stream] == nil {
            brokerBox!.world.underReplicatedSince[stream] = now
        }
    }

    mutating func propose(_ command: MetadataCommand, at node: NodeID) {
        guard let box = brokerBox, box.world.up[node] else { return }
        switch box.world.nodes[node]!.core.route(command) {
        case .proposed: drainRaft(node)
        case .forward(let leader): sendMail(from: node, to: leader, .proposal(command))
        case .dropped: break
        }
    }

    // MARK: - Replicas

    mutating func replicaInput(_ node: NodeID, _ stream: Int, _ input: ReplicaInput) {
        guard brokerBox!.world.up[node], brokerBox!.world.hosts[node][stream] else { return }
        // The replica's timers run on its process's clock, so clock faults (offset, drift,
        // jumps) reach the protocol as they would on a real machine.
        let effects = brokerBox!.world.nodes[node]!.core.replicas[stream]!.handle(input, now: processes[node].clock.now(now))
        for effect in effects { carryOut(effect, node: node, stream: stream) }
        observeHighWatermark(node, stream)
    }

    mutating func carryOut(_ effect: ReplicaEffect, node: NodeID, stream: Int) {
        let incarnation = processes[node].incarnation
        switch effect {
        case .send(let to, let message):
            sendMail(from: node, to: Int(to.rawValue), .replication(message))
        case .appendToLog(let entries):
            guard let last = entries.last else { return }
            let bytes = BrokerStorage.encode(entries)
            let latency = processes[node].disk.append(BrokerStorage.streamLog(stream), bytes)
            brokerBox!.world.diskBytesWritten += UInt64(bytes.count)
            let done = max(brokerBox!.world.nodes[node]!.appendChainEnd[stream], now + latency)
            brokerBox!.world.nodes[node]!.appendChainEnd[stream] = done
            queue.schedule(.logAppended(node: Int32(node), incarnation: incarnation, stream: Int32(stream), upTo: last.offset + 1), at: done)
        case .truncateLog(let from):
            processes[node].disk.truncate(BrokerStorage.streamLog(stream), to: Int(from) * BrokerStorage.logRecordSize)
        case .fsync(let upTo):
            let ticket = processes[node].disk.beginFsync(BrokerStorage.streamLog(stream))
            brokerBox!.world.fsyncs += 1
            brokerBox!.world.nodes[node]!.logFsyncTickets[stream].append(ticket)
            let done = max(brokerBox!.world.nodes[node]!.fsyncChainEnd[stream], now + ticket.latency)
            brokerBox!.world.nodes[node]!.fsyncChainEnd[stream] = done
            queue.schedule(.logSynced(node: Int32(node), incarnation: incarnation, stream: Int32(stream), upTo: upTo), at: done)
        case .checkpointHighWatermark(let hw):
            checkpoint(BrokerStorage.highWatermark(stream), BrokerStorage.encodeHighWatermark(hw), node: node)
        case .persistEpochCache(let cache):
            checkpoint(BrokerStorage.epochCache(stream), BrokerStorage.encode(cache), node: node)
        case .ack(let requestID, let offset):
            sendMail(from: node, to: clientNode, .publishAck(requestID: requestID, offset: offset))
        case .deliver(let requestID, let entries, let highWatermark):
            sendMail(from: node, to: clientNode, .delivered(requestID: requestID, entries: entries, highWatermark: highWatermark))
        case .reject(let requestID, let reason):
            sendMail(from: node, to: clientNode, .publishReject(requestID: requestID, reason))
        case .propose(let command):
            propose(command, at: node)
        }
    }

    /// Small files are rewritten whole and fsynced (Kafka's checkpoint files).
    mutating func checkpoint(_ file: String, _ bytes: [UInt8], node: NodeID) {
        processes[node].disk.truncate(file, to: 0)
        _ = processes[node].disk.write(file, at: 0, bytes)
        brokerBox!.world.diskBytesWritten += UInt64(bytes.count)
        let ticket = processes[node].disk.beginFsync(file)
        brokerBox!.world.fsyncs += 1
        brokerBox!.world.nodes[node]!.checkpointTickets.append(ticket)
        queue.schedule(.checkpointSynced(node: Int32(node), incarnation: processes[node].incarnation, ticket: ticket.id),
                       at: now + ticket.latency)
    }

    mutating func observeHighWatermark(_ node: NodeID, _ stream: Int) {
        guard let box = brokerBox, box.world.up[node], box.world.hosts[node][stream] else { return }
        let hw = box.world.nodes[node]!.core.replicas[stream]!.highWatermark
        let previous = brokerBox!.world.nodes[node]!.lastHighWatermark[stream]
        guard hw != previous else { return }
        brokerBox!.world.nodes[node]!.lastHighWatermark[stream] = hw
        let name = brokerBox!.world.streamNames[stream]
        brokerBox!.world.hwMonotonic.observe(stream: stream, node: node, incarnation: processes[node].incarnation, highWatermark: hw,
                                         at: now, streamName: name, nodeName: processes[node].name)
        guard hw > previous, box.world.nodes[node]!.core.replicas[stream]!.isLeader,
              let partition = box.world.nodes[node]!.core.replicas[stream]!.partition else { return }
        brokerBox!.world.minISR.highWatermarkAdvanced(streamName: name, leader: processes[node].name, to: hw,
                                                  isrSize: partition.isr.count, minISR: partition.minISR, at: now)
        // End-to-end latency without consumers: a message is consumable once the leader's HW
        // passes it, measured from the publisher's intended send time. With consumers, they
        // measure it when they read the message.
        guard scenario.consumers.isEmpty else { return }
        var offset = max(brokerBox!.world.committedMeasured[stream], previous)
        while offset < hw && Int(offset) < box.world.nodes[node]!.core.replicas[stream]!.log.count {
            let payload = box.world.nodes[node]!.core.replicas[stream]!.log[Int(offset)].payload
            measureEndToEnd(MessageID(producer: UInt32(truncatingIfNeeded: payload.producerID), sequence: payload.sequence))
            offset += 1
        }
        brokerBox!.world.committedMeasured[stream] = max(brokerBox!.world.committedMeasured[stream], offset)
    }

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
                let ledger = brokerBox!.world.publishers[p].core.ledger
                brokerBox!.world.acknowledged.acknowledged(stream: stream, message: MessageID(producer: ledger.producer[slot], sequence: ledger.sequence[slot]),
                                                           offset: offset, at: now)
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
        guard let p = brokerBox!.world.publishers.firstIndex(where: { $0.core.config.producer == message.producer }),
              let slot = brokerBox!.world.publishers[p].core.ledger.slot(of: message) else { return nil }
        return (p, slot)
    }

    /// End-to-end latency, measured once per message (the first read, or the first commit
    /// without consumers), from the publisher's intended send time.
    mutating func measureEndToEnd(_ message: MessageID) {
        guard let (p, slot) = publisherSlot(of: message),
              slot < brokerBox!.world.publishers[p].endToEndMeasured.count,
              !brokerBox!.world.publishers[p].endToEndMeasured[slot] else { return }
        brokerBox!.world.publishers[p].endToEndMeasured[slot] = true
        let intended = brokerBox!.world.publishers[p].core.ledger.intended[slot]
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

    // MARK: - Administration and phases

    /// Creates the scenario's streams through whichever node leads the metadata group.
    mutating func adminTick() {
        guard !brokerBox!.world.streamsCreated else { return }
        if let leader = metadataLeader() {
            let metadata = brokerBox!.world.nodes[leader]!.core.metadata
            let missing = brokerBox!.world.spec.streams.indices.filter { metadata.stream(named: brokerBox!.world.streamNames[$0]) == nil }
            if missing.isEmpty {
                brokerBox!.world.streamsCreated = true
                return
            }
            if now - brokerBox!.world.lastCreateProposal >= 500 * Nanos.millisecond {
                brokerBox!.world.lastCreateProposal = now
                for stream in missing {
                    let definition = brokerBox!.world.spec.streams[stream]
                    let spec = StreamSpec(name: definition.name, subject: definition.subject,
                                          replicationFactor: definition.replicationFactor, minISR: definition.minISR,
                                          replicas: brokerBox!.world.replicaNodes[stream].map { BrokerID(UInt32($0)) })
                    propose(.createStream(spec), at: leader)
                }
            }
        }
        queue.schedule(.adminTick, at: now + 20 * Nanos.millisecond)
    }

    func metadataLeader() -> NodeID? {
        var best: (node: NodeID, term: UInt64)?
        for node in clusterNodes where processes[node].state == .running {
            guard let raft = brokerBox?.world.nodes[node]?.core.raft, raft.role == .leader else { continue }
            if best == nil || raft.term > best!.term { best = (node, raft.term) }
        }
        return best?.node
    }

    /// Current leader of a stream per the metadata group's leader (or any broker that knows).
    func streamLeader(_ stream: Int) -> NodeID? {
        let name = brokerBox!.world.streamNames[stream]
        if let leader = metadataLeader(), let state = brokerBox!.world.nodes[leader]?.core.metadata.stream(named: name) {
            return state.leader.map { Int($0.rawValue) }
        }
        return nil
    }

    /// End of the safety phase: every fault is healed; the liveness phase begins.
    mutating func beginLivenessPhase() {
        brokerBox!.world.inLivenessPhase = true
        for node in clusterNodes where processes[node].state == .crashed { restart(node) }
        resume(clusterNodes.filter { processes[$0].state == .paused })
        network.healPartitions()
        network.clearAllLinkFaults()
        partitioned = false
        activeLinkFaults = 0
        for station in slowdown.indices { slowdown[station] = 1 }
        for node in clusterNodes { processes[node].disk.config = baseDiskConfig }
        noteHealth()
        brokerBox!.world.livenessDeadline = now + livenessTimeout
        queue.schedule(.livenessCheck, at: now + 50 * Nanos.millisecond)
    }

    var livenessTimeout: VirtualTime { max(20 * Nanos.second, 20 * brokerBox!.world.spec.leaderTimeout) }

    mutating func checkConvergence() {
        if let problem = convergenceProblem() {
            brokerBox!.world.lastConvergenceProblem = problem
            if now < brokerBox!.world.livenessDeadline {
                queue.schedule(.livenessCheck, at: now + 50 * Nanos.millisecond)
            }
            return
        }
        brokerBox!.world.converged = true
        brokerBox!.world.convergedAt = now
        stopAfterConvergence = true
    }

    /// Why the cluster has not converged yet, or nil: one metadata leader, every stream led
    /// with a full ISR, every replica holding the leader's log up to its end, committed,
    /// and no publish still in flight.
    func convergenceProblem() -> String? {
        guard let metaLeader = metadataLeader() else { return "no metadata leader" }
        if brokerBox!.world.publishers.contains(where: { $0.core.outstanding > 0 }) { return "publishes still in flight" }
        for stream in brokerBox!.world.streamNames.indices {
            let name = brokerBox!.world.streamNames[stream]
            guard let state = brokerBox!.world.nodes[metaLeader]!.core.metadata.stream(named: name) else { return "stream \(name) not created" }
            guard let leader = state.leader.map({ Int($0.rawValue) }) else { return "stream \(name) has no leader" }
            guard state.isr.count == state.replicas.count else {
                let missing = state.replicas.filter { !state.isr.contains($0) }.map { id -> String in
                    let node = Int(id.rawValue)
                    guard let replica = brokerBox!.world.nodes[node]?.core.replicas[stream] else { return "\(processes[node].name) down" }
                    return "\(processes[node].name) \(replica.role) LEO \(replica.logEndOffset) HW \(replica.highWatermark) epoch \(replica.leaderEpoch ?? 0)"
                }
                return "stream \(name) ISR \(state.isr.count)/\(state.replicas.count) (leader \(processes[leader].name) epoch \(state.leaderEpoch) LEO \(brokerBox!.world.nodes[leader]?.core.replicas[stream]?.logEndOffset ?? 0); out of sync: \(missing.joined(separator: ", ")))"
            }
            guard let leaderReplica = brokerBox!.world.nodes[leader]?.core.replicas[stream], leaderReplica.isLeader else {
                return "stream \(name): \(processes[leader].name) does not act as leader yet"
            }
            let end = leaderReplica.logEndOffset
            guard leaderReplica.highWatermark == end else { return "stream \(name): leader HW \(leaderReplica.highWatermark) < LEO \(end)" }
            for node in brokerBox!.world.replicaNodes[stream] {
                guard let replica = brokerBox!.world.nodes[node]?.core.replicas[stream] else { return "stream \(name): \(processes[node].name) down" }
                if replica.logEndOffset != end || replica.highWatermark != end {
                    return "stream \(name): \(processes[node].name) at LEO \(replica.logEndOffset) HW \(replica.highWatermark), leader at \(end)"
                }
            }
        }
        return nil
    }

    // MARK: - Crash, restart, selectors

    mutating func brokerCrashed(_ node: NodeID) {
        guard brokerBox != nil, node < clusterNodes.count else { return }
        for stream in brokerBox!.world.streamNames.indices where streamLeader(stream) == node {
            brokerBox!.world.leaderLostAt[stream] = brokerBox!.world.leaderLostAt[stream] ?? now
        }
        brokerBox!.world.nodes[node] = nil
        brokerBox!.world.up[node] = false
        // After the node is gone (its process is marked crashed only after this returns), so a
        // client reconnecting right away cannot land on it again.
        if brokerBox!.world.spec.clientConnectionReset {
            // The dead process's connections are reset: what is outstanding on them fails now.
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

    mutating func brokerRestarted(_ node: NodeID) {
        guard brokerBox != nil, node < clusterNodes.count else { return }
        bootBroker(node)
    }

    func resolveBrokerSelector(_ selector: Selector) -> [NodeID] {
        guard let world = brokerBox?.world else { return [] }
        switch selector {
        case .leader(let name):
            guard let stream = world.streamIndex(name), let leader = streamLeader(stream) else { return [] }
            return [leader]
        case .follower(let name):
            guard let stream = world.streamIndex(name) else { return [] }
            let leader = streamLeader(stream)
            return world.replicaNodes[stream].filter { $0 != leader }
        case .metadataLeader:
            return metadataLeader().map { [$0] } ?? []
        default:
            return []
        }
    }
}
