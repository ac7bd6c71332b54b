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
            files: Array(repeating: nil, count: count + 1), nodes: Array(repeating: nil, count: count + 1),
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
        guard brokerBox != nil else { return }
        // The live broker's recovery (LogStore) on what this process's disk kept.
        let recovered: RecoveredFiles
        do {
            recovered = try recoverBrokerFiles(node)
        } catch {
            brokerFailedToStart(node, error)
            return
        }
        var world = brokerBox!.world
        let spec = world.spec
        // Each incarnation draws election timeouts from its own stream: a restarted node
        // must not replay the timeouts of its previous life.
        let rng = world.raftRngs[node].stream("incarnation.\(processes[node].incarnation)")
        let raft = RaftNode<MetadataCommand>(
            config: RaftTiming(scenario: spec).config(id: node, peers: clusterNodes),
            restoring: recovered.hardState, log: recovered.raftLog, appliedIndex: 0, rng: rng)
        var replicas: [StreamReplica?] = Array(repeating: nil, count: world.streamNames.count)
        var restartEffects: [(Int, [ReplicaEffect])] = []
        for stream in world.streamNames.indices {
            guard let position = world.replicaNodes[stream].firstIndex(of: node) else { continue }
            var replica = StreamReplica(stream: world.streamNames[stream], config: world.replicaConfigs[stream][position])
            if processes[node].incarnation > 0 {
                // A restart: the replica learns it came back from disk (it must then not lead
                // on in its old epoch). Its start-up effects (e.g. rewriting a stale epoch
                // cache) are carried out once the node is registered, below.
                var log = recovered.streams[stream]!
                log.session = UInt64(processes[node].incarnation)
                restartEffects.append((stream, replica.handle(.restart(log), now: processes[node].clock.now(now))))
            }
            replicas[stream] = replica
        }
        let streams = world.streamNames.count
        world.up[node] = true
        let core = BrokerCore(raft: raft, metadata: MetadataStateMachine(config: MetadataConfig(uncleanElection: spec.uncleanElection)),
                              streamNames: world.streamNames, replicas: replicas)
        world.files[node] = recovered.files
        world.nodes[node] = SimulatedBroker(
            core: core,
            appendChainEnd: Array(repeating: 0, count: streams), fsyncChainEnd: Array(repeating: 0, count: streams),
            logFsyncTickets: Array(repeating: [], count: streams), logFsyncGroups: Array(repeating: [], count: streams),
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
            // The effect's fsyncs complete now (the oldest group: completions come in issue order).
            if !brokerBox!.world.nodes[n]!.logFsyncGroups[Int(stream)].isEmpty {
                let count = brokerBox!.world.nodes[n]!.logFsyncGroups[Int(stream)].removeFirst()
                for i in 0..<count { processes[n].disk.completeFsync(brokerBox!.world.nodes[n]!.logFsyncTickets[Int(stream)][i]) }
                brokerBox!.world.nodes[n]!.logFsyncTickets[Int(stream)].removeFirst(count)
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
        // Work on the node in place (through the box): copying a SimulatedBroker would copy the
        // Raft log on the next mutation.
        guard let box = brokerBox, box.world.up[node], let ready = box.world.nodes[node]!.core.nextReady() else { return }
        if box.world.nodes[node]!.core.raft.role == .leader {
            box.world.electionSafety.leaderElected(term: box.world.nodes[node]!.core.raft.term, node: node, at: now) { [processes] in
                processes[$0].name
            }
        }
        if ready.truncateFrom != nil || !ready.entriesToPersist.isEmpty || ready.hardState != nil {
            // Raft §5: persist before answering — the live broker's order: truncate, append,
            // stage the hard state, one sync (log fsync, then the hard-state file replaced).
            let files = box.world.files[node]!
            let latency = onDisk(node, files.fileSystem) {
                if let truncate = ready.truncateFrom { try files.raft.truncate(from: truncate) }
                try files.raft.append(ready.entriesToPersist)
                if let hardState = ready.hardState { try files.raft.setHardState(hardState) }
                try files.raft.sync()
            }
            box.world.nodes[node]!.raftTickets.append(contentsOf: files.fileSystem.tickets)
            queue.schedule(.raftPersisted(node: Int32(node), incarnation: processes[node].incarnation), at: now + latency)
        } else {
            raftPersisted(node)
        }
    }

    /// The in-flight Ready is durable: send, apply entry by entry, advance (the core's Ready loop).
    mutating func raftPersisted(_ node: NodeID) {
        guard let box = brokerBox, box.world.up[node], let ready = box.world.nodes[node]!.core.readyInFlight else { return }
        for ticket in box.world.nodes[node]!.raftTickets { processes[node].disk.completeFsync(ticket) }
        box.world.nodes[node]!.raftTickets.removeAll()
        for message in ready.messages {
            sendMail(from: node, to: message.to, .raft(message))
        }
        while let outputs = box.world.nodes[node]?.core.applyNextCommitted(now: processes[node].clock.now(now)) {
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
        box.world.nodes[node]?.core.advance()
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
            let latency = onStreamStore(node, stream) { try $0.append(entries) }.latency
            let done = max(brokerBox!.world.nodes[node]!.appendChainEnd[stream], now + latency)
            brokerBox!.world.nodes[node]!.appendChainEnd[stream] = done
            queue.schedule(.logAppended(node: Int32(node), incarnation: incarnation, stream: Int32(stream), upTo: last.offset + 1), at: done)
        case .truncateLog(let from):
            // Durable with the next fsync, as on a live node; no completion to wait for.
            _ = onStreamStore(node, stream) { try $0.truncate(from: from) }
        case .fsync(let upTo):
            let (latency, fileSystem) = onStreamStore(node, stream) { try $0.sync() }
            brokerBox!.world.nodes[node]!.logFsyncTickets[stream].append(contentsOf: fileSystem.tickets)
            brokerBox!.world.nodes[node]!.logFsyncGroups[stream].append(fileSystem.tickets.count)
            let done = max(brokerBox!.world.nodes[node]!.fsyncChainEnd[stream], now + latency)
            brokerBox!.world.nodes[node]!.fsyncChainEnd[stream] = done
            queue.schedule(.logSynced(node: Int32(node), incarnation: incarnation, stream: Int32(stream), upTo: upTo), at: done)
        case .checkpointHighWatermark(let hw):
            checkpoint(node, stream) { try $0.writeHighWatermark(hw) }
        case .persistEpochCache(let cache):
            checkpoint(node, stream) { try $0.writeEpochCache(cache) }
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

    // MARK: - Crash and restart

    mutating func brokerCrashed(_ node: NodeID) {
        guard brokerBox != nil, node < clusterNodes.count else { return }
        for stream in brokerBox!.world.streamNames.indices where streamLeader(stream) == node {
            brokerBox!.world.leaderLostAt[stream] = brokerBox!.world.leaderLostAt[stream] ?? now
        }
        brokerBox!.world.nodes[node] = nil
        brokerBox!.world.files[node] = nil
        brokerBox!.world.up[node] = false
        // After the node is gone (its process is marked crashed only after this returns), so a
        // client reconnecting right away cannot land on it again.
        clientsSeeCrash(node)
    }

    mutating func brokerRestarted(_ node: NodeID) {
        guard brokerBox != nil, node < clusterNodes.count else { return }
        bootBroker(node)
    }
}
