import Broker
import NIOCore
import Replication
import Wire

/// Where the answer to a publish goes: a client connection, or a NATS reply subject.
enum PublishOrigin {
    case client(Channel)
    case nats(replySubject: String?)
}

struct PendingPublish {
    var origin: PublishOrigin
    var stream: String
    var producerID: UInt64
    var sequence: UInt64
}

struct PendingFetch {
    var channel: Channel
    var stream: String
    var maxBytes: Int
}

/// A create or delete waiting for its metadata command to be applied on this node.
struct PendingAdmin {
    enum Kind { case create, delete }
    var kind: Kind
    var stream: String
    var channel: Channel
    var deadline: Int64
}

extension BrokerNode {
    /// One decoded client request.
    func handleClient(_ message: Message, on channel: Channel) {
        metrics.clientRequests.increment()
        switch message {
        case let .publish(stream, producerID, producerEpoch, sequence, ack, payload):
            metrics.publishes.increment()
            metrics.publishedBytes.increment(by: Int64(payload.count))
            publish(stream: stream, producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, ack: Self.replicationAck(ack),
                    data: payload, origin: .client(channel))
        case let .fetch(stream, offset, maxEntries, maxBytes):
            guard let index = core.streamNames.firstIndex(of: stream), core.replicas[index] != nil else {
                let hint = core.metadata.stream(named: stream)?.leader.flatMap { config.member(Int($0.rawValue))?.name }
                write(WireCodec.encode(.fetchResponse(stream: stream, entries: [], highWatermark: 0,
                                                       error: hint.map { "not leader; leader is \($0)" } ?? "stream not found here")), to: channel)
                return
            }
            let id = nextRequestID
            nextRequestID += 1
            pendingFetches[id] = PendingFetch(channel: channel, stream: stream, maxBytes: Int(maxBytes == 0 ? UInt32.max : maxBytes))
            replicaInput(index, .consume(requestID: id, offset: offset, maxEntries: Int(min(maxEntries, 10_000))))
        case .metadataRequest(let streams):
            write(WireCodec.encode(metadataResponse(streams)), to: channel)
        case let .createStream(name, subject, replicationFactor, minISR, replicas):
            createStream(name: name, subject: subject ?? "", replicationFactor: Int(replicationFactor), minISR: Int(minISR),
                         placement: replicas, channel: channel)
        case .deleteStream(let name):
            guard core.metadata.stream(named: name) != nil else {
                write(WireCodec.encode(.adminAck(ok: true, error: nil)), to: channel)
                return
            }
            pendingAdmin.append(PendingAdmin(kind: .delete, stream: name, channel: channel, deadline: now() + 5_000_000_000))
            propose(.deleteStream(name: name))
        case .publishAck, .fetchResponse, .metadataResponse, .adminAck, .error:
            // Responses are never requests: a client sending one is broken.
            write(WireCodec.encode(.error(code: 400, message: "unexpected response message from a client")), to: channel)
            channel.close(promise: nil)
        }
    }

    static func replicationAck(_ ack: Wire.AckLevel) -> Replication.AckPolicy {
        switch ack {
        case .none: .none
        case .leader: .leader
        case .all: .all
        }
    }

    /// Publishes into the local replica of `stream` (clients and NATS ingestion alike).
    func publish(stream: String, producerID: UInt64, producerEpoch: UInt64 = 0, sequence: UInt64, ack: Replication.AckPolicy?, data: [UInt8], origin: PublishOrigin) {
        guard let index = core.streamNames.firstIndex(of: stream), core.replicas[index] != nil else {
            let status: AckStatus
            if case .notLeader(let leader) = core.notLeaderHere(stream: stream) {
                status = .notLeader(leaderHint: leader.flatMap { config.member(Int($0.rawValue))?.name })
            } else {
                status = .streamNotFound
            }
            answer(PendingPublish(origin: origin, stream: stream, producerID: producerID, sequence: sequence), status: status, offset: nil)
            return
        }
        let id = nextRequestID
        nextRequestID += 1
        pendingPublishes[id] = PendingPublish(origin: origin, stream: stream, producerID: producerID, sequence: sequence)
        replicaInput(index, .publish(requestID: id, payload: LogPayload(producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, data: data), ack: ack))
    }

    func acknowledge(_ requestID: UInt64, offset: UInt64) {
        if let pending = pendingPublishes.removeValue(forKey: requestID) {
            metrics.acks.increment()
            answer(pending, status: .ok, offset: offset)
        }
    }

    func reject(_ requestID: UInt64, reason: PublishRejection) {
        if let pending = pendingPublishes.removeValue(forKey: requestID) {
            metrics.rejects.increment()
            let status: AckStatus
            switch reason {
            case .notLeader(let leader):
                status = .notLeader(leaderHint: leader.flatMap { config.member(Int($0.rawValue))?.name })
            case .notEnoughReplicas: status = .rejected(reason: "not enough in-sync replicas")
            case .leadershipChanged: status = .rejected(reason: "leadership changed; retry")
            case .outOfOrderSequence, .fencedProducer, .duplicateSequence: status = .rejected(reason: reason.idempotenceReason!)
            }
            answer(pending, status: status, offset: nil)
        } else if let pending = pendingFetches.removeValue(forKey: requestID) {
            let hint: String
            if case .notLeader(let leader?) = reason, let name = config.member(Int(leader.rawValue))?.name {
                hint = "not leader; leader is \(name)"
            } else {
                hint = "not leader"
            }
            write(WireCodec.encode(.fetchResponse(stream: pending.stream, entries: [], highWatermark: 0, error: hint)), to: pending.channel)
        }
    }

