import Foundation
import NATSProtocol
import NIOCore
import XCTest
import LiveNATS

/// Against a real three-node nats-server cluster with JetStream.
final class JetStreamTests: XCTestCase {
    func testR3StreamPublishDeduplicateAndReadAll() async throws {
        try await withCluster(nodes: 3, jetstream: true) { cluster in
            let connection = try await connect(cluster)
            let js = JetStream(connection: connection)
            let created = try await js.createStream(name: "ORDERS", subjects: ["orders.>"], replicas: 3)
            XCTAssertEqual(created.replicas, 3)
            XCTAssertEqual(created.storage, .file)
            _ = try await js.createStream(name: "ORDERS", subjects: ["orders.>"], replicas: 3)  // idempotent
            let leader = try await js.waitForLeader(stream: "ORDERS")
            XCTAssertNotNil(cluster.index(ofNodeNamed: leader))

            let count = 2_000
            let acks = try await OpenLoopPublisher.run(js, subject: "orders.new", count: count, inFlight: 256) { "m-\($0)" }
            // One connection sends in order, so the stream stores in order.
            XCTAssertEqual(acks.map(\.seq), Array(1...UInt64(count)))
            XCTAssertFalse(acks.contains(where: \.duplicate))

            for i in stride(from: 0, to: count, by: 100) {
                let ack = try await js.publish(subject: "orders.new", payload: bytes(UInt64(i)), msgID: "m-\(i)")
                XCTAssertTrue(ack.duplicate, "re-sent m-\(i)")
                XCTAssertEqual(ack.seq, UInt64(i + 1))
            }
            let fresh = try await js.publish(subject: "orders.new", payload: bytes(UInt64(count)), msgID: "m-\(count)")
            XCTAssertEqual(fresh, PubAck(stream: "ORDERS", seq: UInt64(count + 1), duplicate: false))

            let all = try await js.readAll(stream: "ORDERS")
            XCTAssertEqual(all.count, count + 1)
            XCTAssertEqual(all.map(\.seq), Array(1...UInt64(count + 1)))
            XCTAssertEqual(all.map { uint64($0.payload) }, Array(0...UInt64(count)))
            XCTAssertEqual(all[17].headers?["Nats-Msg-Id"], "m-17")
            XCTAssertEqual(all[17].subject, "orders.new")

            let info = try await js.streamInfo(name: "ORDERS")
            XCTAssertEqual(info.messages, UInt64(count + 1))
            XCTAssertEqual(info.lastSeq, UInt64(count + 1))
            XCTAssertNotNil(info.leader)
            XCTAssertEqual(info.replicasCurrent.count, 2)

            try await js.deleteStream(name: "ORDERS")
            do {
                _ = try await js.streamInfo(name: "ORDERS")
                XCTFail("stream still there")
            } catch {
                guard case .jetStream(404, _, _) = error as? NATSError else { return XCTFail("\(error)") }
            }
            try await connection.close()
        }
    }

    func testPublishingContinuesAfterTheLeaderIsKilled() async throws {
        try await withCluster(nodes: 3, jetstream: true) { cluster in
            let setup = try await connect(cluster)
            let setupJS = JetStream(connection: setup)
            try await setupJS.createStream(name: "EVENTS", subjects: ["events"], replicas: 3)
            let oldLeader = try await setupJS.waitForLeader(stream: "EVENTS")
            let leaderIndex = try XCTUnwrap(cluster.index(ofNodeNamed: oldLeader))
            try await setup.close()

            // Publish through a node that survives.
            let connection = try await connect(cluster, node: (leaderIndex + 1) % 3)
            let js = JetStream(connection: connection)
            _ = try await OpenLoopPublisher.run(js, subject: "events", count: 100, inFlight: 32) { "e-\($0)" }

            cluster.kill(node: leaderIndex)
            let killedAt = ContinuousClock.now
            var firstAckAfterKill: Duration?
            var retries = 0
            for i in 100..<200 {
                while true {
                    do {
                        _ = try await js.publish(subject: "events", payload: bytes(UInt64(i)), msgID: "e-\(i)",
                                                 timeout: .milliseconds(500))
                        break
                    } catch let error as NATSError where error != .connectionClosed {
                        retries += 1
                        XCTAssertLessThan(ContinuousClock.now - killedAt, .seconds(12), "no new leader: \(error)")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                if firstAckAfterKill == nil { firstAckAfterKill = ContinuousClock.now - killedAt }
            }
            let newLeader = try await js.waitForLeader(stream: "EVENTS")
            XCTAssertNotEqual(newLeader, oldLeader)
            print("failover: first ack \(firstAckAfterKill!) after SIGKILL of leader \(oldLeader), \(retries) retries, new leader \(newLeader)")

            // Retried publishes carried the same msg id, so nothing is stored twice.
            let all = try await js.readAll(stream: "EVENTS")
            XCTAssertEqual(all.map { uint64($0.payload) }, Array(0..<200))
            try await connection.close()
        }
    }
}
