import Clients
import Foundation
import LiveClient
import LoadCore
import NIOCore
import Wire

/// A producer's connection to the Faultline broker: publishes go to the stream's leader, found
/// from the metadata; a `notLeader` answer or a lost connection sends the session back through
/// `reconnect`, which connects to the leader the answer named, or asks every running node
/// (`ClusterLauncher.freshestMetadata`: the highest leader epoch wins).
final class BrokerTransport: PublishTransport, @unchecked Sendable {
    let eventLoop: EventLoop
    let launcher: ClusterLauncher
    let stream: String
    let producerID: UInt64
    let ack: Wire.AckLevel
    private var client: BrokerClient?
    private(set) var connectedNode: String?

    init(eventLoop: EventLoop, launcher: ClusterLauncher, stream: String, producerID: UInt64, ack: Wire.AckLevel) {
        self.eventLoop = eventLoop
        self.launcher = launcher
        self.stream = stream
        self.producerID = producerID
        self.ack = ack
    }

    func publish(sequence: UInt64, producerEpoch: UInt64, payload: [UInt8], completion: @escaping (TransportOutcome) -> Void) {
        guard let client, !client.isClosed else { return completion(.lost) }
        client.publish(stream: stream, producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, ack: ack, payload: payload) { outcome in
            switch outcome {
            case .acked(let offset): completion(.acked(offset: offset))
            case .connectionLost: completion(.lost)
            case .refused(let status):
                var hint: String?
                if case .notLeader(let leader) = status { hint = leader }
                completion(.refused(kind: Self.describe(status), leaderHint: hint))
            }
        }
    }

    static func describe(_ status: AckStatus) -> String {
        switch status {
        case .ok: "ok"
        case .notLeader: "not leader"
        case .streamNotFound: "stream not found"
        case .timeout: "broker timeout"
        case .rejected(let reason): reason
        }
    }

    func reconnect(hint: String?) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let old = client
        client = nil
        connectedNode = nil
        old?.close()
        promise.completeWithTask { [launcher, stream, eventLoop] in
            // Every running node's answer, decided by the clients' rule (`LeaderLookup`): one
            // node's metadata can be stale (an isolated old leader still names itself).
            guard let meta = await launcher.freshestMetadata() else { throw LiveError.failed("no node answered a metadata request") }
            // A not-leader answer named the leader: go there (it said so) without asking it again.
            let named: String?
            if let hint { named = hint } else { named = meta.stream(stream)?.leader }
            guard let leader = named, let broker = meta.broker(leader),
                  let index = launcher.index(of: leader), launcher.isRunning(node: index)
            else { throw LiveError.failed("stream \(stream) has no running leader yet") }
            if hint == nil, await !launcher.confirmsLeadership(node: leader, stream: stream) {
                throw LiveError.failed("stream \(stream): \(leader) does not lead it yet")
            }
            let client = try await BrokerClient.connect(host: broker.host, port: Int(broker.port), on: eventLoop)
            try await eventLoop.submit {
                self.client = client
                self.connectedNode = leader
            }.get()
        }
        return promise.futureResult
    }

    func close() {
        client?.close()
        client = nil
    }
}

enum BrokerReadBack {
    /// Reads the committed log of `stream` from its leader, offset 0 to the high-water mark.
    static func read(stream: String, launcher: ClusterLauncher, eventLoop: EventLoop, timeout: Double = 30) async throws -> [ReadBackEntry] {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: Error = LiveError.failed("no leader")
        while Date() < deadline {
            do {
                let leader = try await launcher.waitForLeader(stream: stream, timeout: max(1, deadline.timeIntervalSinceNow))
                let client = try await launcher.client(for: leader)
                defer { client.close() }
                var entries: [ReadBackEntry] = []
                var offset: UInt64 = 0
                while true {
                    let (batch, highWatermark) = try await client.fetch(stream: stream, offset: offset, maxEntries: 5000, maxBytes: 8 << 20)
                    for e in batch {
                        entries.append(ReadBackEntry(offset: e.offset, producerID: UInt32(truncatingIfNeeded: e.producerID), sequence: e.sequence))
                    }
                    offset += UInt64(batch.count)
                    if batch.isEmpty || offset >= highWatermark { break }
                }
                return entries
            } catch {
                lastError = error
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        throw LiveError.failed("cannot read back stream \(stream): \(lastError)")
    }
}
