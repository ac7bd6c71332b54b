import NIOCore

/// A pool of keep-alive HTTP/1.1 connections to one server.
///
/// - One request in flight per connection (no pipelining: a slow response would hold up every
///   request queued behind it on the same connection, which a pool's caller cannot see).
/// - Connections open on demand, up to `maxConnections`; when all are busy, requests wait in
///   FIFO order, at most `maxWaiters` of them — beyond that `send` fails at once with
///   `.overloaded`, so an overloaded server shows up as errors rather than as client memory.
/// - A connection the server closes, or whose response said `Connection: close`, leaves the
///   pool. A timed-out request closes its connection: its late response would otherwise be
///   taken for the answer to the next request.
///
/// All state lives on one event loop (`eventLoop`, the group's next at creation), and so do the
/// pool's connections: no locks, and no thread hop between pool and socket. `send` may be
/// called from any thread; callers on `eventLoop` skip the hop. For more than one core of
/// client work, use one pool per event loop.
public final class HTTPConnectionPool: @unchecked Sendable {
    public let host: String
    public let port: Int
    public let eventLoop: any EventLoop
    public let maxConnections: Int
    public let maxWaiters: Int
    public let connectTimeout: TimeAmount

    // Confined to `eventLoop`.
    /// Connected and not busy; the most recently used is reused first (LIFO), so a light load
    /// keeps its requests on few warm connections and lets the rest idle out on the server.
    private var idle: [PooledConnection] = []
    private var connections: [ObjectIdentifier: PooledConnection] = [:]
    private var connecting = 0
    /// FIFO; requests that timed out while waiting stay until they reach the front (skipped).
    private var waiters = CircularBuffer<PendingRequest>()
    private var waiting = 0
    private var opened = 0
    private var isShutDown = false

    public init(host: String, port: Int, group: any EventLoopGroup, maxConnections: Int = 64, maxWaiters: Int = 10_000,
                connectTimeout: TimeAmount = .seconds(1)) {
        precondition(maxConnections > 0, "maxConnections must be positive")
        self.host = host
        self.port = port
        eventLoop = group.next()
        self.maxConnections = maxConnections
        self.maxWaiters = max(0, maxWaiters)
        self.connectTimeout = connectTimeout
    }

    /// Sends `request` and completes with its response, or fails with an `HTTPClientError`.
    /// `timeout` runs from this call (waiting for a connection included); `nil` waits for ever.
    public func send(_ request: HTTPRequestSpec, timeout: TimeAmount?) -> EventLoopFuture<HTTPReply> {
        if eventLoop.inEventLoop { return enqueue(request, timeout: timeout) }
        return eventLoop.flatSubmit { self.enqueue(request, timeout: timeout) }
    }

    /// `send(_:timeout:)` for async callers.
    public func send(_ request: HTTPRequestSpec, timeout: TimeAmount?) async throws -> HTTPReply {
        let future: EventLoopFuture<HTTPReply> = send(request, timeout: timeout)
        return try await future.get()
    }

