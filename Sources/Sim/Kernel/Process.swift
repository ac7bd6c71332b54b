/// A simulated process: lifecycle (running / paused / crashed), incarnation, local clock and
/// disk. The protocol state machine itself lives in the driver; this is only what the
/// *machine* contributes, so that a crash can take exactly what a real crash takes.

public enum ProcessState: String, Sendable {
    case running, paused, crashed
}

/// The clock a process reads: virtual time plus an offset plus drift.
///
/// Protocols read it for timestamps and leases; the driver schedules their timers in virtual
/// time (converting local durations with `virtualDuration(forLocal:)` when drift matters),
/// so a skewed clock changes what a process *believes*, not when the simulator runs it.
public struct SimClock: Sendable, Equatable {
    /// Nanoseconds added to virtual time (includes drift folded in by `setDrift`).
    public var offset: Int64
    /// Parts per million fast (+) or slow (−), accumulated from `driftSince`.
    /// Setting it directly makes the clock jump; `setDrift` keeps it continuous.
    public var driftPPM: Double
    /// Virtual time from which `driftPPM` accumulates.
    public var driftSince: VirtualTime

    public init() {
        offset = 0
        driftPPM = 0
        driftSince = 0
    }

    /// What the process reads as its clock at virtual time `virtual`.
    @inlinable
    public func now(_ virtual: VirtualTime) -> Int64 {
        virtual &+ offset &+ drift(at: virtual)
    }

    /// Drift accumulated between `driftSince` and `virtual`, in ns (rounded).
    @inlinable
    public func drift(at virtual: VirtualTime) -> Int64 {
        guard driftPPM != 0 else { return 0 }
        return Int64((Double(virtual &- driftSince) * driftPPM / 1_000_000).rounded())
    }

    /// Changes the drift rate from `virtual` on, folding the drift so far into `offset` so
    /// that `now` is continuous at `virtual`.
    public mutating func setDrift(ppm: Double, at virtual: VirtualTime) {
        offset &+= drift(at: virtual)
        driftSince = virtual
        driftPPM = ppm
    }

    /// A step (NTP slew gone wrong, VM migration, operator error). Negative goes backwards.
    public mutating func jump(by delta: Int64) {
        offset &+= delta
    }

    /// Sets the offset outright; drift keeps accumulating from `driftSince` on top of it.
    public mutating func setOffset(_ offset: Int64) {
        self.offset = offset
    }

    /// How much virtual time passes while this clock advances by `local` ns at the current
    /// drift rate: a fast clock (+ppm) fires a local timeout early in virtual time.
    public func virtualDuration(forLocal local: Int64) -> Int64 {
        guard driftPPM != 0 else { return local }
        let rate = 1 + driftPPM / 1_000_000
        guard rate > 0 else { return Int64.max / 2 }
        let value = (Double(local) / rate).rounded()
        return value >= 4.6e18 ? Int64.max / 2 : Int64(value)
    }
}

/// Pause semantics (implemented by the driver): a paused process (SIGSTOP, a long GC, a
/// frozen VM) neither runs timers nor reads messages; both are *held* and delivered at
/// `resume` in the order they would have been delivered, and the process's clock keeps
/// running meanwhile — so on resume it sees many timeouts at once, as a real one does.
/// Messages and timers for a *crashed* process are dropped instead, and those addressed to
/// an older incarnation are stale.
public struct SimProcess: Sendable {
    public let id: NodeID
    public let name: String
    public let zone: String
    public private(set) var state: ProcessState
    /// Bumped on restart: timers and messages addressed to an older incarnation are stale.
    public private(set) var incarnation: UInt32
    public var clock: SimClock
    public var disk: SimDisk

    public init(id: NodeID, name: String, zone: String, disk: SimDisk) {
        self.id = id
        self.name = name
        self.zone = zone
        self.disk = disk
        state = .running
        incarnation = 0
        clock = SimClock()
    }

    public var isRunning: Bool { state == .running }

    /// Running or paused → crashed; the disk loses what wasn't durable. Returns `false` (and
    /// does nothing) if already crashed. The clock survives: it belongs to the machine.
    @discardableResult
    public mutating func crash() -> Bool {
        guard state != .crashed else { return false }
        state = .crashed
        disk.crash()
        return true
    }

    /// Crashed → running with a new incarnation; the protocol rebuilds its state from disk
    /// only. Returns `false` (and does nothing) unless crashed.
    @discardableResult
    public mutating func restart() -> Bool {
        guard state == .crashed else { return false }
        state = .running
        incarnation &+= 1
        return true
    }

    /// Running → paused; `false` otherwise.
    @discardableResult
    public mutating func pause() -> Bool {
        guard state == .running else { return false }
        state = .paused
        return true
    }

    /// Paused → running; `false` otherwise. The driver then drains the held inbox.
    @discardableResult
    public mutating func resume() -> Bool {
        guard state == .paused else { return false }
        state = .running
        return true
    }
}

/// What a paused process was sent or had fire, held for delivery at resume in FIFO order.
public struct PausedInbox<Message> {
    var held: [Message] = []

    public init() {}

    public var count: Int { held.count }
    public var isEmpty: Bool { held.isEmpty }

    public mutating func append(_ message: Message) {
        held.append(message)
    }

    /// Everything held, oldest first; the inbox is empty afterwards. Swapping hands over the
    /// buffer without copying it.
    public mutating func drain() -> [Message] {
        var messages: [Message] = []
        swap(&messages, &held)
        return messages
    }

    /// Drops everything held: the process crashed while paused.
    public mutating func discardAll() {
        held.removeAll(keepingCapacity: true)
    }
}

extension PausedInbox: Sendable where Message: Sendable {}
