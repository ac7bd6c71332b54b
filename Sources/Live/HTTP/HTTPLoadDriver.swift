import LoadCore
import NIOCore

/// One event loop's share of an `OpenLoopHTTPLoad` run: its connections, its part of the
/// schedule, its counts. Confined to `loop`; the run merges the drivers' tallies at the end.
final class HTTPLoadDriver: @unchecked Sendable {
    /// A request that is due: its index (passed to the request factory) and intended send time.
    struct Due {
        var index: Int
        var intended: Int64
    }

    enum Mode {
        /// Sends each arrival at its intended time (ns since start); `nil` once exhausted.
        case openLoop(arrivals: () -> Due?)
        /// Keeps every connection full, back to back, until `duration` ns after start (wrk).
        /// Request indexes are `first`, `first + stride`, …
        case closedLoop(duration: Int64, first: Int, stride: Int)
    }

    let loop: any EventLoop
    private let settings: OpenLoopHTTPLoad
    private let mode: Mode
    private let request: @Sendable (Int) -> HTTPRequestSpec
    private let classify: @Sendable (Int, HTTPReply) -> HTTPOutcome
    private let timeoutNanos: Int64
    private let batchNanos: Int64
    private let maxQueued: Int
    /// Closed loop: each request is intended exactly when it is sent.
    private let isClosedLoop: Bool

    // Confined to `loop`.
    private var connections: [LoadConnection] = []
    private var tally: HTTPLoadTally
    private var startNanos: Int64 = 0
    private var running = false
    private var finished = false
    /// Due requests waiting for a free slot, oldest first.
    private var queue = CircularBuffer<Due>()
    private var inFlight = 0
    private var cursor = 0
    private var needFlush: [LoadConnection] = []
    private var nextDue: Due?
    private var arrivalsDone = false
    private var nextClosedLoopIndex = 0
    private var ticker: Scheduled<Void>?
    private var sweeper: RepeatedTask?
    private var deadlines: [Scheduled<Void>] = []
    private let done: EventLoopPromise<HTTPLoadTally>

    init(loop: any EventLoop, connections count: Int, settings: OpenLoopHTTPLoad, mode: Mode, maxQueued: Int,
         request: @escaping @Sendable (Int) -> HTTPRequestSpec, classify: @escaping @Sendable (Int, HTTPReply) -> HTTPOutcome) {
        self.loop = loop
        self.settings = settings
        self.mode = mode
        self.request = request
        self.classify = classify
        self.maxQueued = maxQueued
        timeoutNanos = settings.timeout.nanoseconds
        batchNanos = max(0, settings.batchInterval.nanoseconds)
        tally = HTTPLoadTally(lateThreshold: settings.lateThreshold, timeSeriesWindow: settings.timeSeriesWindow)
        done = loop.makePromise()
        if case .closedLoop(_, let first, _) = mode {
            nextClosedLoopIndex = first
            isClosedLoop = true
        } else {
            isClosedLoop = false
        }
        connections = (0..<count).map { _ in LoadConnection() }
        for connection in connections { connection.driver = self }
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - startNanos }

    // MARK: - Lifecycle

    /// Opens every connection; fails if any cannot be opened.
    func connectAll() -> EventLoopFuture<Void> {
        loop.flatSubmit {
            let opened = self.connections.map { slot in
                HTTPConnection.connect(host: self.settings.host, port: self.settings.port, on: self.loop,
                                       connectTimeout: self.settings.connectTimeout)
                    .flatMapThrowing { connection in
                        guard connection.canSend else { throw HTTPClientError.connectionClosed }
                        self.attach(connection, to: slot)
                    }
            }
            return EventLoopFuture.andAllSucceed(opened, on: self.loop)
        }
    }

