import Sampling

/// The network model: per-link latency, loss, duplication and bandwidth, plus the
/// network faults a fault schedule drives (partitions, one-way blocks, extra delay, extra
/// loss and duplication).
///
/// `transmit` only *decides* a message's fate and arrival times; the driver schedules the
/// arrivals: the simulator on its event queue, the live fault proxy (whose default link is
/// perfect: the real network supplies the base latency) as timers on its event loop, per peer
/// frame. Reordering is never modelled explicitly: it emerges from
/// independent latency draws, as it does on a real network with multiple paths.
///
/// Storage grows with the nodes and the faults, not with the square of the nodes: one default
/// link plus per-link overrides and faults keyed by link (looked up, never iterated, so no
/// decision depends on hash order), and partitions kept as per-node group masks. A call graph
/// of thousands of service replicas is one process each; a dense `n × n` matrix of links was
/// 2 GB at 4,700 processes (measured). The hot path (`transmit`) does not allocate.

/// Dense `0..<nodeCount`; the driver maps node names to ids.
public typealias NodeID = Int

public struct LinkConfig: Sendable, Equatable {
    /// One-way latency in nanoseconds.
    public var latency: Distribution
    /// Probability a message is dropped in transit.
    public var loss: Double
    /// Probability a message is delivered twice; the copy draws its own latency.
    public var duplicate: Double
    /// `nil` = infinite. Otherwise messages on a link serialise:
    /// `departure = max(now, linkBusyUntil) + bytes / bandwidth`.
    public var bandwidthBytesPerSecond: Double?

    public init(
        latency: Distribution = .constant(0), loss: Double = 0, duplicate: Double = 0,
        bandwidthBytesPerSecond: Double? = nil
    ) {
        self.latency = latency
        self.loss = loss
        self.duplicate = duplicate
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }
}

public enum DropReason: String, Sendable {
    case partitioned, lost
    /// Sent on a reset link before the sender's new connection was up.
    case reset
}

/// The fate of one sent message: up to two arrival times without allocating (a duplicate
/// adds `second`), or a drop reason. `first` is the original, `second` the copy; the copy
/// may arrive earlier than the original.
public struct Transmission: Sendable, Equatable {
    public var first: VirtualTime?
    public var second: VirtualTime?
    public var dropReason: DropReason?

    public init(first: VirtualTime? = nil, second: VirtualTime? = nil, dropReason: DropReason? = nil) {
        self.first = first
        self.second = second
        self.dropReason = dropReason
    }

    public static func dropped(_ reason: DropReason) -> Transmission {
        Transmission(dropReason: reason)
    }

    public var isDropped: Bool { first == nil }
    /// Number of arrivals the driver must schedule (0, 1 or 2).
    public var arrivalCount: Int { (first == nil ? 0 : 1) + (second == nil ? 0 : 1) }
}

public struct NetworkStats: Sendable, Equatable {
    /// Calls to `transmit`, local ones included.
    public var sent: UInt64 = 0
    /// Arrivals handed to the driver to schedule (a duplicated message counts twice).
    public var deliveriesScheduled: UInt64 = 0
    /// Dropped by (configured or fault) loss.
    public var lost: UInt64 = 0
    /// Refused at send time because the link was partitioned or blocked.
    public var partitioned: UInt64 = 0
    /// Messages that got a second copy.
    public var duplicated: UInt64 = 0
    /// Dropped at arrival because a partition started while they were in flight
    /// (counted by `admitArrival`, if the driver uses it).
    public var droppedInFlight: UInt64 = 0
    /// Dropped at arrival because their link was reset while they were in flight.
    public var droppedByReset: UInt64 = 0

    public init() {}
}

/// Fault state of one directed link. Kept apart from `LinkConfig` so that clearing faults
/// restores the configured link exactly.
struct LinkFault: Sendable, Equatable {
    /// Stacked extra latencies, each drawn independently per message copy.
    var extraDelays: [Distribution] = []
    var loss: Double = 0
    var duplicate: Double = 0
    /// A bandwidth limit in force (bytes per second); the tighter of it and the link's own applies.
    var bandwidth: Double?

    static let none = LinkFault()
}

