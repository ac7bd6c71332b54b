import Foundation
import Live
import LiveBroker
import LiveClient
import Logging
import NIOCore
import NIOPosix
import Replication
import Wire
import XCTest

/// Broker nodes in this process, each on its own event loop, over real sockets and files: fast
/// enough for unit tests of the live driver (the process-level SIGKILL test is in CLITests).
final class InProcessCluster: @unchecked Sendable {
    let group: MultiThreadedEventLoopGroup
    let directory: URL
    var configs: [BrokerNodeConfig]
    var nodes: [BrokerNode?]

    init(size: Int, natsURL: String? = nil, replica: ReplicaConfig? = nil, payloadCacheBytes: Int = 32 << 20) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: size)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-live-\(UUID().uuidString)")
        let ports = try Ports.free(3 * size)
        let members = (0..<size).map { BrokerAddress(id: $0, name: "n\($0 + 1)", clientPort: ports[3 * $0], peerPort: ports[3 * $0 + 1]) }
        let template = replica ?? ReplicaConfig(brokerID: 0, ackPolicy: .all, fsync: .always, replicaLagMaxNanos: 1_000_000_000,
                                                leaderTimeoutNanos: 300_000_000, fetchIntervalNanos: 2_000_000,
                                                requestTimeoutNanos: 150_000_000, hwCheckpointIntervalNanos: 100_000_000,
                                                maxFetchBatch: 1024, maxFetchBytes: 4 << 20)
        configs = members.map { m in
            BrokerNodeConfig(id: m.id, clusterID: "test", members: members,
                             dataDirectory: FileManager.default.temporaryDirectory.path, replica: template,
                             raftTickNanos: 10_000_000, electionTicks: 15, heartbeatTicks: 3, natsURL: natsURL,
                             metricsPort: ports[3 * m.id + 2],
                             maxClientFrameBytes: 64 << 10, payloadCacheBytes: payloadCacheBytes)
        }
        for i in configs.indices { configs[i].dataDirectory = directory.appendingPathComponent("n\(i + 1)").path }
        nodes = Array(repeating: nil, count: size)
    }

    /// Runs `body` against a started cluster and always shuts it down (threads, sockets, files).
    static func with(size: Int, natsURL: String? = nil, replica: ReplicaConfig? = nil, payloadCacheBytes: Int = 32 << 20,
                     _ body: (InProcessCluster) async throws -> Void) async throws {
        let cluster = try InProcessCluster(size: size, natsURL: natsURL, replica: replica, payloadCacheBytes: payloadCacheBytes)
        do {
            try await cluster.startAll()
            try await body(cluster)
        } catch {
            try await cluster.shutdown()
            throw error
        }
        try await cluster.shutdown()
    }

    func start(_ i: Int) async throws {
        var logger = Logger(label: "test.n\(i + 1)")
        logger.logLevel = ProcessInfo.processInfo.environment["FAULTLINE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        nodes[i] = try await BrokerServer.start(configs[i], loop: group.any(), logger: logger)
    }

    func startAll() async throws {
        for i in configs.indices { try await start(i) }
    }

    /// Stops a node as a crash would: timers, sockets and queued disk work are dropped.
    func crash(_ i: Int) async throws {
        guard let node = nodes[i] else { return }
        try await node.loop.submit { node.stop() }.get()
        nodes[i] = nil
    }

    func shutdown() async throws {
        for i in nodes.indices { try await crash(i) }
        try await group.shutdownGracefully()
        try? FileManager.default.removeItem(at: directory)
    }

    func client(_ i: Int) async throws -> BrokerClient {
        try await BrokerClient.connect(host: "127.0.0.1", port: configs[i].me.clientPort, on: group.any())
    }

    func index(of name: String) -> Int? { configs.firstIndex { $0.me.name == name } }

    /// Waits until a running node leads `stream` by its own account (its applied metadata names
    /// itself, so its replica leads); returns its index.
    func waitForLeader(_ stream: String, excluding: Int? = nil, timeout: Double = 15) async throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for i in nodes.indices where nodes[i] != nil && i != excluding {
                if let client = try? await client(i) {
                    let meta = try? await client.metadata()
                    client.close()
                    if meta?.stream(stream)?.leader == configs[i].me.name { return i }
                }
            }
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        throw BrokerClientError("no leader for \(stream)")
    }

    /// Waits until node `i` has applied the stream's state with `leader` leading: metadata
    /// commits reach a follower one heartbeat after the leader (until then it answers
    /// `streamNotFound`, which is right, but not what a test of leader hints wants).
    func waitUntil(node i: Int, knows leader: Int, leads stream: String, timeout: Double = 15) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let client = try? await client(i) {
                let meta = try? await client.metadata()
                client.close()
                if meta?.stream(stream)?.leader == configs[leader].me.name { return }
            }
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        throw BrokerClientError("n\(i + 1) never learned that n\(leader + 1) leads \(stream)")
    }

    /// Waits until the stream's committed ISR (as `via` reports it) holds node `i` again: a
    /// restarted replica must have caught up before its peers may die (else the ISR shrinks
    /// below min-ISR and publishes are refused, correctly).
    func waitUntilInSync(_ i: Int, stream: String, via: Int, timeout: Double = 15) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let client = try? await client(via) {
                let meta = try? await client.metadata()
                client.close()
                if meta?.stream(stream)?.inSyncReplicas.contains(configs[i].me.name) == true { return }
            }
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        throw BrokerClientError("n\(i + 1) never rejoined the ISR of \(stream)")
    }

    func createStream(_ name: String, subject: String? = nil) async throws {
        let deadline = Date().addingTimeInterval(15)
        while true {
            do {
                let c = try await client(0)
                defer { c.close() }
                try await c.createStream(name: name, subject: subject, replicationFactor: configs.count, minISR: min(2, configs.count))
                return
            } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
    }

    /// Publishes messages (producer 1, sequences as given) to `leader` and awaits every outcome.
    func publish(_ sequences: [UInt64], to leader: Int, stream: String, ack: Wire.AckLevel = .all) async throws -> [PublishOutcome] {
        let c = try await client(leader)
        defer { c.close() }
        let loop = c.eventLoop
        let promises = try await loop.submit { () -> [EventLoopFuture<PublishOutcome>] in
            sequences.map { sequence in
                let promise = loop.makePromise(of: PublishOutcome.self)
                c.publish(stream: stream, producerID: 1, sequence: sequence, ack: ack, payload: Array("m\(sequence)".utf8)) {
                    promise.succeed($0)
                }
                return promise.futureResult
            }
        }.get()
        var outcomes: [PublishOutcome] = []
        for p in promises { outcomes.append(try await p.get()) }
        return outcomes
    }

    /// Every committed entry of `stream`, read from its leader. Retried: metadata can name a
    /// leader whose replica is not serving yet (a restarted leader waits for a renewed epoch).
    func readAll(_ stream: String) async throws -> [Entry] {
        let deadline = Date().addingTimeInterval(15)
        while true {
            do {
                let leader = try await waitForLeader(stream)
                let c = try await client(leader)
                defer { c.close() }
                var entries: [Entry] = []
                while true {
                    let (batch, hw) = try await c.fetch(stream: stream, offset: UInt64(entries.count), maxEntries: 500)
                    entries += batch
                    if batch.isEmpty || UInt64(entries.count) >= hw { return entries }
                }
            } catch {
                if Date() > deadline { throw error }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
    }
}
