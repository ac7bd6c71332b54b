import NIOCore

/// An HTTP/1.1 load generator over a fixed set of keep-alive connections.
///
/// **Open loop** (`run`, wrk2's model, like the broker's `ProducerSession`): each request is
/// sent at its intended time whatever happened to earlier ones, and its latency is recorded
/// from that time (`OpenLoopRecorder`), so a stalled server shows up in the latency instead of
/// slowing the load down and hiding its own stall (coordinated omission). A request due while
/// every connection has `maxInFlightPerConnection` requests out waits in a queue (at most
/// `maxQueued`, else it is recorded as dropped) and goes out as soon as a slot frees — its
/// latency still counted from its intended time.
///
/// **Closed loop** (`runClosedLoop`, wrk's model): every connection keeps
/// `maxInFlightPerConnection` requests out back to back for a duration. Its rate is the most
/// the driver and server manage together — the ceiling for open-loop rates worth asking for.
///
/// Connections are spread over the group's event loops (connection `c` on loop `c mod L`),
/// each loop pacing its own share with a timer that sends everything due in one batch and one
/// flush per connection, so rates of 50k req/s and more are within reach of one core
/// (measured: 50k req/s open loop, ~78k req/s closed loop, on one client thread).
/// With `maxInFlightPerConnection > 1` requests are pipelined (HTTP/1.1 answers in order).
public struct OpenLoopHTTPLoad: Sendable {
    public var host: String
    public var port: Int
    public var connections: Int
    public var maxInFlightPerConnection: Int
    /// From the actual send; the connection is closed on timeout (its late answer could not
    /// be matched) and reopened.
    public var timeout: TimeAmount
    /// Due requests waiting for a free slot, at most (split evenly over the event loops).
    public var maxQueued: Int
    public var connectTimeout: TimeAmount = .seconds(1)
    /// How long after the last intended send (closed loop: after the duration) the run waits
    /// for queued and in-flight requests; what is left then counts as dropped (queued) or
    /// timed out (in flight). `nil`: `timeout` plus one second.
    public var drain: TimeAmount?
    /// The shortest time between two send batches on one event loop; a send lags its intended
    /// time by up to this much, and the lag is part of the corrected latency. Measured against
    /// the test server (release, 8 connections, 20k req/s): corrected p50 146 µs at 50 µs,
    /// 270 µs at 250 µs, 974 µs at 1 ms; 50k req/s is reached with each.
    public var batchInterval: TimeAmount = .microseconds(50)
    /// A send later than this after its intended time counts as late (ns).
    public var lateThreshold: Int64 = 1_000_000
    /// Answers to requests intended before this (ns since `start`; a warm-up) are counted but
    /// not timed.
    public var measureFrom: Int64 = .min
    /// Whether `.rejected` answers are timed like `.ok` ones (wrk's view: an answer is an
    /// answer). Off when the latency must describe successful requests only, as the
    /// simulator's `request_latency` does.
    public var timeRejections = true
    /// The width of the windows of the run's time series (throughput, error rate, latency).
    public var timeSeriesWindow: Int64 = 1_000_000_000

    public init(host: String, port: Int, connections: Int, maxInFlightPerConnection: Int = 1,
                timeout: TimeAmount = .seconds(5), maxQueued: Int = 100_000) {
        precondition(connections > 0 && maxInFlightPerConnection > 0, "need at least one connection and one request in flight")
        self.host = host
        self.port = port
        self.connections = connections
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.timeout = timeout
        self.maxQueued = maxQueued
    }

