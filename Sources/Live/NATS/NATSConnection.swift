import Foundation
import NATSProtocol
import NIOCore
import NIOPosix

/// Tuning for one `NATSConnection`.
public struct NATSConnectionConfiguration: Sendable {
    /// Pending bytes that force a write before the end of the event-loop tick. 0 writes and
    /// flushes every publish on its own (the slow baseline the benchmark test compares against).
    public var flushThreshold: Int
    public var pingInterval: Duration
    /// Unanswered keepalive PINGs after which the connection is closed as stale.
    public var maxPingsOutstanding: Int
    /// TCP connect plus handshake (INFO … PONG).
    public var connectTimeout: Duration
    /// Largest message the parser accepts; above nats-server's 1 MB `max_payload` because a
    /// JetStream delivery adds headers to a stored message.
    public var maxIncomingMessage: Int

    public init(flushThreshold: Int = 64 * 1024, pingInterval: Duration = .seconds(30),
                maxPingsOutstanding: Int = 2, connectTimeout: Duration = .seconds(5),
                maxIncomingMessage: Int = 8 << 20) {
        self.flushThreshold = flushThreshold
        self.pingInterval = pingInterval
        self.maxPingsOutstanding = maxPingsOutstanding
        self.connectTimeout = connectTimeout
        self.maxIncomingMessage = maxIncomingMessage
    }
}

/// A NATS client connection over SwiftNIO, driving `NATSProtocol.ClientSession`.
///
/// Threading: every mutable field below is confined to `eventLoop` (hence `@unchecked
/// Sendable`). Methods marked "on the loop" must be called there — a broker node runs its
/// protocol state on the same loop and gets subscription callbacks without hops. `publish` and
/// `unsubscribe` may be called from anywhere; the async methods hop to the loop themselves.
///
/// Writes are batched: publishes append to one buffer that is written and flushed once at the end
/// of the event-loop tick, or as soon as it holds `flushThreshold` bytes.
public final class NATSConnection: @unchecked Sendable {
    public let eventLoop: EventLoop
    public let options: ConnectOptions
    public let configuration: NATSConnectionConfiguration

    /// Called on the loop with the text of every `-ERR` received after the handshake; the ones
    /// nats-server closes the connection after also fail everything pending with `.serverError`.
    public var onServerError: ((String) -> Void)? {
        get { eventLoop.preconditionInEventLoop(); return serverErrorHandler }
        set { eventLoop.preconditionInEventLoop(); serverErrorHandler = newValue }
    }

    /// ConnectOptions with headers (JetStream needs them) and no-responder statuses on.
    public static let defaultOptions = ConnectOptions(headers: true, noResponders: true)

    // MARK: Loop-confined state

    private enum State {
        case connecting
        case ready
        case closed(NATSError)
    }

    private struct PendingRequest {
        var subject: String
        var completion: (Result<NATSMessage, Error>) -> Void
        var timeout: Scheduled<Void>
    }

    private var state: State = .connecting
    private var channel: Channel?
    private var session: ClientSession
    private var handlers: [String: (NATSMessage) -> Void] = [:]
    private var serverErrorHandler: ((String) -> Void)?
    /// Encoded ops not yet handed to the channel.
    private var outbound: [UInt8] = []
    private var flushScheduled = false
    /// One entry per PING sent after the handshake, in order: PONGs come back in the same order.
    /// Keepalive PINGs have no waiter.
    private var pongWaiters = CircularBuffer<EventLoopPromise<Void>?>()
    private let readyPromise: EventLoopPromise<Void>
    private let closedPromise: EventLoopPromise<Void>
    private var keepalive: RepeatedTask?
    /// Why the connection is going away, when we know before the channel closes (-ERR, stale,
    /// parse error); cleared by a later PONG for -ERRs the server survives.
    private var closeReason: NATSError?
    private let inboxPrefix: String
    private var inboxSid: String?
    private var nextRequestToken: UInt64 = 0
    private var requests: [UInt64: PendingRequest] = [:]

    // MARK: State shared with other threads (publish from off the loop)

    private let shared = SharedState()

    private final class SharedState: @unchecked Sendable {
        private let lock = NSLock()
        private var _maxPayload = ServerInfo.defaultMaxPayload
        private var _closed: NATSError?
        var maxPayload: Int {
            get { lock.withLock { _maxPayload } }
            set { lock.withLock { _maxPayload = newValue } }
        }
        var closed: NATSError? {
            get { lock.withLock { _closed } }
            set { lock.withLock { _closed = newValue } }
        }
    }

