import Foundation
import NATSProtocol
import NIOCore
import NIOPosix
import XCTest
import LiveNATS

let group = MultiThreadedEventLoopGroup.singleton

/// A fresh directory for one test's servers; `nats-server` writes configs, logs and stores there.
func makeTestDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("faultline-nats-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Starts a cluster for the body and always stops it (and removes its directory) afterwards.
func withCluster<T>(nodes: Int = 1, jetstream: Bool = false, extraConfig: String = "", name: String = #function,
                    _ body: (NATSServerCluster) async throws -> T) async throws -> T {
    let directory = try makeTestDirectory(name)
    let cluster: NATSServerCluster
    do {
        cluster = try await NATSServerCluster.start(directory: directory, nodes: nodes, jetstream: jetstream,
                                                    extraConfig: extraConfig, group: group)
    } catch {
        print("nats-server logs kept in \(directory.path)")
        throw error
    }
    do {
        let result = try await body(cluster)
        cluster.stop()
        try? FileManager.default.removeItem(at: directory)
        return result
    } catch {
        cluster.stop()
        // Keep the logs of a failed test.
        print("nats-server logs kept in \(directory.path)")
        throw error
    }
}

func connect(_ cluster: NATSServerCluster, node: Int = 0, name: String = "test",
             configuration: NATSConnectionConfiguration = .init()) async throws -> NATSConnection {
    var options = NATSConnection.defaultOptions
    options.name = name
    return try await NATSConnection.connect(host: "127.0.0.1", port: cluster.nodes[node].clientPort,
                                            options: options, configuration: configuration, group: group)
}

/// The first `count` elements of the stream, or `NATSError.timeout`.
func first<T: Sendable>(_ count: Int, of stream: AsyncStream<T>, within timeout: Duration = .seconds(5)) async throws -> [T] {
    try await withThrowingTaskGroup(of: [T].self) { tasks in
        tasks.addTask {
            var out: [T] = []
            for await element in stream {
                out.append(element)
                if out.count == count { break }
            }
            return out
        }
        tasks.addTask {
            try await Task.sleep(for: timeout)
            throw NATSError.timeout
        }
        defer { tasks.cancelAll() }
        return try await tasks.next()!
    }
}

/// Fails `promise` with `NATSError.timeout` unless it completes first.
func deadline<T>(_ promise: EventLoopPromise<T>, after timeout: Duration) {
    let task = promise.futureResult.eventLoop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(NATSError.timeout) }
    promise.futureResult.whenComplete { _ in task.cancel() }
}

func bytes(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian, Array.init)
}

func uint64(_ bytes: [UInt8]) -> UInt64 {
    bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
}

/// An open-loop JetStream load driver: keeps `inFlight` publishes outstanding on one connection,
/// sending the next as each ack arrives, all on the connection's event loop.
final class OpenLoopPublisher: @unchecked Sendable {
    // Confined to the connection's loop.
    private let jetStream: JetStream
    private let subject: String
    private let count: Int
    private let inFlight: Int
    private let msgID: (Int) -> String?
    private var next = 0
    private var acked = 0
    private(set) var acks: [PubAck?]
    private let promise: EventLoopPromise<[PubAck]>

    init(jetStream: JetStream, subject: String, count: Int, inFlight: Int, msgID: @escaping (Int) -> String?) {
        self.jetStream = jetStream
        self.subject = subject
        self.count = count
        self.inFlight = inFlight
        self.msgID = msgID
        self.acks = Array(repeating: nil, count: count)
        self.promise = jetStream.connection.eventLoop.makePromise()
    }

    /// Publishes message i with payload = i (8 bytes big-endian) and returns the acks by index.
    static func run(_ jetStream: JetStream, subject: String, count: Int, inFlight: Int,
                    timeout: Duration = .seconds(15), msgID: @escaping @Sendable (Int) -> String? = { _ in nil })
        async throws -> [PubAck]
    {
        let driver = OpenLoopPublisher(jetStream: jetStream, subject: subject, count: count, inFlight: inFlight,
                                       msgID: msgID)
        deadline(driver.promise, after: timeout)
        jetStream.connection.eventLoop.execute { driver.start() }
        return try await driver.promise.futureResult.get()
    }

    private func start() {
        for _ in 0..<min(inFlight, count) { sendNext() }
    }

    private func sendNext() {
        guard next < count else { return }
        let index = next
        next += 1
        jetStream.publish(subject: subject, payload: bytes(UInt64(index)), msgID: msgID(index)) { [self] result in
            switch result {
            case .success(let ack):
                acks[index] = ack
                acked += 1
                if acked == count { promise.succeed(acks.map { $0! }) } else { sendNext() }
            case .failure(let error):
                promise.fail(error)
            }
        }
    }
}
