import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LiveBroker
import LiveClient
import NIOCore
import Wire
import WireTesting
import XCTest

final class LiveBrokerTests: XCTestCase {
    func testPublishesSurviveLeaderCrashAndRestartFromDisk() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            try await cluster.createStream("orders")
            let first = try await cluster.waitForLeader("orders")
            let a = try await cluster.publish(Array(0..<200), to: first, stream: "orders")
            XCTAssertEqual(a, (0..<200).map { PublishOutcome.acked(offset: UInt64($0)) })

            try await cluster.crash(first)
            let second = try await cluster.waitForLeader("orders", excluding: first)
            XCTAssertNotEqual(second, first)
            let b = try await cluster.publish(Array(200..<400), to: second, stream: "orders")
            XCTAssertEqual(b.filter { if case .acked = $0 { true } else { false } }.count, 200, "\(b.prefix(3))")

            // The crashed node comes back from its files alone, catches up, and may lead again
            // once the second leader dies; nothing acknowledged is lost on the way.
            try await cluster.start(first)
            try await cluster.waitUntilInSync(first, stream: "orders", via: second)
            try await cluster.crash(second)
            let third = try await cluster.waitForLeader("orders", excluding: second)
            // Metadata may name the third leader before its replica serves (a restarted node
            // leads only in a renewed epoch) or before its ISR holds min_isr again; until then it
            // refuses every publish before storing it, so sending again is safe (the CI run of
            // aa0912a failed here without it).
            var c: [PublishOutcome] = []
            let deadline = Date().addingTimeInterval(10)
            repeat {
                c = try await cluster.publish(Array(400..<450), to: third, stream: "orders")
                let notYet = c.allSatisfy {
                    switch $0 {
                    case .refused(.notLeader), .refused(.rejected("not enough in-sync replicas")): true
                    default: false
                    }
                }
                if !notYet || Date() > deadline { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            } while true
            XCTAssertEqual(c.filter { if case .acked = $0 { true } else { false } }.count, 50, "\(c.prefix(3))")

            let entries = try await cluster.readAll("orders")
            XCTAssertEqual(entries.map(\.sequence), Array(0..<450))
            XCTAssertEqual(entries.map(\.offset), Array(0..<450))
            XCTAssertEqual(entries.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<450).map { "m\($0)" })
            XCTAssertGreaterThan(entries.last!.leaderEpoch, entries.first!.leaderEpoch)
        }
    }

    /// With a tiny in-memory window, replicas let go of old message bytes; fetches, follower
    /// catch-up after a restart and a new leader's reads must fill them in from the log files.
    func testOldMessageBytesAreReadBackFromTheLogFiles() async throws {
        try await InProcessCluster.with(size: 3, payloadCacheBytes: 0) { cluster in
            try await cluster.createStream("s")
            let first = try await cluster.waitForLeader("s")
            let follower = (first + 1) % 3
            try await cluster.crash(follower)
            _ = try await cluster.publish(Array(0..<300), to: first, stream: "s")
            // The follower restarts empty-handed for these 300 and catches up from the leader,
            // whose bytes for most of them now live only in its file.
            try await cluster.start(follower)
            try await Task.sleep(nanoseconds: 1_500_000_000)
            let before = try await cluster.readAll("s")
            XCTAssertEqual(before.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<300).map { "m\($0)" })
            try await cluster.crash(first)
            _ = try await cluster.waitForLeader("s", excluding: first)
            let after = try await cluster.readAll("s")
            XCTAssertEqual(after.count, 300)
            XCTAssertEqual(after.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<300).map { "m\($0)" })
        }
    }

    func testMetricsEndpointReportsProtocolStateInPrometheusFormat() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            try await cluster.createStream("s")
            let leader = try await cluster.waitForLeader("s")
            _ = try await cluster.publish(Array(0..<10), to: leader, stream: "s")
            let port = try XCTUnwrap(cluster.configs[leader].metricsPort)
            let (body, status) = try await HTTP.get(port: port, path: "/metrics")
            XCTAssertEqual(status, 200)
            XCTAssertTrue(body.contains("# TYPE faultline_broker_publishes_total counter"), body)
            XCTAssertTrue(body.contains(#"faultline_broker_publish_acks_total{node="n\#(leader + 1)"} 10"#), body)
            XCTAssertTrue(body.contains(#"faultline_broker_stream_high_watermark{node="n\#(leader + 1)",stream="s"} 10"#), body)
            XCTAssertTrue(body.contains(#"faultline_broker_stream_is_leader{node="n\#(leader + 1)",stream="s"} 1"#), body)
            let (_, missing) = try await HTTP.get(port: port, path: "/nope")
            XCTAssertEqual(missing, 404)
        }
    }

    func testDeletingAStreamAnswersWaitingRequestsAndRemovesItsFiles() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            try await cluster.createStream("gone")
            let leader = try await cluster.waitForLeader("gone")
            _ = try await cluster.publish([0, 1], to: leader, stream: "gone")
            let c = try await cluster.client(0)
            try await c.deleteStream(name: "gone")
            c.close()
            try await Task.sleep(nanoseconds: 500_000_000)
            let outcome = try await cluster.publish([2], to: leader, stream: "gone")
            XCTAssertEqual(outcome, [.refused(.streamNotFound)])
            for i in 0..<3 {
                let streams = URL(fileURLWithPath: cluster.configs[i].dataDirectory).appendingPathComponent("streams")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: streams.path), [], "n\(i + 1)")
            }
        }
    }

    func testNotLeaderAnswersNameTheLeader() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            try await cluster.createStream("s")
            let leader = try await cluster.waitForLeader("s")
            let follower = (leader + 1) % 3
            try await cluster.waitUntil(node: follower, knows: leader, leads: "s")
            let outcome = try await cluster.publish([0], to: follower, stream: "s")
            XCTAssertEqual(outcome, [.refused(.notLeader(leaderHint: "n\(leader + 1)"))])
            let missing = try await cluster.publish([0], to: leader, stream: "nope")
            XCTAssertEqual(missing, [.refused(.streamNotFound)])
        }
    }

    /// A scenario's explicit `replicas:` reach the live broker: the stream lives on exactly the
    /// named nodes, in the given (preference) order, as the simulator places it; a placement
    /// naming an unknown node is refused.
    func testExplicitPlacementPutsTheStreamOnTheNamedNodesInOrder() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            let c = try await cluster.client(0)
            defer { c.close() }
            var created = false
            for _ in 0..<150 where !created {
                do {
                    try await c.createStream(name: "placed", subject: nil, replicationFactor: 2, minISR: 1, replicas: ["n3", "n1"])
                    created = true
                } catch {
                    try await Task.sleep(nanoseconds: 100_000_000)  // no metadata leader yet
                }
            }
            XCTAssertTrue(created)
            let leader = try await cluster.waitForLeader("placed")
            XCTAssertEqual(leader, 2, "the first named node is the preferred leader")
            let stream = try await c.metadata(streams: ["placed"]).streams.first
            XCTAssertEqual(stream?.replicas.sorted(), ["n1", "n3"], "exactly the named nodes (n2 holds no replica)")
            do {
                try await c.createStream(name: "nowhere", subject: nil, replicationFactor: 2, minISR: 1, replicas: ["n1", "n9"])
                XCTFail("a placement on an unknown node must be refused")
            } catch {
                XCTAssertTrue("\(error)".contains("invalid placement"), "\(error)")
            }
        }
    }

    /// Random, truncated, bit-flipped and oversized frames against a node's client port: each
    /// closes only its own connection; the node keeps serving others and its log is unchanged.
    func testMalformedFramesNeverCrashTheNodeNorCorruptItsLog() async throws {
        try await InProcessCluster.with(size: 3) { cluster in
            try await cluster.createStream("s")
            let leader = try await cluster.waitForLeader("s")
            _ = try await cluster.publish(Array(0..<50), to: leader, stream: "s")
            let before = try await cluster.readAll("s")
            XCTAssertEqual(before.count, 50)

            let good = try await cluster.client(leader)
            var rng = XorShift(seed: 42)
            let valid = WireCodec.encode(.publish(stream: "s", producerID: 9, sequence: 1, ack: .all, payload: [1, 2, 3]))
            for round in 0..<120 {
                let hostile = try await cluster.client(leader)
                let bytes: [UInt8]
                switch round % 4 {
                case 0: bytes = rng.bytes(1 + rng.below(300))                                  // noise
                case 1: bytes = Array(valid.prefix(1 + rng.below(valid.count - 1))) + frame(rng.bytes(rng.below(40)))  // truncated, then garbage
                case 2:                                                                           // one bit flipped in the body
                    var b = valid
                    let i = 4 + rng.below(b.count - 4)
                    b[i] ^= UInt8(1 << rng.below(8))
                    bytes = b
                default: bytes = [0x7f, 0xff, 0xff, 0xff, 1, 1]                                    // announces a 2 GB frame
                }
                try await hostile.sendRaw(bytes)
                hostile.close()
                // Peers' port too: garbage instead of a hello.
                if round % 10 == 0 {
                    let peer = try await BrokerClient.connect(host: "127.0.0.1", port: cluster.configs[leader].me.peerPort, on: cluster.group.any())
                    try await peer.sendRaw(rng.bytes(64))
                    peer.close()
                }
            }
            // The well-behaved connection still works, and so does the cluster.
            let meta = try await good.metadata()
            XCTAssertEqual(meta.stream("s")?.leader, "n\(leader + 1)")
            good.close()
            let after = try await cluster.readAll("s")
            // A bit flip may still decode as a valid publish (appended after these); what was
            // stored before is untouched.
            XCTAssertEqual(Array(after.prefix(50)), before)
            let more = try await cluster.publish([50, 51], to: leader, stream: "s")
            XCTAssertEqual(more.count, 2)
            XCTAssertTrue(more.allSatisfy { if case .acked = $0 { true } else { false } }, "\(more)")
            let final = try await cluster.readAll("s")
            XCTAssertEqual(final.suffix(2).map(\.sequence), [50, 51])
        }
    }

    func testOversizedFrameClosesTheConnectionWithAnError() async throws {
        try await InProcessCluster.with(size: 1) { cluster in
            let c = try await cluster.client(0)
            // The test cluster allows 64 KiB client frames.
            let huge = WireCodec.encode(.publish(stream: "s", producerID: 1, sequence: 1, ack: .all, payload: Array(repeating: 7, count: 100_000)))
            try await c.sendRaw(huge)
            try await Task.sleep(nanoseconds: 300_000_000)
            XCTAssertTrue(c.isClosed)
            let other = try await cluster.client(0)
            _ = try await other.metadata()
            other.close()
        }
    }
}

/// GET over loopback with Foundation's URLSession.
enum HTTP {
    static func get(port: Int, path: String) async throws -> (body: String, status: Int) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return (String(decoding: data, as: UTF8.self), (response as? HTTPURLResponse)?.statusCode ?? 0)
    }
}
