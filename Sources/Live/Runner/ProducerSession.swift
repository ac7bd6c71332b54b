import Stats
import Clients
import Replication
import LoadCore
import NIOCore

/// How a publish ended at the transport.
public enum TransportOutcome: Sendable, Equatable {
    case acked(offset: UInt64)
    /// Refused by the server; `kind` names why (for the error table), `leaderHint` the node a
    /// not-leader answer named as the leader.
    case refused(kind: String, leaderHint: String? = nil)
    /// The connection closed (or the server did not answer in time): stored or not, unknown.
    case lost
}

/// The first 8 bytes of every live message carry its intended send time (ns since the run's
/// start, little-endian), so consumers can measure end-to-end latency from the open-loop
/// schedule, as the simulator's `end_to_end_latency` does. Messages shorter than 8 bytes carry none.
enum MessageStamp {
    static func stamp(_ payload: [UInt8], intended: Int64) -> [UInt8] {
        guard payload.count >= 8 else { return payload }
        var stamped = payload
        withUnsafeBytes(of: intended.littleEndian) { for i in 0..<8 { stamped[i] = $0[i] } }
        return stamped
    }

    static func intended(_ payload: [UInt8]) -> Int64? {
        guard payload.count >= 8 else { return nil }
        var value: Int64 = 0
        withUnsafeMutableBytes(of: &value) { for i in 0..<8 { $0[i] = payload[i] } }
        return Int64(littleEndian: value)
    }
}

/// One producer's connection to a target (the Faultline broker, or NATS JetStream). Confined to
/// `eventLoop`: every call and every completion happens there.
public protocol PublishTransport: AnyObject, Sendable {
    var eventLoop: EventLoop { get }
    /// The node this transport is connected to, if it knows (a broker name).
    var connectedNode: String? { get }
    /// Sends a message of the producer's epoch `producerEpoch` (idempotence); `completion`
    /// runs once, on the event loop.
    func publish(sequence: UInt64, producerEpoch: UInt64, payload: [UInt8], completion: @escaping (TransportOutcome) -> Void)
    /// Connects to `hint` if given, else finds where to publish now (the stream's current
    /// leader) and connects there. Fails when nothing is reachable yet; the session tries again.
    func reconnect(hint: String?) -> EventLoopFuture<Void>
    func close()
}

extension PublishTransport {
    public var connectedNode: String? { nil }
    public func reconnect() -> EventLoopFuture<Void> { reconnect(hint: nil) }
}

/// The live driver of `ProducerCore` (module Clients), which holds every decision — window,
/// leader belief, failure rounds, in-order re-send, back-off, ledger. This class only turns the
/// core's effects into NIO I/O and timers, and transport completions into the core's inputs:
/// the simulator drives the same core, so a simulated run predicts what this client does.
public final class ProducerSession: @unchecked Sendable {
    public let producer: UInt32
    public let stream: String
    let transport: PublishTransport
    let eventLoop: EventLoop
    /// Time zero of the run, on the monotonic clock.
    let runStart: NIODeadline
    /// Messages due before this (ns since the run's start) are sent and checked but not timed.
    let measureFrom: Int64

    public private(set) var recorder = OpenLoopRecorder()
    public var ledger: PublishLedger { core.ledger }
    /// (sent, completed) of every ack, ns since the run's start: failover measurement.
    public private(set) var ackTimes: [(sent: Int64, completed: Int64)] = []
    /// The last few seconds of acks and failures, for a hypothesis's probes (nil: none asked).
    private var recent: RecentOutcomes?

    private var core: ProducerCore<String>
    private var effects: [ProducerEffect<String>] = []
    private var draining = false
    private var schedule: ArrivalSchedule
    private var peeked: Int64?
    private var payload: [UInt8]
    private var timer: Scheduled<Void>?
    private var sweeper: RepeatedTask?
    private var finished: EventLoopPromise<Void>
    private var done = false

    /// `producerEpoch`: see `ProducerCore.Config.producerEpoch` (live: the run's start in ms).
    public init(producer: UInt32, producerEpoch: UInt64, stream: String, transport: PublishTransport, schedule: ArrivalSchedule, payloadSize: Int,
                maxInFlight: Int, timeoutNanos: Int64, retries: Int, runStart: NIODeadline, measureFrom: Int64 = 0,
                recentWindow: Int64? = nil, timeSeriesWindow: Int64 = TimeSeriesRecorder.defaultWindowNanos) {
        self.measureFrom = measureFrom
        recorder = OpenLoopRecorder(windowNanos: timeSeriesWindow)
        recent = recentWindow.map { RecentOutcomes(keep: $0) }
        self.producer = producer
        self.stream = stream
        self.transport = transport
        eventLoop = transport.eventLoop
        self.schedule = schedule
        self.runStart = runStart
        core = ProducerCore(.init(producer: producer, producerEpoch: producerEpoch, stream: stream, maxInFlight: maxInFlight,
                                  timeout: timeoutNanos, retries: retries))
        payload = Array(repeating: 0x2a, count: payloadSize)
        finished = transport.eventLoop.makePromise()
    }

