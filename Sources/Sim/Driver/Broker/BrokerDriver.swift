import ArrayClearing
import Broker
import BrokerSetup
import Checkers
import Clients
import LogStore
import Raft
import Replication
import Scenario
import SimCore
import Stats

/// The simulator as a *driver* of the broker's sans-IO state machines (the Raft metadata
/// group, the metadata state machine, the stream replicas): it delivers their messages over
/// the simulated network, carries out their disk effects on the simulated disk, fires their
/// timers in virtual time, and feeds crashes and restarts. No protocol decision is made here.
extension BrokerModel {
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
        world.replicaTick = ReplicaConfig(scenario: spec, brokerID: BrokerID(0)).tickIntervalNanos
        world.tracedEpoch = Array(repeating: 0, count: streams)
        world.timelineEpoch = Array(repeating: 0, count: streams)
        world.timelineLeader = Array(repeating: nil, count: streams)
        world.hosts = (0...count).map { node in replicaNodes.map { $0.contains(node) } }
        world.committedMeasured = Array(repeating: 0, count: streams)
        return world
    }

    /// Builds (or, after a crash, rebuilds from disk) the broker process on `node`.
    mutating func bootBroker(_ node: NodeID, _ cluster: inout VirtualCluster) {
        // The live broker's recovery (LogStore) on what this process's disk kept.
        let recovered: RecoveredFiles
        do {
            recovered = try recoverBrokerFiles(node, &cluster)
        } catch {
            brokerFailedToStart(node, error, &cluster)
            return
        }
        let spec = world.spec
        // Each incarnation draws election timeouts from its own stream: a restarted node
        // must not replay the timeouts of its previous life.
        let rng = world.raftRngs[node].stream("incarnation.\(cluster.processes[node].incarnation)")
        let raft = RaftNode<MetadataCommand>(
            config: RaftTiming(scenario: spec).config(id: node, peers: cluster.clusterNodes),
            restoring: recovered.hardState, log: recovered.raftLog, appliedIndex: 0, rng: rng)
        var replicas: [StreamReplica?] = Array(repeating: nil, count: world.streamNames.count)
        var restartEffects: [(Int, [ReplicaEffect])] = []
        for stream in world.streamNames.indices {
            guard let position = world.replicaNodes[stream].firstIndex(of: node) else { continue }
            var replica = StreamReplica(stream: world.streamNames[stream], config: world.replicaConfigs[stream][position])
            if cluster.processes[node].incarnation > 0 {
                // A restart: the replica learns it came back from disk (it must then not lead
                // on in its old epoch). Its start-up effects (e.g. rewriting a stale epoch
                // cache) are carried out once the node is registered, below.
                var log = recovered.streams[stream]!
                log.session = UInt64(cluster.processes[node].incarnation)
                restartEffects.append((stream, replica.handle(.restart(log), now: cluster.processes[node].clock.now(cluster.now))))
            }
            replicas[stream] = replica
        }
        world.up[node] = true
        let core = BrokerCore(raft: raft, metadata: MetadataStateMachine(config: MetadataConfig(uncleanElection: spec.uncleanElection)),
                              streamNames: world.streamNames, replicas: replicas)
        world.files[node] = recovered.files
        world.nodes[node] = SimulatedBroker(core: core, lastHighWatermark: replicas.map { $0?.highWatermark ?? 0 })
        let incarnation = cluster.processes[node].incarnation
        cluster.schedule(.raftTick(node: Int32(node), incarnation: incarnation), at: cluster.now + spec.raftTick)
        cluster.schedule(.replicaTick(node: Int32(node), incarnation: incarnation), at: cluster.now + world.replicaTick)
        for (stream, effects) in restartEffects {
            for effect in effects { carryOut(effect, node: node, stream: stream, &cluster) }
        }
        drainRaft(node, &cluster)
    }

    mutating func start(_ cluster: inout VirtualCluster) {
        for node in cluster.clusterNodes { bootBroker(node, &cluster) }
        for (index, workload) in cluster.scenario.publishes.enumerated() {
            let first = workload.start + workload.arrivals.interarrival(elapsed: 0, &publishRngs[index])
            cluster.schedule(.publish(workload: Int32(index)), at: first)
        }
        startPublishers(&cluster)
        cluster.schedule(.adminTick, at: 0)
        world.consumedLog = Array(repeating: [], count: world.streamNames.count)
        for consumer in cluster.scenario.consumers {
            guard let stream = world.streamIndex(consumer.stream) else { continue }
            world.consumers.append(SimConsumer(
                stream: stream, core: ConsumerCore(start: consumer.start, pollInterval: consumer.pollInterval, maxEntries: consumer.maxBatch)))
            armConsumer(world.consumers.count - 1, at: consumer.start, &cluster)
        }
        cluster.schedule(.endSafetyPhase, at: cluster.scenario.duration)
    }

    // MARK: - Events

    mutating func handle(_ event: BrokerEvent, _ cluster: inout VirtualCluster) {
        switch event {
        case .mail(let slot):
            deliverMail(Int(slot), event: event, &cluster)
        case .raftTick(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event, &cluster) else { return }
            world.nodes[n]!.core.raft.tick()
            cluster.schedule(event, at: cluster.now + world.spec.raftTick)
            drainRaft(n, &cluster)
        case .replicaTick(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event, &cluster) else { return }
            for stream in world.streamNames.indices where world.hosts[n][stream] {
                replicaInput(n, stream, .tick, &cluster)
            }
            cluster.schedule(event, at: cluster.now + world.replicaTick)
        case .storageBatchDone(let node, let incarnation):
            guard let n = liveBroker(Int(node), incarnation, event, &cluster) else { return }
            storageBatchDone(n, &cluster)
        case .publish(let workload):
            publishArrives(Int(workload), &cluster)
        case .publishTimeout(let publisher, let timer):
            publisherTimer(Int(publisher), timer, &cluster)
        case .adminTick:
            adminTick(&cluster)
        case .consumePoll(let consumer):
            consumerPollEvent(Int(consumer), &cluster)
        case .livenessCheck:
            checkConvergence(&cluster)
        }
    }

    /// The node if it runs the broker in this incarnation; holds the event while paused.
    mutating func liveBroker(_ node: NodeID, _ incarnation: UInt32, _ event: BrokerEvent, _ cluster: inout VirtualCluster) -> NodeID? {
        guard cluster.processes[node].incarnation == incarnation, world.up[node],
              cluster.isRunning(node, else: .broker(event)) else { return nil }
        return node
    }

    // MARK: - Network

    /// Returns when the message arrives (nil: dropped). `notBefore`: a message on a TCP
    /// connection arrives no earlier than the one sent on it before (the caller passes that
    /// one's arrival); otherwise the arrival is the message's own latency draw.
    @discardableResult @inline(__always)
    mutating func sendMail(from: NodeID, to: NodeID, _ body: consuming BrokerMessage, notBefore: VirtualTime = 0,
                           _ cluster: inout VirtualCluster) -> VirtualTime? {
        // What is needed of the message is read first, so that it moves into its slot: a copy
        // retained and released its payload per message (1.7% of a simulated swarm seed).
        let bytes = body.wireBytes
        let answer = to == cluster.clientNode ? body.answeredRequest : nil
        let slot = world.mail.put(BrokerMail(from: from, to: to, body: body, sentAt: cluster.now))
        let (drawn, second) = cluster.deliveries(from: from, to: to, bytes: bytes)
        guard let drawn else {
            releaseMail(slot)
            return nil
        }
        let first = max(drawn, notBefore)
        cluster.schedule(.mail(slot: slot), at: first)
        if let answer { noteAnswerInFlight(requestID: answer, arrives: first) }
        if let second {
            // A duplicate needs its own slot: the first delivery frees its slot.
            let copy = world.mail.duplicate(slot)
            cluster.schedule(.mail(slot: copy), at: second)
        }
        return first
    }

    mutating func releaseMail(_ slot: Int32) {
        world.mail.release(slot)
    }

    mutating func deliverMail(_ slot: Int, event: BrokerEvent, _ cluster: inout VirtualCluster) {
        guard let to = world.mail.destination(slot) else { return }
        if to != cluster.clientNode, !cluster.isRunning(to, else: .broker(event)) {
            // Held for a paused process (delivered when it resumes), lost with a crashed one.
            if cluster.processes[to].state == .crashed { releaseMail(Int32(slot)) }
            return
        }
        // Moved out of its slot, not copied: a copy retained and released the message's
        // entries for every delivery (2% of a broker run).
        let mail = world.mail.take(slot)
        guard cluster.network.admitArrival(from: mail.from, to: to, sentAt: mail.sentAt) else { return }
        if to == cluster.clientNode {
            clientReceives(mail.body, &cluster)
            return
        }
        guard world.up[to] else { return }
        switch mail.body {
        case .raft(let message):
            world.nodes[to]!.core.raft.step(message)
            drainRaft(to, &cluster)
        case .replication(let message):
            guard let stream = world.streamIndex(message.stream),
                  world.hosts[to][stream] else { return }
            replicaInput(to, stream, .receive(message), &cluster)
        case .proposal(let command):
            propose(command, at: to, &cluster)
        case .publish(let stream, let requestID, let payload):
            if world.hosts[to][Int(stream)] {
                replicaInput(to, Int(stream), .publish(requestID: requestID, payload: payload), &cluster)
            } else {
                let rejection = notLeaderHere(to, stream: Int(stream))
                sendMail(from: to, to: cluster.clientNode, .publishReject(requestID: requestID, rejection), &cluster)
            }
        case .consume(let stream, let requestID, let offset, let maxEntries):
            if world.hosts[to][Int(stream)] {
                replicaInput(to, Int(stream), .consume(requestID: requestID, offset: offset, maxEntries: Int(maxEntries)), &cluster)
            } else {
                let rejection = notLeaderHere(to, stream: Int(stream))
                sendMail(from: to, to: cluster.clientNode, .publishReject(requestID: requestID, rejection), &cluster)
            }
        case .publishAck, .publishReject, .delivered:
            break
        }
    }

    /// A node's answer for a stream it holds no replica of (the core names the leader it knows).
    func notLeaderHere(_ node: NodeID, stream: Int) -> PublishRejection {
        world.nodes[node]!.core.notLeaderHere(stream: world.streamNames[stream]) ?? .notLeader(leader: nil)
    }

    // MARK: - Raft driving (persist, then send, then apply, then advance)

    mutating func drainRaft(_ node: NodeID, _ cluster: inout VirtualCluster) {
        // Work on the node in place (through the box): copying a SimulatedBroker would copy the
        // Raft log on the next mutation.
        guard world.up[node], let ready = world.nodes[node]!.core.nextReady() else { return }
        if world.nodes[node]!.core.raft.role == .leader {
            world.electionSafety.leaderElected(term: world.nodes[node]!.core.raft.term, node: node, at: cluster.now) { [processes = cluster.processes] in
                processes[$0].name
            }
        }
        if BrokerCore.needsPersisting(ready) {
            // Raft §5: persist before answering — in the node's storage queue, as live.
            store(.raft(truncateFrom: ready.truncateFrom, entries: ready.entriesToPersist, hardState: ready.hardState),
                  completion: .raftPersisted, on: node, &cluster)
        } else {
            raftPersisted(node, &cluster)
        }
    }

    /// The in-flight Ready is durable: send, apply entry by entry, advance (the core's Ready loop).
    mutating func raftPersisted(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard world.up[node], let ready = world.nodes[node]!.core.readyInFlight else { return }
        for message in ready.messages {
            sendMail(from: node, to: message.to, .raft(message), &cluster)
        }
        while let outputs = world.nodes[node]?.core.applyNextCommitted(now: cluster.processes[node].clock.now(cluster.now)) {
            for output in outputs {
                switch output {
                case .streamState(let stream, let state):
                    observeStreamState(stream, state, &cluster)
                case .replicaEffects(let stream, let effects):
                    for effect in effects { carryOut(effect, node: node, stream: stream, &cluster) }
                    observeHighWatermark(node, stream, &cluster)
                case .replicaCreated, .streamDeleted:
                    break  // the simulated stream set is fixed at start (no `newStreamConfig`)
                }
            }
        }
        world.nodes[node]?.core.advance()
        drainRaft(node, &cluster)
    }

    /// Checkers and availability measurements see every committed stream state.
    mutating func observeStreamState(_ stream: Int, _ state: PartitionState, _ cluster: inout VirtualCluster) {
        if let sink = cluster.traceSink, state.epoch > world.tracedEpoch[stream] {
            // The first node to apply a new stream state tells the trace (a line, not an event).
            world.tracedEpoch[stream] = state.epoch
            var line = TraceLine(time: cluster.now, sequence: 0, kind: "stream_state")
            line.add("stream", state.name)
            line.add("leader", state.leader.map { cluster.processes[Int($0.rawValue)].name } ?? "none")
            line.add("leader_epoch", state.leaderEpoch)
            line.add("epoch", state.epoch)
            line.add("isr", state.isr.map { cluster.processes[Int($0.rawValue)].name }.joined(separator: ","))
            sink.write(line: line.json)
        }
        if cluster.explaining, state.epoch > world.timelineEpoch[stream] {
            let processes = cluster.processes
            let isr = state.isr.map { processes[Int($0.rawValue)].name }.joined(separator: ", ")
            let text = "\(state.name): leader \(state.leader.map { processes[Int($0.rawValue)].name } ?? "none") epoch \(state.leaderEpoch), ISR [\(isr)]"
            cluster.explain("isr", text)
        }
        if state.epoch > world.timelineEpoch[stream] {
            // The first node to apply a new stream state: a leader change goes on the timeline.
            world.timelineEpoch[stream] = state.epoch
            let leader = state.leader.map { Int($0.rawValue) }
            if leader != world.timelineLeader[stream] {
                let was = world.timelineLeader[stream].map { cluster.processes[$0].name } ?? "none"
                let now = leader.map { cluster.processes[$0].name } ?? "none"
                cluster.note("leader", "\(state.name): \(was) → \(now)",
                             nodes: leader.map { [$0] } ?? [])
                world.timelineLeader[stream] = leader
            }
        }
        if let leader = state.leader {
            world.leaderEpochs.becameLeader(stream: stream, node: Int(leader.rawValue), epoch: state.leaderEpoch, at: cluster.now,
                                                  describe: { [processes = cluster.processes] in processes[$0].name }, streamName: state.name)
            if let since = world.leaderlessSince[stream] {
                world.leaderlessTotal[stream] += cluster.now - since
                world.leaderlessSince[stream] = nil
            }
        } else if world.leaderlessSince[stream] == nil {
            world.leaderlessSince[stream] = cluster.now
        }
        let full = state.isr.count >= state.replicas.count
        if full, let since = world.underReplicatedSince[stream] {
            world.underReplicatedTotal[stream] += cluster.now - since
            world.underReplicatedSince[stream] = nil
        } else if !full, world.underReplicatedSince[stream] == nil {
            world.underReplicatedSince[stream] = cluster.now
        }
    }

    mutating func propose(_ command: MetadataCommand, at node: NodeID, _ cluster: inout VirtualCluster) {
        guard world.up[node] else { return }
        switch world.nodes[node]!.core.route(command) {
        case .proposed: drainRaft(node, &cluster)
        case .forward(let leader): sendMail(from: node, to: leader, .proposal(command), &cluster)
        case .dropped: break
        }
    }

    // MARK: - Replicas

    mutating func replicaInput(_ node: NodeID, _ stream: Int, _ input: ReplicaInput, _ cluster: inout VirtualCluster) {
        guard world.up[node], world.hosts[node][stream] else { return }
        // The replica's timers run on its process's clock, so clock faults (offset, drift,
        // jumps) reach the protocol as they would on a real machine.
        // One buffer for every input (taken out while in use, so a nested input gets its own).
        var effects = replicaEffects
        replicaEffects = []
        world.nodes[node]!.core.replicas[stream]!.handle(input, now: cluster.processes[node].clock.now(cluster.now), into: &effects)
        // Each effect is moved out of the buffer (a payload-free placeholder left behind) rather
        // than copied: a copy retained and released its payload (1.7% of a simulated swarm seed).
        // Through the buffer (the effects are this call's own, untouched by nested inputs):
        // `swap` with the array's subscript cost about 90 instructions per effect.
        effects.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices {
                let pointer = buffer.baseAddress! + index
                let effect = pointer.move()
                pointer.initialize(to: .fsync(upTo: 0))
                carryOut(effect, node: node, stream: stream, &cluster)
            }
        }
        // Most inputs (ticks) have no effects; the rest have a few (see `clearKeepingCapacity`).
        effects.clearKeepingCapacity()
        replicaEffects = effects
        observeHighWatermark(node, stream, &cluster)
    }

    mutating func carryOut(_ effect: consuming ReplicaEffect, node: NodeID, stream: Int, _ cluster: inout VirtualCluster) {
        switch consume effect {
        case .send(let to, let message):
            sendMail(from: node, to: Int(to.rawValue), .replication(message), &cluster)
        case .appendToLog(let entries):
            guard let last = entries.last else { return }
            store(.append(stream: world.streamNames[stream], entries), completion: .appended(stream: stream, upTo: last.offset + 1),
                  on: node, &cluster)
        case .truncateLog(let from):
            if cluster.explaining {
                let text = "\(world.streamNames[stream]): \(cluster.processes[node].name) truncates its log at offset \(from)"
                cluster.explain("truncate", text, nodes: [node])
            }
            // Durable with the next fsync, as on a live node; no completion to wait for.
            store(.truncate(stream: world.streamNames[stream], from: from), on: node, &cluster)
        case .fsync(let upTo):
            store(.fsync(stream: world.streamNames[stream]), completion: .fsynced(stream: stream, upTo: upTo), on: node, &cluster)
        case .checkpointHighWatermark(let hw):
            store(.checkpointHighWatermark(stream: world.streamNames[stream], hw), on: node, &cluster)
        case .persistEpochCache(let cache):
            store(.persistEpochCache(stream: world.streamNames[stream], cache), on: node, &cluster)
        case .persistProducerSnapshot(let snapshot):
            store(.persistProducerSnapshot(stream: world.streamNames[stream], snapshot), on: node, &cluster)
        case .ack(let requestID, let offset):
            if cluster.explaining {
                let text = "\(world.streamNames[stream]): offset \(offset) acknowledged by \(cluster.processes[node].name)"
                cluster.explain("ack", text, nodes: [node])
            }
            sendMail(from: node, to: cluster.clientNode, .publishAck(requestID: requestID, offset: offset), &cluster)
        case .deliver(let requestID, let entries, let highWatermark):
            sendMail(from: node, to: cluster.clientNode, .delivered(requestID: requestID, entries: entries, highWatermark: highWatermark), &cluster)
        case .reject(let requestID, let reason):
            sendMail(from: node, to: cluster.clientNode, .publishReject(requestID: requestID, reason), &cluster)
        case .propose(let command):
            propose(command, at: node, &cluster)
        }
    }

    mutating func observeHighWatermark(_ node: NodeID, _ stream: Int, _ cluster: inout VirtualCluster) {
        guard world.up[node], world.hosts[node][stream] else { return }
        let hw = world.nodes[node]!.core.replicas[stream]!.highWatermark
        let previous = world.nodes[node]!.lastHighWatermark[stream]
        guard hw != previous else { return }
        world.nodes[node]!.lastHighWatermark[stream] = hw
        let name = world.streamNames[stream]
        world.hwMonotonic.observe(stream: stream, node: node, incarnation: cluster.processes[node].incarnation, highWatermark: hw,
                                         at: cluster.now, streamName: name, nodeName: cluster.processes[node].name)
        // The two fields are read in place (`!` on the array elements, `?.` on the partition):
        // binding the partition state copied it out and destroyed the copy through a generic
        // value witness, while `?.` on an array element copies the whole node.
        guard hw > previous, world.nodes[node]!.core.replicas[stream]!.isLeader,
              let isrSize = world.nodes[node]!.core.replicas[stream]!.partition?.isr.count,
              let minISR = world.nodes[node]!.core.replicas[stream]!.partition?.minISR else { return }
        world.minISR.highWatermarkAdvanced(streamName: name, leader: cluster.processes[node].name, to: hw,
                                                  isrSize: isrSize, minISR: minISR, at: cluster.now)
        // End-to-end latency without consumers: a message is consumable once the leader's HW
        // passes it, measured from the publisher's intended send time. With consumers, they
        // measure it when they read the message.
        guard cluster.scenario.consumers.isEmpty else { return }
        var offset = max(world.committedMeasured[stream], previous)
        while offset < hw && Int(offset) < world.nodes[node]!.core.replicas[stream]!.log.count {
            let payload = world.nodes[node]!.core.replicas[stream]!.log[Int(offset)].payload
            measureEndToEnd(MessageID(producer: UInt32(truncatingIfNeeded: payload.producerID), sequence: payload.sequence), &cluster)
            offset += 1
        }
        world.committedMeasured[stream] = max(world.committedMeasured[stream], offset)
    }

    // MARK: - Administration and phases

    /// Creates the scenario's streams through whichever node leads the metadata group.
    mutating func adminTick(_ cluster: inout VirtualCluster) {
        guard !world.streamsCreated else { return }
        if let leader = metadataLeader(cluster) {
            let metadata = world.nodes[leader]!.core.metadata
            let missing = world.spec.streams.indices.filter { metadata.stream(named: world.streamNames[$0]) == nil }
            if missing.isEmpty {
                world.streamsCreated = true
                return
            }
            if cluster.now - world.lastCreateProposal >= 500 * Nanos.millisecond {
                world.lastCreateProposal = cluster.now
                for stream in missing {
                    let definition = world.spec.streams[stream]
                    let spec = StreamSpec(name: definition.name, subject: definition.subject,
                                          replicationFactor: definition.replicationFactor, minISR: definition.minISR,
                                          replicas: world.replicaNodes[stream].map { BrokerID(UInt32($0)) })
                    propose(.createStream(spec), at: leader, &cluster)
                }
            }
        }
        cluster.schedule(.adminTick, at: cluster.now + 20 * Nanos.millisecond)
    }

    func metadataLeader(_ cluster: VirtualCluster) -> NodeID? {
        var best: (node: NodeID, term: UInt64)?
        for node in cluster.clusterNodes where cluster.processes[node].state == .running {
            guard let raft = world.nodes[node]?.core.raft, raft.role == .leader else { continue }
            if best == nil || raft.term > best!.term { best = (node, raft.term) }
        }
        return best?.node
    }

    /// Current leader of a stream per the metadata group's leader (or any broker that knows).
    func streamLeader(_ stream: Int, _ cluster: VirtualCluster) -> NodeID? {
        let name = world.streamNames[stream]
        if let leader = metadataLeader(cluster), let state = world.nodes[leader]?.core.metadata.stream(named: name) {
            return state.leader.map { Int($0.rawValue) }
        }
        return nil
    }

    /// End of the safety phase (the run has healed every fault): the liveness phase begins.
    mutating func beginLivenessPhase(_ cluster: inout VirtualCluster) {
        world.livenessDeadline = cluster.now + livenessTimeout
        cluster.schedule(.livenessCheck, at: cluster.now + 50 * Nanos.millisecond)
    }

    var livenessTimeout: VirtualTime { max(20 * Nanos.second, 20 * world.spec.leaderTimeout) }

    mutating func checkConvergence(_ cluster: inout VirtualCluster) {
        if let problem = convergenceProblem(cluster) {
            world.lastConvergenceProblem = problem
            if cluster.now < world.livenessDeadline {
                cluster.schedule(.livenessCheck, at: cluster.now + 50 * Nanos.millisecond)
            }
            return
        }
        world.converged = true
        world.convergedAt = cluster.now
        cluster.stopRequested = true
    }

    /// Why the cluster has not converged yet, or nil: one metadata leader, every stream led
    /// with a full ISR, every replica holding the leader's log up to its end, committed,
    /// and no publish still in flight.
    func convergenceProblem(_ cluster: VirtualCluster) -> String? {
        guard let metaLeader = metadataLeader(cluster) else { return "no metadata leader" }
        if world.publishers.contains(where: { $0.core.outstanding > 0 }) { return "publishes still in flight" }
        for stream in world.streamNames.indices {
            let name = world.streamNames[stream]
            guard let state = world.nodes[metaLeader]!.core.metadata.stream(named: name) else { return "stream \(name) not created" }
            guard let leader = state.leader.map({ Int($0.rawValue) }) else { return "stream \(name) has no leader" }
            guard state.isr.count == state.replicas.count else {
                let missing = state.replicas.filter { !state.isr.contains($0) }.map { id -> String in
                    let node = Int(id.rawValue)
                    guard let replica = world.nodes[node]?.core.replicas[stream] else { return "\(cluster.processes[node].name) down" }
                    return "\(cluster.processes[node].name) \(replica.role) LEO \(replica.logEndOffset) HW \(replica.highWatermark) epoch \(replica.leaderEpoch ?? 0)"
                }
                return "stream \(name) ISR \(state.isr.count)/\(state.replicas.count) (leader \(cluster.processes[leader].name) epoch \(state.leaderEpoch) LEO \(world.nodes[leader]?.core.replicas[stream]?.logEndOffset ?? 0); out of sync: \(missing.joined(separator: ", ")))"
            }
            guard let leaderReplica = world.nodes[leader]?.core.replicas[stream], leaderReplica.isLeader else {
                return "stream \(name): \(cluster.processes[leader].name) does not act as leader yet"
            }
            let end = leaderReplica.logEndOffset
            guard leaderReplica.highWatermark == end else { return "stream \(name): leader HW \(leaderReplica.highWatermark) < LEO \(end)" }
            for node in world.replicaNodes[stream] {
                guard let replica = world.nodes[node]?.core.replicas[stream] else { return "stream \(name): \(cluster.processes[node].name) down" }
                if replica.logEndOffset != end || replica.highWatermark != end {
                    return "stream \(name): \(cluster.processes[node].name) at LEO \(replica.logEndOffset) HW \(replica.highWatermark), leader at \(end)"
                }
            }
        }
        return nil
    }

    // MARK: - Crash and restart

    mutating func crashed(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard node < cluster.clusterNodes.count else { return }
        if cluster.explaining { explainReplicas(node, "crashed holding", &cluster) }
        for stream in world.streamNames.indices where streamLeader(stream, cluster) == node {
            world.leaderLostAt[stream] = world.leaderLostAt[stream] ?? cluster.now
        }
        world.nodes[node] = nil
        world.files[node] = nil
        world.up[node] = false
        // After the node is gone (its process is marked crashed only after this returns), so a
        // client reconnecting right away cannot land on it again.
        clientsSeeCrash(node, &cluster)
    }

    mutating func restarted(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard node < cluster.clusterNodes.count else { return }
        bootBroker(node, &cluster)
        if cluster.explaining { explainReplicas(node, "restarted, recovered", &cluster) }
    }

    /// What each replica of a node holds (log end, fsynced end, high-water mark): at a crash,
    /// everything past the fsynced end is gone with the page cache.
    func explainReplicas(_ node: NodeID, _ what: String, _ cluster: inout VirtualCluster) {
        guard world.up[node] else { return }
        for stream in world.streamNames.indices where world.hosts[node][stream] {
            guard let replica = world.nodes[node]?.core.replicas[stream] else { continue }
            let text = "\(world.streamNames[stream]): \(cluster.processes[node].name) \(what) log end \(replica.logEndOffset), "
                + "fsynced to \(replica.durableEnd), HW \(replica.highWatermark)"
            cluster.explain("replica", text, nodes: [node])
        }
    }
}