    private init(eventLoop: EventLoop, options: ConnectOptions, configuration: NATSConnectionConfiguration) {
        self.eventLoop = eventLoop
        self.options = options
        self.configuration = configuration
        self.session = ClientSession(options: options)
        self.readyPromise = eventLoop.makePromise()
        self.closedPromise = eventLoop.makePromise()
        self.inboxPrefix = "_INBOX." + Self.randomToken()
    }

    // MARK: Connecting

    /// Connects and completes the handshake; returns once the session is ready.
    public static func connect(host: String, port: Int, options: ConnectOptions = NATSConnection.defaultOptions,
                               configuration: NATSConnectionConfiguration = .init(),
                               group: EventLoopGroup) async throws -> NATSConnection {
        let loop = group.next()
        let connection = NATSConnection(eventLoop: loop, options: options, configuration: configuration)
        let maxMessage = configuration.maxIncomingMessage
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ServerOpDecoder(maxPayload: maxMessage),
                        ConnectionBridge(connection: connection),
                    ])
                }
            }
        let handshakeTimeout = loop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            connection.handshakeTimedOut()
        }
        defer { handshakeTimeout.cancel() }
        do {
            _ = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            let failure = NATSError.connectionFailed("\(host):\(port): \(error)")
            loop.execute { connection.failed(failure); connection.channelInactive() }
            throw failure
        }
        try await connection.readyPromise.futureResult.get()
        return connection
    }

    /// `connect` with default options and a client name (shown by nats-server's monitoring).
    public static func connect(host: String, port: Int, name: String, group: EventLoopGroup) async throws -> NATSConnection {
        var options = defaultOptions
        options.name = name
        return try await connect(host: host, port: port, options: options, group: group)
    }

    // MARK: Subscriptions

    /// On the loop. `handler` runs on the loop for every message on the new subscription.
    /// The SUB is written at the end of the tick; `flush()` confirms the server has it.
    public func subscribe(subject: String, queue: String? = nil,
                          handler: @escaping (NATSMessage) -> Void) throws -> String {
        eventLoop.preconditionInEventLoop()
        try checkOpen()
        let (sid, ops) = try wrapInvalid { () throws(ProtocolError) in try session.subscribe(subject, queue: queue) }
        handlers[sid] = handler
        try enqueue(ops)
        return sid
    }

    /// From anywhere: hops to the loop, subscribes and returns the sid once the server has
    /// acknowledged the SUB (a PING/PONG round trip), so a publish that follows reaches it.
    public func subscribe(subject: String, queue: String? = nil,
                          handler: @escaping @Sendable (NATSMessage) -> Void) async throws -> String {
        let sid = try await eventLoop.submit {
            try self.subscribe(subject: subject, queue: queue, handler: handler as (NATSMessage) -> Void)
        }.get()
        try await flush()
        return sid
    }

    /// From anywhere. Messages already on the wire for the sid are dropped.
    public func unsubscribe(sid: String) {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.unsubscribe(sid: sid) }
            return
        }
        handlers[sid] = nil
        guard case .ready = state else { return }
        try? enqueue(session.unsubscribe(sid: sid))
    }

    // MARK: Publishing

    /// Cheap and non-blocking. On the loop the op is appended to the write buffer directly; from
    /// another thread it is encoded there and handed to the loop in order.
    public func publish(subject: String, reply: String? = nil, headers: MessageHeaders? = nil,
                        payload: [UInt8]) throws {
        if eventLoop.inEventLoop {
            try checkOpen()
            let ops = try wrapInvalid { () throws(ProtocolError) in
                try session.publish(subject, replyTo: reply, payload: payload, headers: headers)
            }
            try enqueue(ops)
            return
        }
        if let closed = shared.closed { throw closed }
        let op: ClientOp
        var size = payload.count
        if let headers {
            guard options.headers else { throw NATSError.invalidRequest(.malformed("headers not enabled on this connection")) }
            size += try wrapInvalid { () throws(ProtocolError) in try headers.encoded().count }
            op = .hpub(subject: subject, replyTo: reply, headers: headers, payload: payload)
        } else {
            op = .pub(subject: subject, replyTo: reply, payload: payload)
        }
        guard size <= shared.maxPayload else { throw NATSError.invalidRequest(.payloadTooLarge(size)) }
        let bytes = try wrapInvalid { () throws(ProtocolError) in try ClientEncoder.encode(op) }
        eventLoop.execute {
            guard case .ready = self.state else { return }
            self.outbound += bytes
            self.bytesEnqueued()
        }
    }

    /// A PING/PONG round trip: when it returns, the server has processed everything sent before.
    public func flush() async throws {
        try await eventLoop.flatSubmit { self.flushFuture() }.get()
    }

    /// On the loop: `flush()` as a future.
    public func flushFuture() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        do { try checkOpen() } catch { return eventLoop.makeFailedFuture(error) }
        let promise = eventLoop.makePromise(of: Void.self)
        let ops = session.ping()
        pongWaiters.append(promise)
        try? encode(ops)
        writePending()
        return promise.futureResult
    }

    // MARK: Requests

    /// A request on the shared `_INBOX.<random>.*` subscription, answered by the first reply.
    public func request(subject: String, payload: [UInt8], headers: MessageHeaders? = nil,
                        timeout: Duration = .seconds(5)) async throws -> NATSMessage {
        try await requestFuture(subject: subject, payload: payload, headers: headers, timeout: timeout).get()
    }

    /// From anywhere: `request` as a future.
    public func requestFuture(subject: String, payload: [UInt8], headers: MessageHeaders? = nil,
                              timeout: Duration = .seconds(5)) -> EventLoopFuture<NATSMessage> {
        guard eventLoop.inEventLoop else {
            return eventLoop.flatSubmit {
                self.requestFuture(subject: subject, payload: payload, headers: headers, timeout: timeout)
            }
        }
        let promise = eventLoop.makePromise(of: NATSMessage.self)
        request(subject: subject, payload: payload, headers: headers, timeout: timeout) { promise.completeWith($0) }
        return promise.futureResult
    }

    /// On the loop: the callback form, for open-loop drivers that keep many requests in flight.
    /// `completion` runs on the loop exactly once (reply, timeout, no responders or close).
    public func request(subject: String, payload: [UInt8], headers: MessageHeaders? = nil,
                        timeout: Duration, completion: @escaping (Result<NATSMessage, Error>) -> Void) {
        eventLoop.preconditionInEventLoop()
        do {
            try checkOpen()
            if inboxSid == nil {
                let (sid, ops) = try wrapInvalid { () throws(ProtocolError) in try session.subscribe(inboxPrefix + ".*") }
                inboxSid = sid
                try enqueue(ops)
            }
            nextRequestToken += 1
            let token = nextRequestToken
            try publish(subject: subject, reply: inboxPrefix + "." + String(token), headers: headers, payload: payload)
            let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.requestTimedOut(token) }
            requests[token] = PendingRequest(subject: subject, completion: completion, timeout: timer)
        } catch {
            completion(.failure(error))
        }
    }

    private func requestTimedOut(_ token: UInt64) {
        requests.removeValue(forKey: token)?.completion(.failure(NATSError.timeout))
    }

    private func replyReceived(_ message: NATSMessage) {
        let suffix = message.subject.utf8.dropFirst(inboxPrefix.utf8.count + 1)
        guard let token = UInt64(Substring(suffix)), let pending = requests.removeValue(forKey: token) else { return }
        pending.timeout.cancel()
        if let raw = message.headers, let headers = try? MessageHeaders(parsing: raw), headers.status == 503 {
            pending.completion(.failure(NATSError.noResponders(subject: pending.subject)))
        } else {
            pending.completion(.success(message))
        }
    }

    // MARK: Closing

    /// Writes what is buffered, closes, and fails whatever is pending with `.connectionClosed`.
    public func close() async throws {
        try await eventLoop.flatSubmit { self.closeOnLoop() }.get()
    }

    /// On the loop: `close()` as a future.
    public func closeOnLoop() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        guard case .ready = state, let channel else {
            channel?.close(promise: nil)
            return closedPromise.futureResult
        }
        if closeReason == nil { closeReason = .connectionClosed }
        if let lastWrite = writePending() {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
        return closedPromise.futureResult
    }

    /// Completes when the channel has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { closedPromise.futureResult }

    /// Whether the connection is ready for use (from anywhere; a snapshot).
    public var isOpen: Bool { shared.closed == nil }

    // MARK: Driving the session (called by the handlers, on the loop)

    func channelActive(_ channel: Channel) {
        self.channel = channel
    }

    func received(_ op: ServerOp) {
        let wasReady = session.isReady
        let (send, events) = session.received(op)
        if wasReady, case .pong = op {
            if case .serverError? = closeReason { closeReason = nil }
            if let waiter = pongWaiters.popFirst() { waiter?.succeed() }
        }
        if !send.isEmpty {
            try? encode(send)
            writePending()
        }
        for event in events {
            switch event {
            case .message(let message):
                if message.sid == inboxSid {
                    replyReceived(message)
                } else {
                    handlers[message.sid]?(message)
                }
            case .ready(let info):
                shared.maxPayload = info.maxPayload
                state = .ready
                startKeepalive()
                readyPromise.succeed()
            case .serverError(let text):
                closeReason = .serverError(text)
                if case .connecting = state {
                    failed(NATSError.serverError(text))
                    channel?.close(promise: nil)
                } else {
                    serverErrorHandler?(text)
                }
            }
        }
    }

    /// Records why the connection fails; the channel close that follows fails what is pending.
    func failed(_ error: Error) {
        // An I/O error on an established connection (reset, broken pipe) is just a close to callers.
        let ioReason: NATSError = if case .connecting = state { .connectionFailed("\(error)") } else { .connectionClosed }
        let reason = (error as? NATSError) ?? ioReason
        if closeReason == nil { closeReason = reason }
        if case .connecting = state {
            readyPromise.fail(closeReason ?? reason)
            channel?.close(promise: nil)
        }
    }

    private func handshakeTimedOut() {
        guard case .connecting = state else { return }
        closeReason = .timeout
        failed(NATSError.timeout)
    }

    func channelInactive() {
        if case .closed = state { return }
        let reason = closeReason ?? .connectionClosed
        state = .closed(reason)
        shared.closed = reason
        keepalive?.cancel()
        keepalive = nil
        channel = nil
        outbound = []
        readyPromise.fail(reason)
        while let waiter = pongWaiters.popFirst() { waiter?.fail(reason) }
        let pending = requests
        requests = [:]
        for (_, request) in pending.sorted(by: { $0.key < $1.key }) {
            request.timeout.cancel()
            request.completion(.failure(reason))
        }
        closedPromise.succeed()
    }

    // MARK: Writing

    private func checkOpen() throws {
        switch state {
        case .ready: return
        case .connecting: throw NATSError.connectionClosed
        case .closed(let reason): throw reason
        }
    }

    private func encode(_ ops: [ClientOp]) throws {
        for op in ops {
            try wrapInvalid { () throws(ProtocolError) in try ClientEncoder.encode(op, into: &outbound) }
        }
    }

    private func enqueue(_ ops: [ClientOp]) throws {
        try encode(ops)
        bytesEnqueued()
    }

    private func bytesEnqueued() {
        if outbound.count >= configuration.flushThreshold {
            writePending()
        } else if !flushScheduled {
            // Tasks run after the loop has handled the current batch of I/O, so everything
            // published in this tick goes out in one write.
            flushScheduled = true
            eventLoop.execute {
                self.flushScheduled = false
                self.writePending()
            }
        }
    }

    @discardableResult
    private func writePending() -> EventLoopFuture<Void>? {
        guard let channel, !outbound.isEmpty else { return nil }
        var buffer = channel.allocator.buffer(capacity: outbound.count)
        buffer.writeBytes(outbound)
        outbound.removeAll(keepingCapacity: true)
        return channel.writeAndFlush(buffer)
    }

    private func startKeepalive() {
        let interval = TimeAmount(configuration.pingInterval)
        keepalive = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            self.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        guard case .ready = state else { return }
        if session.pingsOutstanding >= configuration.maxPingsOutstanding {
            closeReason = .staleConnection
            channel?.close(promise: nil)
            return
        }
        let ops = session.ping()
        guard !ops.isEmpty else { return }
        pongWaiters.append(nil)
        try? encode(ops)
        writePending()
    }

    private func wrapInvalid<T>(_ body: () throws(ProtocolError) -> T) throws(NATSError) -> T {
        do {
            return try body()
        } catch {
            throw .invalidRequest(error)
        }
    }

    static func randomToken(length: Int = 22) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] },
                      as: UTF8.self)
    }
}
