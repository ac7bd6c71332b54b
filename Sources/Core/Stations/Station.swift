/// A service station: `c` identical servers in front of one FIFO queue with an optional
/// limit (the M/M/c/K of queueing theory when arrivals are Poisson and service is
/// exponential). It is sans-IO: the driver tells it what happened (an arrival, a server
/// finishing) at the time it happened, and it answers with what to do next (start a
/// service, reject). It never draws service times itself; the driver samples them from
/// the run's generator, so the same station runs under the simulator and in tests.
public struct Station: Sendable {
    public struct Config: Sendable, Equatable {
        public var servers: Int
        /// Requests allowed to wait (not counting those in service); `nil` = unbounded.
        public var queueLimit: Int?

        public init(servers: Int, queueLimit: Int? = nil) {
            precondition(servers >= 1, "a station needs at least one server")
            self.servers = servers
            self.queueLimit = queueLimit
        }
    }

    public typealias RequestID = UInt64

    /// What the driver must do after an input.
    public enum Decision: Sendable, Equatable {
        /// Serve `request` on `server`: sample a service time and report `finish(server:)` then.
        case serve(request: RequestID, server: Int)
        /// Queued; nothing to do until a server frees up.
        case queued
        /// The queue is full: answer the client with a rejection (HTTP 503 in live mode).
        case reject(request: RequestID)
    }

    public let config: Config
    public private(set) var counters = Counters()

    /// Which request each server is working on.
    private var serving: [RequestID?]
    /// Free servers as a stack: the lowest-numbered free server is reused first.
    private var idleServers: [Int]
    private var waiting = FIFO<RequestID>()
    private var lastChange: VirtualNanos = 0

    public typealias VirtualNanos = Int64

    public struct Counters: Sendable, Equatable {
        public var arrived: UInt64 = 0
        public var completed: UInt64 = 0
        public var rejected: UInt64 = 0
        /// Lost with the process (crash): queued or in service at that moment.
        public var dropped: UInt64 = 0
        /// ∫ busy servers dt, in server-nanoseconds: utilisation = busyTime / (c · elapsed).
        public var busyTime: Double = 0
        /// ∫ requests in system dt: mean number in system by Little's law check.
        public var occupancyTime: Double = 0
    }

    public init(_ config: Config) {
        self.config = config
        serving = Array(repeating: nil, count: config.servers)
        idleServers = Array((0..<config.servers).reversed())
    }

    public var busyServers: Int { config.servers - idleServers.count }
    public var queueLength: Int { waiting.count }
    public var inSystem: Int { busyServers + waiting.count }

    public mutating func arrive(_ request: RequestID, at now: VirtualNanos) -> Decision {
        advanceClock(to: now)
        counters.arrived += 1
        if let server = idleServers.popLast() {
            serving[server] = request
            return .serve(request: request, server: server)
        }
        if let limit = config.queueLimit, waiting.count >= limit {
            counters.rejected += 1
            return .reject(request: request)
        }
        waiting.append(request)
        return .queued
    }

    /// `server` finished its request. Returns the finished request and, if someone was
    /// waiting, the next one this server starts on (the driver samples its service time).
    public mutating func finish(server: Int, at now: VirtualNanos) -> (done: RequestID, next: RequestID?) {
        advanceClock(to: now)
        guard let done = serving[server] else {
            preconditionFailure("server \(server) finished while idle: the driver lost track of a service")
        }
        counters.completed += 1
        if let next = waiting.popFirst() {
            serving[server] = next
            return (done, next)
        }
        serving[server] = nil
        idleServers.append(server)
        return (done, nil)
    }

    /// The process hosting the station crashed: everything queued or in service is gone.
    /// Returns the lost requests (queued first, then in service by server number).
    @discardableResult
    public mutating func crash(at now: VirtualNanos) -> [RequestID] {
        advanceClock(to: now)
        var lost: [RequestID] = []
        while let request = waiting.popFirst() { lost.append(request) }
        for server in 0..<serving.count {
            if let request = serving[server] { lost.append(request) }
            serving[server] = nil
        }
        idleServers = Array((0..<config.servers).reversed())
        counters.dropped += UInt64(lost.count)
        return lost
    }

    /// Closes the utilisation integrals at the end of the run.
    public mutating func close(at now: VirtualNanos) { advanceClock(to: now) }

    private mutating func advanceClock(to now: VirtualNanos) {
        let elapsed = Double(now - lastChange)
        if elapsed > 0 {
            counters.busyTime += elapsed * Double(busyServers)
            counters.occupancyTime += elapsed * Double(inSystem)
        }
        lastChange = max(lastChange, now)
    }
}

/// An array-backed FIFO that reuses its storage (the queue of a busy station churns a lot).
struct FIFO<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }
}