    /// Starts at `start`; completes with this loop's tally when the run is over.
    func run(start: NIODeadline) -> EventLoopFuture<HTTPLoadTally> {
        loop.execute {
            self.startNanos = Int64(start.uptimeNanoseconds)
            let sweep = TimeAmount.nanoseconds(min(10_000_000, max(1_000_000, self.timeoutNanos / 10)))
            self.sweeper = self.loop.scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in self.sweepTimeouts() }
            self.ticker = self.loop.scheduleTask(deadline: start) { self.begin() }
        }
        return done.futureResult
    }

    /// Closes everything without a result (the run failed to start).
    func abort() {
        loop.execute {
            guard !self.finished else { return }
            self.finished = true
            self.closeAll()
            self.done.fail(HTTPClientError.shutDown)
        }
    }

    private func begin() {
        running = true
        switch mode {
        case .openLoop:
            tick()
        case .closedLoop(let duration, _, _):
            for connection in connections { refill(connection) }
            flushAll()
            deadlines.append(loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(startNanos + duration))) {
                self.finishIfDrained()
                self.armHardDeadline()
            })
        }
    }

    /// Whatever still hangs (a backlog the server cannot work off, connections that cannot be
    /// reopened) ends the run `drain` after the last send was due.
    private func armHardDeadline() {
        let at = now() + (settings.drain?.nanoseconds ?? timeoutNanos + 1_000_000_000)
        deadlines.append(loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(startNanos + at))) { self.finish() })
    }

    private func finishIfDrained() {
        guard running, !finished, inFlight == 0, queue.isEmpty else { return }
        switch mode {
        case .openLoop:
            if arrivalsDone { finish() }
        case .closedLoop(let duration, _, _):
            if now() >= duration { finish() }
        }
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        // Never sent: the run ended first.
        for _ in queue { tally.recorder.recordDropped() }
        let t = now()
        tally.recorder.windowFailed(at: t, count: queue.count)
        queue.removeAll()
        // Still unanswered at the hard deadline: well past their timeout.
        for connection in connections {
            for _ in connection.inFlight { tally.recorder.recordTimeout() }
            tally.recorder.windowFailed(at: t, count: connection.inFlight.count)
            connection.inFlight.removeAll()
        }
        inFlight = 0
        closeAll()
        done.succeed(tally)
    }

    private func closeAll() {
        ticker?.cancel()
        sweeper?.cancel()
        for deadline in deadlines { deadline.cancel() }
        for connection in connections {
            connection.connection?.delegate = nil
            connection.connection?.close()
            connection.connection = nil
            connection.driver = nil
        }
    }

    // MARK: - Pacing (open loop)

    /// Sends everything due, then sleeps until the next arrival — but at least `batchNanos`,
    /// so that at high rates one timer wake-up and one flush per connection serve a batch.
    private func tick() {
        ticker = nil
        guard !finished, case .openLoop(let arrivals) = mode else { return }
        let t = now()
        while true {
            if nextDue == nil {
                nextDue = arrivals()
                if nextDue == nil {
                    arrivalsDone = true
                    break
                }
            }
            guard let due = nextDue, due.intended <= t else { break }
            nextDue = nil
            issue(due)
        }
        flushAll()
        if arrivalsDone {
            armHardDeadline()
            finishIfDrained()
            return
        }
        let wake = max(nextDue!.intended, t + batchNanos)
        ticker = loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(startNanos + wake))) { self.tick() }
    }

    private func issue(_ due: Due) {
        if tally.firstIntended == nil { tally.firstIntended = due.intended }
        if queue.isEmpty, let connection = freeConnection() {
            transmit(due, on: connection)
        } else if queue.count < maxQueued {
            queue.append(due)
        } else {
            tally.recorder.recordDropped()
            tally.recorder.windowFailed(at: now())
        }
    }

    /// Round robin over the connections with a free slot. Only scanned while the queue is
    /// empty, so saturation costs one scan, not one per request.
    private func freeConnection() -> LoadConnection? {
        for _ in 0..<connections.count {
            let connection = connections[cursor]
            cursor = cursor + 1 == connections.count ? 0 : cursor + 1
            if hasRoom(connection) { return connection }
        }
        return nil
    }

    private func hasRoom(_ connection: LoadConnection) -> Bool {
        connection.inFlight.count < settings.maxInFlightPerConnection && connection.connection?.canSend == true
    }

    // MARK: - Sending

    private func transmit(_ due: Due, on connection: LoadConnection) {
        let spec = request(due.index)
        let sent = now()
        guard connection.connection?.send(spec, flush: false) == true else {
            // Not reachable: callers check `hasRoom` first. Counted rather than lost.
            tally.recorder.recordDropped()
            tally.recorder.windowFailed(at: sent)
            return
        }
        let intended = isClosedLoop ? sent : due.intended
        if tally.firstIntended == nil { tally.firstIntended = intended }
        connection.inFlight.append(InFlightRequest(index: due.index, intended: intended, sent: sent))
        inFlight += 1
        tally.sent += 1
        if !connection.needsFlush {
            connection.needsFlush = true
            needFlush.append(connection)
        }
    }

    /// Fills `connection`'s free slots: from the wait queue (open loop), or with new requests
    /// (closed loop, until the duration is over).
    private func refill(_ connection: LoadConnection) {
        guard running, !finished else { return }
        switch mode {
        case .openLoop:
            while !queue.isEmpty, hasRoom(connection) { transmit(queue.removeFirst(), on: connection) }
        case .closedLoop(let duration, _, let stride):
            while hasRoom(connection), now() < duration {
                transmit(Due(index: nextClosedLoopIndex, intended: 0), on: connection)
                nextClosedLoopIndex += stride
            }
        }
    }

    private func flushAll() {
        for connection in needFlush {
            connection.needsFlush = false
            connection.connection?.flush()
        }
        needFlush.removeAll(keepingCapacity: true)
    }

    // MARK: - Connection events

    fileprivate func received(_ reply: HTTPReply, on connection: LoadConnection) {
        guard let request = connection.inFlight.popFirst() else { return }
        inFlight -= 1
        let t = now()
        tally.completed += 1
        tally.lastCompletion = t
        tally.count(status: reply.status)
        // Requests due before `measureFrom` (a warm-up) are counted but not timed.
        let timed = request.intended >= settings.measureFrom
        switch classify(request.index, reply) {
        case .ok:
            tally.ok += 1
            if timed { tally.recorder.record(intended: request.intended, sent: request.sent, completed: t) }
            tally.recorder.windowSucceeded(at: t, latency: t - request.intended)
        case .rejected(let kind):
            tally.outcomes[kind, default: 0] += 1
            tally.recorder.windowFailed(at: t)
            if timed && settings.timeRejections {
                tally.recorder.record(intended: request.intended, sent: request.sent, completed: t)
            }
        case .error(let kind):
            tally.outcomes[kind, default: 0] += 1
            tally.recorder.recordError(kind: kind)
            tally.recorder.windowFailed(at: t)
        }
        refill(connection)
        finishIfDrained()
    }

    fileprivate func readComplete() {
        flushAll()
    }

    fileprivate func closed(_ connection: LoadConnection, error: HTTPClientError) {
        connection.connection = nil
        for _ in connection.inFlight { tally.recorder.recordError(kind: error.kind) }
        tally.recorder.windowFailed(at: now(), count: connection.inFlight.count)
        tally.transportErrors += connection.inFlight.count
        inFlight -= connection.inFlight.count
        connection.inFlight.removeAll()
        reconnect(connection)
        finishIfDrained()
    }

    /// The oldest request on a connection times out first (HTTP/1.1 answers in order); the
    /// connection is closed, since its late answer could not be matched any more, and the
    /// requests pipelined behind it are lost with it.
    private func sweepTimeouts() {
        guard running, !finished else { return }
        let t = now()
        for connection in connections {
            guard let oldest = connection.inFlight.first, t - oldest.sent >= timeoutNanos else { continue }
            tally.recorder.recordTimeout()
            for _ in connection.inFlight.dropFirst() { tally.recorder.recordError(kind: HTTPClientError.connectionClosed.kind) }
            tally.recorder.windowFailed(at: t, count: connection.inFlight.count)
            tally.transportErrors += connection.inFlight.count - 1
            inFlight -= connection.inFlight.count
            connection.inFlight.removeAll()
            connection.connection?.delegate = nil
            connection.connection?.close(reason: .timeout)
            connection.connection = nil
            reconnect(connection)
        }
        finishIfDrained()
    }

    private func attach(_ connection: HTTPConnection, to slot: LoadConnection) {
        slot.connection = connection
        connection.delegate = slot
    }

    private func reconnect(_ slot: LoadConnection) {
        guard !finished else { return }
        HTTPConnection.connect(host: settings.host, port: settings.port, on: loop, connectTimeout: settings.connectTimeout)
            .whenComplete { result in
                switch result {
                case .success(let connection) where !self.finished && connection.canSend:
                    self.attach(connection, to: slot)
                    self.refill(slot)
                    self.flushAll()
                case .success(let connection):
                    connection.close()
                    if !self.finished { self.retryReconnect(slot) }
                case .failure:
                    if !self.finished { self.retryReconnect(slot) }
                }
            }
    }

    /// A server that refuses connections is retried every 20 ms rather than in a busy loop.
    private func retryReconnect(_ slot: LoadConnection) {
        tally.connectFailures += 1
        _ = loop.scheduleTask(in: .milliseconds(20)) { self.reconnect(slot) }
    }
}

struct InFlightRequest {
    var index: Int
    var intended: Int64
    var sent: Int64
}

/// One of a driver's connections (reopened after a close) and its requests in flight, in
/// send order; the connection's delegate. Confined to its driver's event loop.
final class LoadConnection: HTTPConnectionDelegate, @unchecked Sendable {
    /// Cleared when the run ends, breaking the driver ↔ connection cycle.
    var driver: HTTPLoadDriver?
    var connection: HTTPConnection?
    var inFlight = CircularBuffer<InFlightRequest>()
    var needsFlush = false

    func connection(_ connection: HTTPConnection, received reply: HTTPReply) {
        driver?.received(reply, on: self)
    }

    func connectionReadComplete(_ connection: HTTPConnection) {
        driver?.readComplete()
    }

    func connectionClosed(_ connection: HTTPConnection, unanswered: Int, error: HTTPClientError) {
        driver?.closed(self, error: error)
    }
}