    private func answer(_ pending: PendingPublish, status: AckStatus, offset: UInt64?) {
        switch pending.origin {
        case .client(let channel):
            write(WireCodec.encode(.publishAck(producerID: pending.producerID, sequence: pending.sequence, status: status, offset: offset)),
                  to: channel)
        case .nats(let reply):
            ingestion?.answer(reply: reply, stream: pending.stream, status: status, offset: offset)
        }
    }

    /// Answers every publish and fetch still waiting on `stream` (its replica is gone).
    func failPending(stream: String, reason: String) {
        for id in pendingPublishes.keys.sorted() where pendingPublishes[id]!.stream == stream {
            answer(pendingPublishes.removeValue(forKey: id)!, status: .rejected(reason: reason), offset: nil)
        }
        for id in pendingFetches.keys.sorted() where pendingFetches[id]!.stream == stream {
            let pending = pendingFetches.removeValue(forKey: id)!
            write(WireCodec.encode(.fetchResponse(stream: stream, entries: [], highWatermark: 0, error: reason)), to: pending.channel)
        }
    }

    func deliver(_ requestID: UInt64, entries: [LogEntry], highWatermark: UInt64) {
        guard let pending = pendingFetches.removeValue(forKey: requestID) else { return }
        var budget = pending.maxBytes
        var out: [Entry] = []
        // Bounded by bytes (at least one entry) and by the client frame limit, with headroom.
        let frameBudget = config.maxClientFrameBytes - 4096
        var frameBytes = 64
        for entry in entries {
            let size = entry.payload.data.count
            if !out.isEmpty && (size > budget || frameBytes + size + 40 > frameBudget) { break }
            budget -= size
            frameBytes += size + 40
            out.append(Entry(offset: entry.offset, leaderEpoch: entry.leaderEpoch, producerID: entry.payload.producerID,
                             sequence: entry.payload.sequence, payload: entry.payload.data))
        }
        metrics.fetches.increment()
        write(WireCodec.encode(.fetchResponse(stream: pending.stream, entries: out, highWatermark: highWatermark, error: nil)),
              to: pending.channel)
    }

    func metadataResponse(_ requested: [String]) -> Message {
        let name: (BrokerID) -> String = { [config] id in config.member(Int(id.rawValue))?.name ?? "broker-\(id.rawValue)" }
        let streams = core.metadata.streams
            .filter { requested.isEmpty || requested.contains($0.name) }
            .map { state -> StreamMetadata in
                let local = core.streamNames.firstIndex(of: state.name).flatMap { core.replicas[$0] }
                return StreamMetadata(name: state.name, leader: state.leader.map(name), leaderEpoch: state.leaderEpoch,
                                      replicas: state.replicas.map(name), inSyncReplicas: state.isr.map(name),
                                      highWatermark: local?.isLeader == true ? local!.highWatermark : 0)
            }
        let brokers = config.members.map { BrokerInfo(id: $0.name, host: $0.host, port: UInt16($0.clientPort)) }
        let leader = core.raft.leader.flatMap { config.member($0)?.name }
        return .metadataResponse(metadataLeader: leader, streams: streams, brokers: brokers)
    }

    /// `placement`: node names in preference order (the scenario's `replicas:`, placed as the
    /// simulator places them); empty = the spread rule.
    private func createStream(name: String, subject: String, replicationFactor: Int, minISR: Int, placement: [String],
                              channel: Channel) {
        if core.metadata.stream(named: name) != nil {
            // Idempotent: a launcher re-running `cluster up` finds its streams in place.
            write(WireCodec.encode(.adminAck(ok: true, error: nil)), to: channel)
            return
        }
        let n = config.members.count
        guard !name.isEmpty, replicationFactor >= 1, replicationFactor <= n, minISR >= 1, minISR <= replicationFactor else {
            write(WireCodec.encode(.adminAck(ok: false, error:
                "invalid stream: name must be non-empty, 1 ≤ replication factor ≤ \(n), 1 ≤ min ISR ≤ replication factor")), to: channel)
            return
        }
        let named = placement.map { name in config.members.first { $0.name == name } }
        guard placement.isEmpty || (named.allSatisfy { $0 != nil } && Set(placement).count == placement.count
                                    && placement.count == replicationFactor) else {
            write(WireCodec.encode(.adminAck(ok: false, error:
                "invalid placement \(placement): expected \(replicationFactor) distinct nodes of \(config.members.map(\.name))")), to: channel)
            return
        }
        let replicas = placement.isEmpty
            ? StreamPlacement.spread(streamIndex: core.metadata.streams.count, replicationFactor: replicationFactor,
                                     members: config.members.map { BrokerID(UInt32($0.id)) })
            : named.map { BrokerID(UInt32($0!.id)) }
        pendingAdmin.append(PendingAdmin(kind: .create, stream: name, channel: channel, deadline: now() + 5_000_000_000))
        propose(.createStream(StreamSpec(name: name, subject: subject, replicationFactor: replicationFactor, minISR: minISR,
                                         replicas: replicas)))
    }

    /// Answers creates and deletes whose command has been applied here.
    func answerAdmin() {
        pendingAdmin.removeAll { admin in
            let exists = core.metadata.stream(named: admin.stream) != nil
            guard exists == (admin.kind == .create) else { return false }
            write(WireCodec.encode(.adminAck(ok: true, error: nil)), to: admin.channel)
            return true
        }
    }

    func expireAdmin() {
        let t = now()
        pendingAdmin.removeAll { admin in
            guard t > admin.deadline else { return false }
            let reason = core.raft.leader == nil ? "no metadata leader" : "not applied within 5 s"
            write(WireCodec.encode(.adminAck(ok: false, error: reason)), to: admin.channel)
            return true
        }
    }
}
