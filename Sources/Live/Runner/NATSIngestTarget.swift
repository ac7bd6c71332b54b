import Foundation
import LiveNATS
import NATSProtocol
import NIOCore

/// A producer publishing into the Faultline broker *through NATS* (Liftbridge's ingestion):
/// NATS requests on the stream's subject, carrying the producer and sequence in
/// `Faultline-Producer` / `Faultline-Producer-Epoch` / `Faultline-Sequence` headers (idempotence); the stream leader's subscription
/// sequences, replicates and answers on the reply subject after commit with
/// `{"stream":…,"offset":…}` or `{"stream":…,"error":…}`.
final class NATSIngestTransport: PublishTransport, @unchecked Sendable {
    let eventLoop: EventLoop
    let launcher: ClusterLauncher
    let natsPort: Int
    let stream: String
    let subject: String
    let producer: UInt32
    let timeout: Int64
    private var connection: NATSConnection?

    init(eventLoop: EventLoop, launcher: ClusterLauncher, natsPort: Int, stream: String, subject: String, producer: UInt32, timeout: Int64) {
        self.eventLoop = eventLoop
        self.launcher = launcher
        self.natsPort = natsPort
        self.stream = stream
        self.subject = subject
        self.producer = producer
        self.timeout = timeout
    }

    func publish(sequence: UInt64, producerEpoch: UInt64, payload: [UInt8], completion: @escaping (TransportOutcome) -> Void) {
        guard let connection else { return completion(.lost) }
        let headers = MessageHeaders(fields: [.init(name: "Faultline-Producer", value: "\(producer)"),
                                              .init(name: "Faultline-Producer-Epoch", value: "\(producerEpoch)"),
                                              .init(name: "Faultline-Sequence", value: "\(sequence)")])
        connection.request(subject: subject, payload: payload, headers: headers, timeout: .nanoseconds(timeout)) { result in
            switch result {
            case .success(let reply):
                completion(Self.outcome(reply.payload))
            case .failure(NATSError.noResponders):
                completion(.refused(kind: "no subscriber (stream leader not ready)"))
            case .failure(let error):
                completion(error is NATSError ? .lost : .refused(kind: "\(error)"))
            }
        }
    }

    /// `{"stream":"s","offset":12}` → acked at 12; `{"stream":"s","error":"…"}` → refused.
    static func outcome(_ body: [UInt8]) -> TransportOutcome {
        struct Reply: Decodable {
            var offset: UInt64?
            var error: String?
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(body)) else {
            return .refused(kind: "unreadable ack: \(String(decoding: body.prefix(80), as: UTF8.self))")
        }
        if let offset = reply.offset { return .acked(offset: offset) }
        return .refused(kind: reply.error ?? "refused")
    }

    func reconnect(hint: String?) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { [self] in
            // The leader subscribes once it leads: wait for one before sending.
            _ = try await launcher.waitForLeader(stream: stream, timeout: 1)
            let open = try await eventLoop.submit { self.connection?.isOpen ?? false }.get()
            if !open {
                let connection = try await NATSConnection.connect(host: "127.0.0.1", port: natsPort, name: "faultline-load-\(producer)",
                                                                  group: eventLoop)
                try await eventLoop.submit { self.connection = connection }.get()
            }
        }
        return promise.futureResult
    }

    func close() {
        if let connection { _ = connection.closeOnLoop() }
        connection = nil
    }
}
