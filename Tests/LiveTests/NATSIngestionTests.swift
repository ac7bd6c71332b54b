import Foundation
import LiveBroker
import LiveClient
import LiveNATS
import NATSProtocol
import NIOCore
import XCTest

/// Liftbridge-style ingestion through a real nats-server: a stream bound to a subject takes
/// what is published there, sequences and replicates it, and acks on the reply subject.
final class NATSIngestionTests: XCTestCase {
    func testMessagesPublishedOnTheSubjectAreStoredAndAckedAfterCommit() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-nats-\(UUID().uuidString)")
        let nats = try await NATSServerCluster.start(directory: dir)
        defer {
            nats.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        try await InProcessCluster.with(size: 3, natsURL: "127.0.0.1:\(nats.clientPorts[0])") { cluster in
            try await cluster.createStream("events", subject: "events.in")
            _ = try await cluster.waitForLeader("events")
            let connection = try await NATSConnection.connect(host: "127.0.0.1", port: nats.clientPorts[0], name: "test",
                                                              group: cluster.group)
            // The leader subscribes right after it learns it leads; wait for the first ack.
            var replies: [String] = []
            let deadline = Date().addingTimeInterval(10)
            var sequence: UInt64 = 0
            while replies.count < 20 && Date() < deadline {
                let headers = MessageHeaders(fields: [.init(name: "Faultline-Producer", value: "7"),
                                                      .init(name: "Faultline-Sequence", value: "\(sequence)")])
                do {
                    let reply = try await connection.request(subject: "events.in", payload: Array("e\(sequence)".utf8),
                                                             headers: headers, timeout: .milliseconds(500))
                    replies.append(String(decoding: reply.payload, as: UTF8.self))
                    sequence += 1
                } catch {
                    try await Task.sleep(nanoseconds: 100_000_000)  // no responder yet
                }
            }
            XCTAssertEqual(replies.count, 20)
            XCTAssertEqual(replies.first, #"{"stream":"events","offset":0}"#)
            XCTAssertEqual(replies.last, #"{"stream":"events","offset":19}"#)

            // Idempotence: a re-send of a stored sequence gets its offset back, a JetStream-style
            // `Nats-Msg-Id` seen before gets the first copy's offset; neither is stored again.
            func send(_ fields: [(String, String)], _ payload: String) async throws -> String {
                let headers = MessageHeaders(fields: fields.map { .init(name: $0.0, value: $0.1) })
                let reply = try await connection.request(subject: "events.in", payload: Array(payload.utf8), headers: headers,
                                                         timeout: .seconds(2))
                return String(decoding: reply.payload, as: UTF8.self)
            }
            let resent = try await send([("Faultline-Producer", "7"), ("Faultline-Sequence", "5")], "e5")
            XCTAssertEqual(resent, #"{"stream":"events","offset":5}"#)
            let gap = try await send([("Faultline-Producer", "7"), ("Faultline-Sequence", "30")], "e30")
            XCTAssertTrue(gap.contains("out_of_order_sequence"), gap)
            let first = try await send([("Nats-Msg-Id", "order-1")], "o1")
            let again = try await send([("Nats-Msg-Id", "order-1")], "o1 again")
            let other = try await send([("Nats-Msg-Id", "order-2")], "o2")
            XCTAssertEqual(first, #"{"stream":"events","offset":20}"#)
            XCTAssertEqual(again, #"{"stream":"events","offset":20}"#)
            XCTAssertEqual(other, #"{"stream":"events","offset":21}"#)
            try await connection.close()

            let entries = try await cluster.readAll("events")
            XCTAssertEqual(entries.count, 22)
            XCTAssertEqual(entries.prefix(20).map(\.producerID), Array(repeating: 7, count: 20))
            XCTAssertEqual(entries.prefix(20).map(\.sequence), Array(0..<20))
            XCTAssertEqual(entries.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<20).map { "e\($0)" } + ["o1", "o2"])
        }
    }
}