public struct NetworkModel: Sendable {
    public let nodeCount: Int
    let defaultLink: LinkConfig
    /// The default link's latency when it is a constant (it draws nothing, so `transmit`
    /// need not go through `Distribution.sample` twice per message: 1.5% of a fan-out run).
    let defaultConstantLatency: Int64?
    /// Links configured differently from `defaultLink`, by `slot(from, to)`.
    var linkOverrides: [Int: LinkConfig] = [:]
    /// Links with a fault in force, by slot; absent = no fault.
    var faults: [Int: LinkFault] = [:]
    /// Partitions and one-way blocks in force, unioned (several may overlap, as schedules do).
    var blocks: [Block] = []
    /// When each bandwidth-limited link has finished serialising the last message it accepted.
    var busyUntil: [Int: VirtualTime] = [:]
    /// When each link was last reset: messages sent on it before then are lost on arrival.
    var resetAt: [Int: VirtualTime] = [:]
    /// Links reset and not yet reconnected: until when their sender's new connection is not up
    /// (nil: the sender has not noticed yet — its next message finds the connection broken).
    var reconnecting: [Int: VirtualTime?] = [:]
    var rng: SeededGenerator
    public private(set) var stats = NetworkStats()

    /// One partition or one-way block.
    enum Block: Sendable {
        /// Bit i of `groups[node]` set = the node is in group i; nodes in different groups
        /// cannot talk (a node in no group talks to everyone).
        case groups([UInt64])
        /// Messages from a node with `from[node]` to one with `to[node]` are dropped.
        case oneWay(from: [Bool], to: [Bool])

        func blocks(_ a: NodeID, _ b: NodeID) -> Bool {
            switch self {
            case .groups(let masks):
                let ma = masks[a], mb = masks[b]
                // Some group of a differs from some group of b.
                return ma != 0 && mb != 0 && !(ma == mb && ma.nonzeroBitCount == 1)
            case .oneWay(let from, let to):
                return from[a] && to[b]
            }
        }
    }

    public init(nodeCount: Int, defaultLink: LinkConfig, rng: SeededGenerator) {
        precondition(nodeCount > 0, "a network needs at least one node")
        self.nodeCount = nodeCount
        self.defaultLink = defaultLink
        self.rng = rng
        if case .constant = defaultLink.latency {
            var unused = rng
            defaultConstantLatency = defaultLink.latency.sampleNanos(&unused)  // draws nothing
        } else {
            defaultConstantLatency = nil
        }
    }

    @inline(__always)
    func slot(_ from: NodeID, _ to: NodeID) -> Int {
        precondition(from >= 0 && from < nodeCount && to >= 0 && to < nodeCount, "node id out of range")
        return from * nodeCount + to
    }

    // MARK: Configuration

    public mutating func setLink(from: NodeID, to: NodeID, _ config: LinkConfig) {
        let s = slot(from, to)
        linkOverrides[s] = config == defaultLink ? nil : config
    }

    /// Both directions at once (e.g. cross-zone latency).
    public mutating func setLink(between a: NodeID, and b: NodeID, _ config: LinkConfig) {
        setLink(from: a, to: b, config)
        setLink(from: b, to: a, config)
    }

    public func link(from: NodeID, to: NodeID) -> LinkConfig {
        linkOverrides[slot(from, to)] ?? defaultLink
    }

    // MARK: Faults

    /// Symmetric partition: nodes in different listed groups can't talk; nodes in no group
    /// keep talking to everyone. Adds to partitions already in force (heal removes all).
    /// At most 64 groups.
    public mutating func partition(groups: [[NodeID]]) {
        precondition(groups.count <= 64, "a partition has at most 64 groups")
        var masks = [UInt64](repeating: 0, count: nodeCount)
        for (i, group) in groups.enumerated() {
            for node in group { masks[node] |= 1 << UInt64(i) }
        }
        blocks.append(.groups(masks))
    }

    /// One-way partition: messages from any of `from` to any of `to` are dropped; the
    /// reverse direction keeps working (the asymmetric faults that confuse failure detectors).
    public mutating func block(from: [NodeID], to: [NodeID]) {
        var senders = [Bool](repeating: false, count: nodeCount)
        var receivers = [Bool](repeating: false, count: nodeCount)
        for a in from { senders[a] = true }
        for b in to { receivers[b] = true }
        blocks.append(.oneWay(from: senders, to: receivers))
    }

    /// Removes all partitions and blocks (link faults such as delay stay; see `clearAllLinkFaults`).
    public mutating func healPartitions() {
        blocks.removeAll()
    }

    /// Extra latency on top of the link's own; stacks with earlier delays until cleared.
    public mutating func addDelay(from: NodeID, to: NodeID, extra: Distribution) {
        faults[slot(from, to), default: .none].extraDelays.append(extra)
    }

    /// Fault loss combines with the link's configured loss as independent causes:
    /// `P(drop) = 1 − (1 − link.loss)(1 − fault)`.
    public mutating func setFaultLoss(from: NodeID, to: NodeID, probability: Double) {
        faults[slot(from, to), default: .none].loss = probability
    }