    /// Closes every connection and fails every waiting or in-flight request with `.shutDown`;
    /// later `send`s fail the same way. Completes when the connections have closed.
    public func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { self.shutDownOnLoop() }
    }

    public func shutdown() async {
        let future: EventLoopFuture<Void> = shutdown()
        try? await future.get()
    }

    /// A snapshot of the pool, for tests and diagnostics.
    public struct Statistics: Sendable, Equatable {
        /// Connected (idle or busy).
        public var open: Int
        public var idle: Int
        public var connecting: Int
        /// Requests waiting for a connection.
        public var waiting: Int
        /// Connections successfully opened since the pool was created.
        public var opened: Int

        public init(open: Int, idle: Int, connecting: Int, waiting: Int, opened: Int) {
            self.open = open
            self.idle = idle
            self.connecting = connecting
            self.waiting = waiting
            self.opened = opened
        }
    }

    public func statistics() -> EventLoopFuture<Statistics> {
        eventLoop.submit {
            Statistics(open: self.connections.count, idle: self.idle.count, connecting: self.connecting,
                       waiting: self.waiting, opened: self.opened)
        }
    }

    public func statistics() async throws -> Statistics {
        let future: EventLoopFuture<Statistics> = statistics()
        return try await future.get()
    }

    // MARK: - On the event loop

    private func enqueue(_ spec: HTTPRequestSpec, timeout: TimeAmount?) -> EventLoopFuture<HTTPReply> {
        guard !isShutDown else { return eventLoop.makeFailedFuture(HTTPClientError.shutDown) }
        let slot = idle.popLast()
        if slot == nil, waiting >= maxWaiters { return eventLoop.makeFailedFuture(HTTPClientError.overloaded) }
        let request = PendingRequest(spec: spec, promise: eventLoop.makePromise())
        if let timeout {
            request.timer = eventLoop.scheduleTask(in: timeout) { self.timedOut(request) }
        }
        if let slot {
            dispatch(request, on: slot)
        } else {
            waiters.append(request)
            waiting += 1
            openConnectionsIfNeeded()
        }
        return request.promise.futureResult
    }

    private func dispatch(_ request: PendingRequest, on slot: PooledConnection) {
        request.slot = slot
        slot.request = request
        slot.requestIsOnReusedConnection = slot.connection.answered > 0
        if !slot.connection.send(request.spec, flush: true) {
            // Cannot happen for a connection the pool still holds (it drops them before they
            // close); kept safe anyway: back to the front of the queue, connection dropped.
            slot.request = nil
            request.slot = nil
            waiters.prepend(request)
            waiting += 1
            drop(slot)
            slot.connection.delegate = nil
            slot.connection.close()
            serveWaitersFromIdle()
            openConnectionsIfNeeded()
        }
    }

    /// The next waiter that has not timed out.
    private func popWaiter() -> PendingRequest? {
        while let request = waiters.popFirst() {
            if request.isDone { continue }
            waiting -= 1
            return request
        }
        return nil
    }

    /// A connection became free: the oldest waiter gets it, else it idles.
    private func release(_ slot: PooledConnection) {
        if let next = popWaiter() {
            dispatch(next, on: slot)
        } else {
            idle.append(slot)
        }
    }

    /// After a request went back to the queue: idle connections take waiters first.
    private func serveWaitersFromIdle() {
        while waiting > 0, let slot = idle.popLast() { release(slot) }
    }

    private func drop(_ slot: PooledConnection) {
        connections[ObjectIdentifier(slot)] = nil
        if let i = idle.firstIndex(where: { $0 === slot }) { idle.remove(at: i) }
    }

    /// One connection attempt per waiter not already covered by one, within `maxConnections`.
    private func openConnectionsIfNeeded() {
        while !isShutDown, waiting > connecting, connections.count + connecting < maxConnections {
            connecting += 1
            HTTPConnection.connect(host: host, port: port, on: eventLoop, connectTimeout: connectTimeout)
                .whenComplete { result in self.connectFinished(result) }
        }
    }

    private func connectFinished(_ result: Result<HTTPConnection, any Error>) {
        connecting -= 1
        switch result {
        case .success(let connection):
            guard !isShutDown else { return connection.close() }
            guard connection.canSend else {
                // Accepted and closed at once (a server shedding load): as good as refused.
                return connectFailed(.connectionClosed)
            }
            let slot = PooledConnection(pool: self, connection: connection)
            connection.delegate = slot
            connections[ObjectIdentifier(slot)] = slot
            opened += 1
            release(slot)
        case .failure(let error):
            connectFailed(error as? HTTPClientError ?? .connectFailed("\(host):\(port): \(error)"))
        }
    }

    /// The attempt was made for a waiter; if that waiter is still uncovered, it fails (rather
    /// than waiting, perhaps for ever, for a server that refuses connections).
    private func connectFailed(_ error: HTTPClientError) {
        if waiting > connecting, let request = popWaiter() {
            complete(request, .failure(error))
        }
        openConnectionsIfNeeded()
    }

    fileprivate func received(_ reply: HTTPReply, on slot: PooledConnection) {
        guard let request = slot.request else { return }
        slot.request = nil
        request.slot = nil
        // The connection goes back first: a caller that sends again from the completion
        // callback must find it idle rather than open a second one.
        if slot.connection.canSend { release(slot) }
        complete(request, .success(reply))
    }

    fileprivate func closed(_ slot: PooledConnection, error: HTTPClientError) {
        drop(slot)
        var failed: (PendingRequest, HTTPClientError)?
        if let request = slot.request {
            slot.request = nil
            request.slot = nil
            if error == .connectionClosed, slot.requestIsOnReusedConnection, !request.retried,
               request.spec.isIdempotent, !isShutDown {
                // The server closed an idle keep-alive connection as we reused it: the request
                // never reached it, so try once more on a fresh connection.
                request.retried = true
                waiters.prepend(request)
                waiting += 1
            } else {
                failed = (request, error)
            }
        }
        serveWaitersFromIdle()
        openConnectionsIfNeeded()
        if let (request, error) = failed { complete(request, .failure(error)) }
    }

    private func timedOut(_ request: PendingRequest) {
        guard !request.isDone else { return }
        if let slot = request.slot {
            slot.request = nil
            request.slot = nil
            drop(slot)
            slot.connection.delegate = nil
            slot.connection.close(reason: .timeout)
            openConnectionsIfNeeded()
        } else {
            // Still waiting: it stays in `waiters` (skipped when reached) but no longer counts.
            waiting -= 1
        }
        complete(request, .failure(.timeout))
    }

    private func complete(_ request: PendingRequest, _ result: Result<HTTPReply, HTTPClientError>) {
        guard !request.isDone else { return }
        request.isDone = true
        request.timer?.cancel()
        request.timer = nil
        switch result {
        case .success(let reply): request.promise.succeed(reply)
        case .failure(let error): request.promise.fail(error)
        }
    }

    private func shutDownOnLoop() -> EventLoopFuture<Void> {
        guard !isShutDown else { return eventLoop.makeSucceededVoidFuture() }
        isShutDown = true
        var failed: [PendingRequest] = []
        while let request = popWaiter() { failed.append(request) }
        let slots = Array(connections.values)
        connections = [:]
        idle = []
        var closes: [EventLoopFuture<Void>] = []
        for slot in slots {
            if let request = slot.request {
                slot.request = nil
                request.slot = nil
                failed.append(request)
            }
            slot.connection.delegate = nil
            let closed = eventLoop.makePromise(of: Void.self)
            slot.connection.close(reason: .shutDown, closed: closed)
            closes.append(closed.futureResult)
        }
        for request in failed { complete(request, .failure(.shutDown)) }
        return EventLoopFuture.andAllComplete(closes, on: eventLoop)
    }
}

