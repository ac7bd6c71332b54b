import NIOCore
import NIOPosix
import Wire

public struct BrokerClientError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The answer to one publish.
public enum PublishOutcome: Sendable, Equatable {
    case acked(offset: UInt64)
    /// The broker refused it (not leader, not enough replicas, leadership changed, no stream).
    case refused(AckStatus)
    /// The connection closed before an answer: the message may or may not have been stored.
    case connectionLost
}

/// A client connection to one broker node, speaking the Wire protocol. Publishes are pipelined
/// (any number in flight, answered by producer id and sequence); fetches, metadata and admin
/// requests are answered in the order asked.
///
/// Confined to its event loop: call everything from `eventLoop` (the async helpers hop there).
public final class BrokerClient: @unchecked Sendable {
    public let eventLoop: EventLoop
    public let address: String
    private var channel: Channel?
    private var publishes: [PublishKey: (PublishOutcome) -> Void] = [:]
    private var fetches: [EventLoopPromise<Message>] = []
    private var metadataRequests: [EventLoopPromise<Message>] = []
    private var adminRequests: [EventLoopPromise<Message>] = []
    private var flushScheduled = false
    public private(set) var isClosed = false
    /// Called once when the connection closes (after every pending request has failed).
    public var onClose: (() -> Void)?

    struct PublishKey: Hashable {
        var producerID: UInt64
        var sequence: UInt64
    }

    private init(eventLoop: EventLoop, address: String) {
        self.eventLoop = eventLoop
        self.address = address
    }