    /// What this connection saw in `[from, to)` (ns since the run's start); empty without a recent window.
    func window(from: Int64, to: Int64) -> EventLoopFuture<LoadWindow> {
        eventLoop.submit { [self] in recent?.window(from: from, to: to) ?? LoadWindow(seconds: Double(to - from) / 1e9) }
    }

    func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// Connects before time zero.
    public func connect() -> EventLoopFuture<Void> {
        transport.reconnect(hint: nil).hop(to: eventLoop).map { [self] in core.start(connectedTo: transport.connectedNode) }
    }

    /// Starts sending; the future completes when the schedule is exhausted and every message
    /// resolved, or at `drainDeadline` (ns since the run's start), whichever comes first.
    public func run(drainDeadline: Int64) -> EventLoopFuture<Void> {
        eventLoop.execute { [self] in
            let sweep = TimeAmount.nanoseconds(ProducerCore<String>.sweepInterval)
            sweeper = eventLoop.scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { [self] _ in
                let t = now()
                drive { $0.tick(now: t, into: &$1) }
                if t >= drainDeadline { drive { $0.stop(now: t, into: &$1) } }
            }
            armTimer()
        }
        return finished.futureResult
    }

    // MARK: - Inputs

    /// Feeds one input to the core, then carries out its effects (and those of any input a
    /// synchronous completion feeds meanwhile) in order.
    private func drive(_ input: (inout ProducerCore<String>, inout [ProducerEffect<String>]) -> Void) {
        input(&core, &effects)
        guard !draining else { return }
        draining = true
        var i = 0
        while i < effects.count {
            let effect = effects[i]
            i += 1
            carryOut(effect)
        }
        effects.removeAll(keepingCapacity: true)
        draining = false
    }

    private func armTimer() {
        guard !done else { return }
        let t = now()
        while let due = peekDue(), due <= t {
            peeked = nil
            drive { $0.messageDue(intended: due, now: t, into: &$1) }
        }
        guard let next = peekDue() else {
            drive { $0.scheduleEnded(now: t, into: &$1) }
            return
        }
        timer = eventLoop.scheduleTask(deadline: runStart + .nanoseconds(next)) { [self] in armTimer() }
    }

    private func peekDue() -> Int64? {
        // ArrivalSchedule is an iterator; keep one look-ahead.
        if peeked == nil { peeked = schedule.next() }
        return peeked
    }

    /// The live adapter: what a transport outcome means to the core.
    static func answer(_ outcome: TransportOutcome) -> ProducerAnswer<String> {
        switch outcome {
        case .acked(let offset): .acked(offset: offset)
        case .refused(let kind, let hint):
            if let expected = PublishRejection.expectedSequence(in: kind) { .outOfOrder(expected: expected) } else { .refused(kind: kind, leaderHint: hint) }
        case .lost: .lost
        }
    }

    // MARK: - Effects

    private func carryOut(_ effect: ProducerEffect<String>) {
        switch effect {
        case .send(let attempt, _, let sequence, let intended):
            transport.publish(sequence: sequence, producerEpoch: core.producerEpoch, payload: MessageStamp.stamp(payload, intended: intended)) { [self] outcome in
                let t = now()
                drive { $0.answered(attempt: attempt, Self.answer(outcome), now: t, into: &$1) }
            }
        case .connect(let hint):
            transport.reconnect(hint: hint).hop(to: eventLoop).whenComplete { [self] result in
                let t = now()
                switch result {
                case .success: drive { $0.connected(to: transport.connectedNode, now: t, into: &$1) }
                case .failure: drive { $0.connectFailed(now: t, into: &$1) }
                }
            }
        case .startTimer(let kind, let after):
            _ = eventLoop.scheduleTask(in: .nanoseconds(after)) { [self] in
                let t = now()
                drive { $0.timerFired(kind, now: t, into: &$1) }
            }
        case .acked(let slot, _, let intended, let sent, _):
            let completed = core.ledger.ackedAt[slot]
            if intended >= measureFrom { recorder.record(intended: intended, sent: sent, completed: completed) }
            recorder.windowSucceeded(at: completed, latency: completed - intended)
            ackTimes.append((sent, completed))
            recent?.acked(at: completed, latency: completed - intended)
        case .failed(_, let failure):
            recent?.failed(at: now())
            recorder.windowFailed(at: now())
            switch failure {
            case .refused(let kind): recorder.recordError(kind: kind)
            case .lost: recorder.recordError(kind: "connection lost")
            case .timedOut: recorder.recordTimeout()
            case .gaveUp(let retries): recorder.recordError(kind: "gave up after \(retries) retries")
            }
        case .dropped(let count):
            // Never sent: the schedule wanted them, the run ended first.
            for _ in 0..<count { recorder.recordDropped() }
            recorder.windowFailed(at: now(), count: count)
        case .finished:
            finish()
        }
    }

    private func finish() {
        guard !done else { return }
        done = true
        timer?.cancel()
        sweeper?.cancel()
        transport.close()
        finished.succeed(())
    }
}