    /// Combines with the link's configured duplication like `setFaultLoss`.
    public mutating func setFaultDuplicate(from: NodeID, to: NodeID, probability: Double) {
        faults[slot(from, to), default: .none].duplicate = probability
    }

    /// Messages on the link serialise at this many bytes per second while the fault holds (the
    /// link's own limit still applies when it is tighter).
    public mutating func setFaultBandwidth(from: NodeID, to: NodeID, bytesPerSecond: Double) {
        faults[slot(from, to), default: .none].bandwidth = bytesPerSecond
    }

    public mutating func clearLinkFaults(from: NodeID, to: NodeID) {
        faults[slot(from, to)] = nil
    }

    public mutating func clearAllLinkFaults() {
        faults.removeAll()
    }

    /// Local messages are always reachable. The driver also asks this at delivery time:
    /// messages in flight when a partition starts are dropped at arrival.
    public func isReachable(from: NodeID, to: NodeID) -> Bool {
        if from == to || blocks.isEmpty { return true }
        _ = slot(from, to)  // range check
        for block in blocks where block.blocks(from, to) { return false }
        return true
    }

    /// `isReachable` for an arriving message, counting the drop in `stats.droppedInFlight`; with
    /// `sentAt`, a message sent before its link was last reset is dropped too (`droppedByReset`).
    public mutating func admitArrival(from: NodeID, to: NodeID, sentAt: VirtualTime? = nil) -> Bool {
        if let sentAt, !resetAt.isEmpty, let reset = resetAt[slot(from, to)], sentAt < reset {
            stats.droppedByReset += 1
            return false
        }
        // The usual case decided here: calling `isReachable` copied the whole model (208 bytes).
        if blocks.isEmpty || from == to || isReachable(from: from, to: to) { return true }
        stats.droppedInFlight += 1
        return false
    }

    /// The link's connections are reset at `now`: what is in flight on it is lost (a driver
    /// passes each arriving message's send time to `admitArrival`), and the sender redials as a
    /// live peer link does: its next message finds the connection broken and is dropped, and so
    /// is every message until the new connection is up — one round trip of the link later.
    /// `redial: false` when the sender's real connection does the redialling (the live proxy).
    public mutating func reset(from: NodeID, to: NodeID, at now: VirtualTime, redial: Bool = true) {
        let s = slot(from, to)
        resetAt[s] = now
        if redial { reconnecting[s] = .some(nil) }
    }

    /// Whether a message sent now is lost to a reset link's redial (and counted so).
    @inline(__always)
    mutating func lostToRedial(_ s: Int, now: VirtualTime, _ override: LinkConfig?, _ fault: LinkFault?) -> Bool {
        guard let state = reconnecting[s] else { return false }
        if let upAt = state {
            if now >= upAt {
                reconnecting[s] = nil
                return false
            }
        } else {
            // The first message after the reset: it finds the connection broken and triggers the
            // redial, which takes a round trip (the SYN and its answer).
            let roundTrip = saturatingAdd(drawLatency(override, fault), drawLatency(override, fault))
            reconnecting[s] = .some(saturatingAdd(now, roundTrip))
        }
        stats.droppedByReset += 1
        return true
    }

    // MARK: Sending

