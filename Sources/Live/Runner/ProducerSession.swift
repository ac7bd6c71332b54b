import LoadCore
import NIOCore

/// How a publish ended at the transport.
public enum TransportOutcome: Sendable, Equatable {
    case acked(offset: UInt64)
    /// Refused by the server; `kind` names why (for the error table).
    case refused(kind: String)
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
    /// Sends a message; `completion` runs once, on the event loop.
    func publish(sequence: UInt64, payload: [UInt8], completion: @escaping (TransportOutcome) -> Void)
    /// Finds where to publish now (the stream's current leader) and connects there. Fails when
    /// nothing is reachable yet; the session tries again.
    func reconnect() -> EventLoopFuture<Void>
    func close()
}

/// An open-loop producer (wrk2's model): messages are due at the times of an arrival schedule,
/// whatever happened to earlier ones, and each message's latency runs from when it was *due*.
/// A stalled connection therefore shows up in the corrected latency instead of hiding behind a
/// slower send rate (coordinated omission).
///
/// Failures keep the producer's order: after any failure the session stops sending, lets every
/// outstanding message resolve, reconnects (to the new leader), then re-sends the failed
/// messages in sequence order before anything newer — so a later message can never be
/// stored ahead of an earlier one that is retried. Retries reuse the sequence number; the
/// ledger counts resulting duplicates.
public final class ProducerSession: @unchecked Sendable {
    public let producer: UInt32
    public let stream: String
    let transport: PublishTransport
    let eventLoop: EventLoop
    let payloadSize: Int
    let maxInFlight: Int
    let timeoutNanos: Int64
    let retries: Int
    /// Time zero of the run, on the monotonic clock.
    let runStart: NIODeadline
    /// Messages due before this (ns since the run's start) are sent and checked but not timed.
    let measureFrom: Int64

    public private(set) var recorder = OpenLoopRecorder()
    public private(set) var ledger = PublishLedger()
    /// (sent, completed) of every ack, ns since the run's start: failover measurement.
    public private(set) var ackTimes: [(sent: Int64, completed: Int64)] = []

    private struct Message {
        var sequence: UInt64
        var intended: Int64
        var attempts = 0
    }

    private struct InFlight {
        var message: Message
        var sent: Int64
        var attempt: Int
        var failed = false
    }

    private var schedule: ArrivalSchedule
    private var nextSequence: UInt64 = 0
    private var window: [InFlight] = []
    private var backlog: [Message] = []
    private var recovering = false
    private var scheduleDone = false
    private var stopped = false
    private var payload: [UInt8]
    private var timer: Scheduled<Void>?
    private var sweeper: RepeatedTask?
    private var finished: EventLoopPromise<Void>

    public init(producer: UInt32, stream: String, transport: PublishTransport, schedule: ArrivalSchedule, payloadSize: Int,
                maxInFlight: Int, timeoutNanos: Int64, retries: Int, runStart: NIODeadline, measureFrom: Int64 = 0) {
        self.measureFrom = measureFrom
        self.producer = producer
        self.stream = stream
        self.transport = transport
        eventLoop = transport.eventLoop
        self.schedule = schedule
        self.payloadSize = payloadSize
        self.maxInFlight = maxInFlight
        self.timeoutNanos = timeoutNanos
        self.retries = retries
        self.runStart = runStart
        payload = Array(repeating: 0x2a, count: payloadSize)
        finished = transport.eventLoop.makePromise()
    }