    public static func connect(host: String, port: Int, on eventLoop: EventLoop,
                               maxFrameBytes: Int = 64 << 20) async throws -> BrokerClient {
        let client = BrokerClient(eventLoop: eventLoop, address: "\(host):\(port)")
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(client: client, maxFrameBytes: maxFrameBytes))
                }
            }
            .connect(host: host, port: port).get()
        try await eventLoop.submit { client.channel = channel }.get()
        return client
    }

    // MARK: - Requests (on the event loop)

    /// Sends a publish; `completion` runs on the event loop with its outcome.
    public func publish(stream: String, producerID: UInt64, producerEpoch: UInt64 = 0, sequence: UInt64, ack: AckLevel, payload: [UInt8],
                        completion: @escaping (PublishOutcome) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard let channel, !isClosed else { return completion(.connectionLost) }
        publishes[PublishKey(producerID: producerID, sequence: sequence)] = completion
        send(.publish(stream: stream, producerID: producerID, producerEpoch: producerEpoch, sequence: sequence, ack: ack, payload: payload),
             on: channel)
    }

    public var publishesInFlight: Int { publishes.count }

    public func fetch(stream: String, offset: UInt64, maxEntries: UInt32 = 1000, maxBytes: UInt32 = 4 << 20) async throws
        -> (entries: [Entry], highWatermark: UInt64)
    {
        let reply = try await request(.fetch(stream: stream, offset: offset, maxEntries: maxEntries, maxBytes: maxBytes)) { $0.fetches.append($1) }
        guard case let .fetchResponse(_, entries, highWatermark, error) = reply else { throw BrokerClientError("unexpected reply \(reply)") }
        if let error { throw BrokerClientError(error) }
        return (entries, highWatermark)
    }

    public struct Metadata: Sendable {
        public var metadataLeader: String?
        public var streams: [StreamMetadata]
        public var brokers: [BrokerInfo]

        public func stream(_ name: String) -> StreamMetadata? { streams.first { $0.name == name } }
        public func broker(_ id: String) -> BrokerInfo? { brokers.first { $0.id == id } }
    }

    public func metadata(streams: [String] = []) async throws -> Metadata {
        let reply = try await request(.metadataRequest(streams: streams)) { $0.metadataRequests.append($1) }
        guard case let .metadataResponse(leader, streams, brokers) = reply else { throw BrokerClientError("unexpected reply \(reply)") }
        return Metadata(metadataLeader: leader, streams: streams, brokers: brokers)
    }

    /// `replicas`: nodes to place it on, in preference order; empty = the broker's spread rule.
    public func createStream(name: String, subject: String?, replicationFactor: Int, minISR: Int, replicas: [String] = []) async throws {
        let reply = try await request(.createStream(name: name, subject: subject, replicationFactor: UInt16(replicationFactor),
                                                    minISR: UInt16(minISR), replicas: replicas)) { $0.adminRequests.append($1) }
        guard case let .adminAck(ok, error) = reply else { throw BrokerClientError("unexpected reply \(reply)") }
        if !ok { throw BrokerClientError("create stream \(name): \(error ?? "refused")") }
    }

    public func deleteStream(name: String) async throws {
        let reply = try await request(.deleteStream(name: name)) { $0.adminRequests.append($1) }
        guard case let .adminAck(ok, error) = reply else { throw BrokerClientError("unexpected reply \(reply)") }
        if !ok { throw BrokerClientError("delete stream \(name): \(error ?? "refused")") }
    }

    /// Sends raw bytes (tests: malformed frames).
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await eventLoop.submit { [self] in
            guard let channel else { throw BrokerClientError("not connected") }
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
        }.get()
    }

    public func close() {
        eventLoop.execute { [self] in channel?.close(promise: nil) }
    }

    private func request(_ message: Message, enqueue: @escaping @Sendable (BrokerClient, EventLoopPromise<Message>) -> Void) async throws -> Message {
        try await eventLoop.flatSubmit { [self] () -> EventLoopFuture<Message> in
            guard let channel, !isClosed else { return eventLoop.makeFailedFuture(BrokerClientError("connection to \(address) closed")) }
            let promise = eventLoop.makePromise(of: Message.self)
            enqueue(self, promise)
            send(message, on: channel)
            return promise.futureResult
        }.get()
    }

    private func send(_ message: Message, on channel: Channel) {
        channel.write(channel.allocator.buffer(bytes: WireCodec.encode(message)), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            eventLoop.execute { [self] in
                flushScheduled = false
                self.channel?.flush()
            }
        }
    }

    // MARK: - Responses

    fileprivate func received(_ message: Message) {
        switch message {
        case let .publishAck(producerID, sequence, status, offset):
            guard let completion = publishes.removeValue(forKey: PublishKey(producerID: producerID, sequence: sequence)) else { return }
            if status == .ok, let offset { completion(.acked(offset: offset)) } else { completion(.refused(status)) }
        case .fetchResponse:
            if !fetches.isEmpty { fetches.removeFirst().succeed(message) }
        case .metadataResponse:
            if !metadataRequests.isEmpty { metadataRequests.removeFirst().succeed(message) }
        case .adminAck:
            if !adminRequests.isEmpty { adminRequests.removeFirst().succeed(message) }
        case .error(let code, let text):
            failAll(BrokerClientError("broker error \(code): \(text)"))
        default:
            break
        }
    }

    fileprivate func closed() {
        guard !isClosed else { return }
        isClosed = true
        failAll(BrokerClientError("connection to \(address) closed"))
        onClose?()
    }

    private func failAll(_ error: Error) {
        let pending = publishes
        publishes = [:]
        // Sequence order, so a producer sees its failures in the order it sent.
        for (key, completion) in pending.sorted(by: { ($0.key.producerID, $0.key.sequence) < ($1.key.producerID, $1.key.sequence) }) {
            _ = key
            completion(.connectionLost)
        }
        for promise in fetches + metadataRequests + adminRequests { promise.fail(error) }
        fetches = []
        metadataRequests = []
        adminRequests = []
    }
}

private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let client: BrokerClient
    private var decoder: FrameDecoder

    init(client: BrokerClient, maxFrameBytes: Int) {
        self.client = client
        decoder = FrameDecoder(limits: WireLimits(maxFrameSize: maxFrameBytes))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            for message in try buffer.withUnsafeReadableBytes({ try decoder.feed($0) }) { client.received(message) }
        } catch {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