    /// Decides the fate of one message sent at `now`.
    ///
    /// Draw budget per remote call, independent of outcome so that a loss or a duplicate
    /// doesn't shift the numbers later messages see: one unit for loss, one for
    /// duplication, then two latency samples (original and copy), each followed by one
    /// sample per stacked delay fault. Local and partitioned sends draw nothing.
    /// Partitioned messages never leave the sender, so they don't occupy the link; lost
    /// messages do (they are dropped in transit, after serialisation).
    public mutating func transmit(from: NodeID, to: NodeID, bytes: Int, now: VirtualTime) -> Transmission {
        stats.sent += 1
        if from == to {
            // Loopback: no wire, no latency, never dropped.
            stats.deliveriesScheduled += 1
            return Transmission(first: now)
        }
        let s = slot(from, to)
        if !blocks.isEmpty && !isReachable(from: from, to: to) {
            stats.partitioned += 1
            return .dropped(.partitioned)
        }
        if linkOverrides.isEmpty && faults.isEmpty && defaultLink.bandwidthBytesPerSecond == nil && reconnecting.isEmpty {
            return transmitOnDefaultLink(now: now)
        }
        // The common case (no override, no fault) reads the default link in place; copying
        // the structs would retain and release their distributions per message.
        let override = linkOverrides.isEmpty ? nil : linkOverrides[s]
        let fault = faults.isEmpty ? nil : faults[s]
        if !reconnecting.isEmpty && lostToRedial(s, now: now, override, fault) { return .dropped(.reset) }

        let lossDraw = rng.nextUnit()
        let duplicateDraw = rng.nextUnit()
        let linkLoss = override?.loss ?? defaultLink.loss
        let lossProbability = 1 - (1 - linkLoss) * (1 - (fault?.loss ?? 0))
        let lost = lossDraw < lossProbability
        let linkDuplicate = override?.duplicate ?? defaultLink.duplicate
        let duplicateProbability = 1 - (1 - linkDuplicate) * (1 - (fault?.duplicate ?? 0))
        let duplicated = !lost && duplicateDraw < duplicateProbability
        // Both latencies are drawn for every message, so that the stream stays aligned whatever
        // happens to it; one that will not be used is skipped (the generator advanced), not computed.
        let firstLatency = lost ? skipLatency(override, fault) : drawLatency(override, fault)
        let secondLatency = duplicated ? drawLatency(override, fault) : skipLatency(override, fault)

        var departure = now
        var linkBandwidth = override == nil ? defaultLink.bandwidthBytesPerSecond : override!.bandwidthBytesPerSecond
        if let limit = fault?.bandwidth { linkBandwidth = min(linkBandwidth ?? limit, limit) }
        if let bandwidth = linkBandwidth, bandwidth > 0 {
            let serialisation = Double(max(0, bytes)) * Double(Nanos.second) / bandwidth
            departure = saturatingAdd(max(now, busyUntil[s] ?? 0), clampNanos(serialisation.rounded(.up)))
            busyUntil[s] = departure
        }

        if lost {
            stats.lost += 1
            return .dropped(.lost)
        }
        var result = Transmission(first: saturatingAdd(departure, firstLatency))
        if duplicated {
            result.second = saturatingAdd(departure, secondLatency)
            stats.duplicated += 1
            stats.deliveriesScheduled += 2
        } else {
            stats.deliveriesScheduled += 1
        }
        return result
    }

    /// `transmit` when no link is overridden, none is faulty and bandwidth is unlimited (the
    /// common case): the same draws in the same order, without the per-link lookups
    /// (measured: 8% of the station model's run time).
    @inline(__always)
    mutating func transmitOnDefaultLink(now: VirtualTime) -> Transmission {
        let lossDraw = rng.nextUnit()
        let duplicateDraw = rng.nextUnit()
        // The general formula with no fault, 1 − (1 − p)·1, rounds exactly like `transmit`'s.
        let lost = lossDraw < 1 - (1 - defaultLink.loss)
        let duplicated = !lost && duplicateDraw < 1 - (1 - defaultLink.duplicate)
        let first: Int64, second: Int64
        if let constant = defaultConstantLatency {
            (first, second) = (constant, constant)
        } else {
            first = lost ? skipLatency(nil, nil) : defaultLink.latency.sampleNanos(&rng)
            second = duplicated ? defaultLink.latency.sampleNanos(&rng) : skipLatency(nil, nil)
        }
        if lost {
            stats.lost += 1
            return .dropped(.lost)
        }
        var result = Transmission(first: saturatingAdd(now, first))
        if duplicated {
            result.second = saturatingAdd(now, second)
            stats.duplicated += 1
            stats.deliveriesScheduled += 2
        } else {
            stats.deliveriesScheduled += 1
        }
        return result
    }

    /// Base latency plus every stacked delay fault, each drawn independently.
    @inline(__always)
    mutating func drawLatency(_ override: LinkConfig?, _ fault: LinkFault?) -> Int64 {
        var total: Int64
        if let override {
            total = override.latency.sampleNanos(&rng)
        } else {
            total = defaultLink.latency.sampleNanos(&rng)
        }
        if let fault {
            for extra in fault.extraDelays { total = saturatingAdd(total, extra.sampleNanos(&rng)) }
        }
        return total
    }

    /// Advances the generator as `drawLatency` would, for a latency that will not be used.
    /// Returns 0 (the value is never read) so both branches of a choice have one type.
    @inline(__always)
    mutating func skipLatency(_ override: LinkConfig?, _ fault: LinkFault?) -> Int64 {
        if let override {
            override.latency.skip(&rng)
        } else {
            defaultLink.latency.skip(&rng)
        }
        if let fault {
            for extra in fault.extraDelays { extra.skip(&rng) }
        }
        return 0
    }
}

/// Time arithmetic that pins at a far-future sentinel instead of trapping: an absurd
/// distribution parameter should give an absurdly late event, not a crashed run.
@inline(__always)
fileprivate func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int64.max / 2 : min(sum, Int64.max / 2)
}

@inline(__always)
fileprivate func clampNanos(_ value: Double) -> Int64 {
    guard value > 0 else { return 0 }
    return value >= 4.6e18 ? Int64.max / 2 : Int64(value)
}