/// One request from `send` to its completion. A class so that its timer, the queue and the
/// connection serving it all refer to the same request.
private final class PendingRequest: @unchecked Sendable {
    let spec: HTTPRequestSpec
    let promise: EventLoopPromise<HTTPReply>
    var timer: Scheduled<Void>?
    /// The connection it was sent on, while in flight.
    var slot: PooledConnection?
    var isDone = false
    var retried = false

    init(spec: HTTPRequestSpec, promise: EventLoopPromise<HTTPReply>) {
        self.spec = spec
        self.promise = promise
    }
}

/// A pool connection and the request it is serving; the connection's delegate.
private final class PooledConnection: HTTPConnectionDelegate {
    /// Strong: a pool lives until its connections have closed (`shutdown()`).
    let pool: HTTPConnectionPool
    let connection: HTTPConnection
    var request: PendingRequest?
    /// Whether `request` went out on a connection that had answered before (see `closed`).
    var requestIsOnReusedConnection = false

    init(pool: HTTPConnectionPool, connection: HTTPConnection) {
        self.pool = pool
        self.connection = connection
    }

    func connection(_ connection: HTTPConnection, received reply: HTTPReply) {
        pool.received(reply.detached(), on: self)
    }

    func connectionReadComplete(_ connection: HTTPConnection) {}

    func connectionClosed(_ connection: HTTPConnection, unanswered: Int, error: HTTPClientError) {
        pool.closed(self, error: error)
    }
}