    /// Sends request `i` at `start + intended[i]` (ns; non-decreasing, e.g. an
    /// `ArrivalSchedule`) and returns when every request is answered, timed out or dropped.
    ///
    /// Connections are opened first (throws `HTTPClientError.connectFailed` if any cannot be);
    /// pick `start` far enough ahead for that, or the first sends are late (and counted so).
    /// `intended` is iterated once per event loop, so it must be multi-pass (arrays,
    /// `ArrivalSchedule` and other value-type sequences are). `request` and `classify` run on
    /// the sending event loops, concurrently across loops.
    public func run<Times: Sequence & Sendable>(
        intended: Times, start: NIODeadline, group: any EventLoopGroup,
        request: @escaping @Sendable (Int) -> HTTPRequestSpec,
        classify: @escaping @Sendable (HTTPReply) -> HTTPOutcome = HTTPOutcome.byStatus
    ) async throws -> HTTPLoadResult where Times.Element == Int64 {
        try await run(intended: intended, start: start, group: group, request: request, classifyRequest: { _, reply in classify(reply) })
    }

    /// As `run(intended:start:group:request:classify:)`, with a classifier that also gets the
    /// request's index (when the right answer depends on what was sent, e.g. a forged token).
    public func run<Times: Sequence & Sendable>(
        intended: Times, start: NIODeadline, group: any EventLoopGroup,
        request: @escaping @Sendable (Int) -> HTTPRequestSpec,
        classifyRequest classify: @escaping @Sendable (Int, HTTPReply) -> HTTPOutcome
    ) async throws -> HTTPLoadResult where Times.Element == Int64 {
        let loops = Self.loops(of: group, connections: connections)
        let total = connections
        let drivers = loops.indices.map { d in
            var times = intended.makeIterator()
            var index = 0
            let count = loops.count
            // Request i goes to connection slot i mod C, which lives on loop (i mod C) mod L:
            // each loop gets a share proportional to its connections.
            let arrivals: () -> HTTPLoadDriver.Due? = {
                while let t = times.next() {
                    let i = index
                    index += 1
                    if (i % total) % count == d { return HTTPLoadDriver.Due(index: i, intended: t) }
                }
                return nil
            }
            return HTTPLoadDriver(loop: loops[d], connections: Self.share(total, of: d, over: count), settings: self,
                                  mode: .openLoop(arrivals: arrivals), maxQueued: max(1, maxQueued / count),
                                  request: request, classify: classify)
        }
        return try await execute(drivers, start: start)
    }

    /// Keeps every connection at `maxInFlightPerConnection` requests for `duration` from
    /// `start` (default: as soon as the connections are open) and returns what was achieved;
    /// `achievedRate` is the driver's and server's maximum request rate together.
    public func runClosedLoop(
        duration: TimeAmount, start: NIODeadline? = nil, group: any EventLoopGroup,
        request: @escaping @Sendable (Int) -> HTTPRequestSpec,
        classify: @escaping @Sendable (HTTPReply) -> HTTPOutcome = HTTPOutcome.byStatus
    ) async throws -> HTTPLoadResult {
        let loops = Self.loops(of: group, connections: connections)
        let drivers = loops.indices.map { d in
            HTTPLoadDriver(loop: loops[d], connections: Self.share(connections, of: d, over: loops.count), settings: self,
                           mode: .closedLoop(duration: duration.nanoseconds, first: d, stride: loops.count),
                           maxQueued: 0, request: request, classify: { _, reply in classify(reply) })
        }
        return try await execute(drivers, start: start)
    }

    private func execute(_ drivers: [HTTPLoadDriver], start: NIODeadline?) async throws -> HTTPLoadResult {
        do {
            for driver in drivers { try await driver.connectAll().get() }
        } catch {
            for driver in drivers { driver.abort() }
            throw error
        }
        let begin = start ?? NIODeadline.now() + .milliseconds(10)
        let runs = drivers.map { $0.run(start: begin) }
        var tallies: [HTTPLoadTally] = []
        for run in runs { tallies.append(try await run.get()) }
        return HTTPLoadResult(merging: tallies)
    }

    /// At most one loop per connection.
    private static func loops(of group: any EventLoopGroup, connections: Int) -> [any EventLoop] {
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() {
            loops.append(loop)
            if loops.count == connections { break }
        }
        return loops.isEmpty ? [group.next()] : loops
    }

    /// Connections `c` with `c mod count == d`.
    private static func share(_ total: Int, of d: Int, over count: Int) -> Int {
        total / count + (d < total % count ? 1 : 0)
    }
}
