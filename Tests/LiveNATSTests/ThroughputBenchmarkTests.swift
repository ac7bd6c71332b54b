import Foundation
import NATSProtocol
import NIOCore
import XCTest
import LiveNATS

/// Prints throughput figures; asserts only that every message arrived. Debug builds: run with
/// `-c release` for figures worth quoting.
final class ThroughputBenchmarkTests: XCTestCase {
    func testBenchmarkCorePubSub() async throws {
        try await withCluster { cluster in
            // The default batches writes per event-loop tick; flushThreshold 0 writes every publish.
            for (label, threshold, count) in [("batched", 64 * 1024, 200_000), ("flush-per-msg", 0, 50_000)] {
                let rate = try await Self.corePubSub(cluster, count: count, flushThreshold: threshold)
                print("core pub/sub \(label): \(count) msgs of 16 B, \(Int(rate)) msgs/s")
            }
        }
    }

    func testBenchmarkJetStreamR3Publish() async throws {
        try await withCluster(nodes: 3, jetstream: true) { cluster in
            let connection = try await connect(cluster)
            let js = JetStream(connection: connection)
            try await js.createStream(name: "BENCH", subjects: ["bench"], replicas: 3)
            try await js.waitForLeader(stream: "BENCH")
            for (inFlight, count) in [(1, 500), (256, 100_000)] {
                let start = ContinuousClock.now
                let acks = try await OpenLoopPublisher.run(js, subject: "bench", count: count, inFlight: inFlight)
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                XCTAssertEqual(acks.count, count)
                print("JetStream R3 file publish, \(inFlight) in flight: \(count) msgs, \(Int(Double(count) / seconds)) msgs/s")
            }
            let start = ContinuousClock.now
            let all = try await js.readAll(stream: "BENCH")
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            print("JetStream readAll: \(all.count) msgs, \(Int(Double(all.count) / seconds)) msgs/s")
            try await connection.close()
        }
    }

    /// Publishes `count` messages in chunks of 1,000 per event-loop task (so reads interleave)
    /// and returns messages per second until the subscriber has them all.
    static func corePubSub(_ cluster: NATSServerCluster, count: Int, flushThreshold: Int) async throws -> Double {
        var configuration = NATSConnectionConfiguration()
        configuration.flushThreshold = flushThreshold
        let subscriber = try await connect(cluster, name: "bench-sub")
        let publisher = try await connect(cluster, name: "bench-pub", configuration: configuration)
        let done = subscriber.eventLoop.makePromise(of: Void.self)
        deadline(done, after: .seconds(15))
        let received = NIOLoopBoundBox.makeBoxSendingValue(0, eventLoop: subscriber.eventLoop)
        try await subscriber.eventLoop.submit {
            _ = try subscriber.subscribe(subject: "bench") { _ in
                received.value += 1
                if received.value == count { done.succeed() }
            }
        }.get()
        try await subscriber.flush()

        let payload = [UInt8](repeating: 0x61, count: 16)
        let start = ContinuousClock.now
        @Sendable func publishChunk(_ from: Int) {
            for _ in from..<min(from + 1_000, count) { try? publisher.publish(subject: "bench", payload: payload) }
            if from + 1_000 < count { publisher.eventLoop.execute { publishChunk(from + 1_000) } }
        }
        publisher.eventLoop.execute { publishChunk(0) }
        try await done.futureResult.get()
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        try await publisher.close()
        try await subscriber.close()
        return Double(count) / seconds
    }
}
