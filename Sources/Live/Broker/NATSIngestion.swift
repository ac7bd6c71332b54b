import Foundation
import LiveNATS
import NATSProtocol
import NIOCore
import Replication
import Wire

/// Liftbridge's ingestion: a stream bound to a NATS subject takes its messages from a real
/// nats-server. Only the stream's leader subscribes (in a queue group named after the stream,
/// so during a leadership hand-over a message still reaches one node, not two); it sequences
/// and replicates what arrives like any publish and, when the message has a reply subject,
/// answers there after commit (per the ack policy) with `{"stream":…,"offset":…}` or
/// `{"stream":…,"error":…}`.
///
/// A message may name its producer, epoch and sequence in the headers `Faultline-Producer`,
/// `Faultline-Producer-Epoch` and `Faultline-Sequence` (as the load driver does), or carry a
/// JetStream `Nats-Msg-Id`; both are de-duplicated (`MessageIdentity`). Others get producer 0
/// and an ingestion counter. Confined to the node's event loop.
final class NATSIngestion: @unchecked Sendable {
    private unowned let node: BrokerNode
    let host: String
    let port: Int
    private var connection: NATSConnection?
    private var connecting = false
    /// Streams this node leads that have a subject: stream index → subject.
    private var wanted: [Int: String] = [:]
    /// Active subscriptions: stream index → (subject, sid).
    private var active: [Int: (subject: String, sid: String)] = [:]
    private var anonymousSequence: UInt64 = 0
    private var closed = false

    init(node: BrokerNode, url: String) {
        self.node = node
        let trimmed = url.replacingOccurrences(of: "nats://", with: "")
        let parts = trimmed.split(separator: ":")
        host = parts.first.map(String.init) ?? "127.0.0.1"
        port = parts.count > 1 ? Int(parts[1]) ?? 4222 : 4222
    }

    func streamChanged(stream: Int, state: PartitionState?, leadsHere: Bool) {
        if let state, leadsHere, !state.subject.isEmpty {
            wanted[stream] = state.subject
        } else {
            wanted[stream] = nil
        }
        reconcile()
    }

    private func reconcile() {
        guard !closed else { return }
        guard let connection else {
            connect()
            return
        }
        for stream in active.keys.sorted() where wanted[stream] != active[stream]!.subject {
            connection.unsubscribe(sid: active.removeValue(forKey: stream)!.sid)
            node.logger.info("nats ingestion stopped", metadata: ["stream": "\(node.core.streamNames[stream])"])
        }
        for stream in wanted.keys.sorted() where active[stream] == nil {
            let subject = wanted[stream]!
            let name = node.core.streamNames[stream]
            do {
                let sid = try connection.subscribe(subject: subject, queue: "faultline.\(name)") { [weak self] message in
                    self?.ingest(stream: name, message)
                }
                active[stream] = (subject, sid)
                node.logger.info("nats ingestion started", metadata: ["stream": "\(name)", "subject": "\(subject)"])
            } catch {
                node.logger.warning("nats subscribe failed", metadata: ["subject": "\(subject)", "error": "\(error)"])
            }
        }
    }

    private func connect() {
        guard !connecting, !closed, !wanted.isEmpty else { return }
        connecting = true
        let loop = node.loop
        let promise = loop.makePromise(of: NATSConnection.self)
        promise.completeWithTask { [host, port, name = node.config.me.name] in
            try await NATSConnection.connect(host: host, port: port, name: "faultline-broker-\(name)", group: loop)
        }
        promise.futureResult.whenComplete { [self] result in
            connecting = false
            switch result {
            case .success(let connection):
                if closed { _ = connection.closeOnLoop(); return }
                self.connection = connection
                active = [:]
                reconcile()
            case .failure(let error):
                node.logger.warning("cannot reach nats-server; retrying", metadata: ["url": "\(host):\(port)", "error": "\(error)"])
                _ = node.loop.scheduleTask(in: .seconds(1)) { [self] in reconcile() }
            }
        }
    }

    private func ingest(stream: String, _ message: NATSMessage) {
        node.metrics.natsIngested.increment()
        let headers = message.headers.flatMap { try? MessageHeaders(parsing: $0) }
        let id: MessageIdentity
        if let named = MessageIdentity.from(headers) {
            id = named
        } else {
            id = MessageIdentity(producerID: 0, producerEpoch: 0, sequence: anonymousSequence)
            anonymousSequence += 1
        }
        node.publish(stream: stream, producerID: id.producerID, producerEpoch: id.producerEpoch, sequence: id.sequence,
                     ack: nil, data: message.payload,
                     origin: .nats(replySubject: message.replyTo))
    }

    /// Publishes the outcome on the message's reply subject.
    func answer(reply: String?, stream: String, status: AckStatus, offset: UInt64?) {
        guard let reply, let connection else { return }
        try? connection.publish(subject: reply, payload: Self.answerBody(stream: stream, status: status, offset: offset,
                                                                         prefixes: &answerPrefixes))
    }

    /// `{"stream":"<escaped name>",` per stream: every ack starts with it, and escaping the name
    /// for each one (through Foundation) was most of the leader's CPU per message.
    private var answerPrefixes: [String: [UInt8]] = [:]

    /// The reply body: `{"stream":…,"offset":…}`, or `{"stream":…,"error":…}` when not acked.
    static func answerBody(stream: String, status: AckStatus, offset: UInt64?, prefixes: inout [String: [UInt8]]) -> [UInt8] {
        var body: [UInt8]
        if let prefix = prefixes[stream] {
            body = prefix
        } else {
            body = Array(#"{"stream":""#.utf8)
            for byte in stream.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { body.append(UInt8(ascii: "\\")) }
                body.append(byte)
            }
            body += Array(#"","#.utf8)
            if prefixes.count < 1024 { prefixes[stream] = body }
        }
        if status == .ok, let offset {
            body += #""offset":"#.utf8
            body += String(offset).utf8
            body.append(UInt8(ascii: "}"))
        } else {
            let reason = String(describing: status).map { $0 == "\"" ? "'" : $0 }
            body += #""error":""#.utf8
            body += String(reason).utf8
            body += #""}"#.utf8
        }
        return body
    }

    func close() {
        closed = true
        if let connection { _ = connection.closeOnLoop() }
        connection = nil
    }
}