    func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// Starts sending; the future completes when the schedule is exhausted and every message
    /// resolved, or at `drainDeadline` (ns since the run's start), whichever comes first.
    public func run(drainDeadline: Int64) -> EventLoopFuture<Void> {
        eventLoop.execute { [self] in
            sweeper = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [self] _ in
                sweepTimeouts()
                if now() >= drainDeadline { finish() }
            }
            armTimer()
        }
        return finished.futureResult
    }

    // MARK: - Schedule

    private func armTimer() {
        guard !stopped else { return }
        let t = now()
        while let due = peekDue(), due <= t {
            consumePeek()
            enqueue(Message(sequence: nextSequence, intended: due))
            nextSequence += 1
        }
        guard let next = peekDue() else {
            scheduleDone = true
            finishIfDrained()
            return
        }
        timer = eventLoop.scheduleTask(deadline: runStart + .nanoseconds(next)) { [self] in armTimer() }
    }

    private var peeked: Int64?
    private func peekDue() -> Int64? {
        // ArrivalSchedule is an iterator; keep one look-ahead.
        if peeked == nil { peeked = schedule.next() }
        return peeked
    }

    private func consumePeek() { peeked = nil }

    private func enqueue(_ message: Message) {
        if recovering || window.count >= maxInFlight || !backlog.isEmpty {
            backlog.append(message)
        } else {
            transmit(message)
        }
    }

    // MARK: - Sending

    private func transmit(_ message: Message) {
        var message = message
        message.attempts += 1
        let sent = now()
        let attempt = ledger.attempted(producer: producer, sequence: message.sequence, stream: stream, intended: message.intended)
        window.append(InFlight(message: message, sent: sent, attempt: attempt))
        transport.publish(sequence: message.sequence, payload: MessageStamp.stamp(payload, intended: message.intended)) { [self] outcome in
            resolved(attempt: attempt, outcome)
        }
    }

    private func resolved(attempt: Int, _ outcome: TransportOutcome) {
        guard let index = window.firstIndex(where: { $0.attempt == attempt }), !window[index].failed else { return }
        let entry = window[index]
        let t = now()
        switch outcome {
        case .acked(let offset):
            ledger.resolve(attempt, .acked(offset: offset, at: t))
            if entry.message.intended >= measureFrom {
                recorder.record(intended: entry.message.intended, sent: entry.sent, completed: t)
            }
            ackTimes.append((entry.sent, t))
            window.remove(at: index)
            failedRounds = 0
        case .refused(let kind):
            ledger.resolve(attempt, .failed)
            recorder.recordError(kind: kind)
            window[index].failed = true
            recovering = true
        case .lost:
            ledger.resolve(attempt, .unknown)
            recorder.recordError(kind: "connection lost")
            window[index].failed = true
            recovering = true
        }
        progress()
    }

    private func sweepTimeouts() {
        let t = now()
        for index in window.indices where !window[index].failed && t - window[index].sent > timeoutNanos {
            ledger.resolve(window[index].attempt, .timedOut)
            recorder.recordTimeout()
            window[index].failed = true
            recovering = true
        }
        progress()
    }

    /// Moves on: after a failure, once nothing is outstanding, reconnect and re-send in order.
    private func progress() {
        if recovering {
            guard !stopped, window.allSatisfy(\.failed) else { return }
            let failed = window.map(\.message)
            window = []
            var retry: [Message] = []
            for message in failed {
                if message.attempts > retries {
                    recorder.recordError(kind: "gave up after \(retries) retries")
                } else {
                    retry.append(message)
                }
            }
            backlog = retry + backlog
            reconnect()
            return
        }
        while !backlog.isEmpty, window.count < maxInFlight, !recovering {
            transmit(backlog.removeFirst())
        }
        finishIfDrained()
    }

    private var reconnecting = false
    /// Recoveries since the last ack: each waits longer (10 ms doubling to 320 ms) before it
    /// re-sends, so a target that keeps refusing (no leader yet) does not burn every retry at once.
    private var failedRounds = 0

    private func reconnect() {
        guard !reconnecting, !stopped else { return }
        reconnecting = true
        // Counted per re-send round, not per reconnect poll: waiting for a leader to be
        // elected must not grow the back-off that follows it.
        let backoff = failedRounds == 0 ? 0 : min(320, 10 << min(5, failedRounds - 1))
        transport.reconnect().whenComplete { [self] result in
            reconnecting = false
            switch result {
            case .success:
                failedRounds += 1
                guard backoff > 0 else {
                    recovering = false
                    progress()
                    return
                }
                _ = eventLoop.scheduleTask(in: .milliseconds(Int64(backoff))) { [self] in
                    recovering = false
                    progress()
                }
            case .failure:
                // Nothing reachable yet (no leader elected): try again shortly.
                _ = eventLoop.scheduleTask(in: .milliseconds(50)) { [self] in reconnect() }
            }
        }
    }

    private func finishIfDrained() {
        if scheduleDone && window.isEmpty && backlog.isEmpty && !recovering { finish() }
    }

    private func finish() {
        guard !stopped else { return }
        stopped = true
        timer?.cancel()
        sweeper?.cancel()
        // Never sent: the schedule wanted them, the run ended first.
        for _ in backlog { recorder.recordDropped() }
        backlog = []
        transport.close()
        finished.succeed(())
    }
}
