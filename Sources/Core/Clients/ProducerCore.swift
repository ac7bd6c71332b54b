import Checkers
import DequeModule
/// What a transport answered to one publish attempt.
public enum ProducerAnswer<Node: Equatable & Sendable>: Sendable, Equatable {
    case acked(offset: UInt64)
    /// Refused by the server; `kind` names why (for the error table). A not-leader answer may
    /// name the leader it knows (`leaderHint`).
    case refused(kind: String, leaderHint: Node?)
    /// The connection closed (or the server did not answer in time): stored or not, unknown.
    case lost
    /// Idempotence: the broker refused the message because an earlier one of this producer is
    /// missing (`out_of_order_sequence`); `expected` is the sequence it waits for. Not the
    /// message's fault: it is re-sent after the missing one without spending a retry.
    case outOfOrder(expected: UInt64)
}

/// Why a message attempt (or the message) failed, for the driver's error table.
public enum ProducerFailure: Sendable, Equatable {
    case refused(kind: String)
    case lost
    case timedOut
    /// Retries exhausted: the message is given up.
    case gaveUp(retries: Int)
}

public enum ProducerTimer: Sendable, Equatable {
    /// The pause before a re-send round (`ProducerCore.backoff(round:)`).
    case backoff
    /// Nothing was reachable: look the leader up again.
    case reconnect
}

/// What the producer asks its driver to do, or tells it.
public enum ProducerEffect<Node: Equatable & Sendable>: Sendable, Equatable {
    /// Transmit attempt `attempt` of message `sequence` (ledger slot `slot`) to the connected leader.
    case send(attempt: UInt64, slot: Int, sequence: UInt64, intended: Int64)
    /// Connect to the stream's leader: to `hint` if given (a not-leader answer named it), else
    /// look it up. The driver answers `connected(to:now:)` or `connectFailed(now:)`.
    case connect(hint: Node?)
    case startTimer(ProducerTimer, after: Int64)
    /// The first acknowledgement of a message: `sent` is when this attempt went out.
    case acked(slot: Int, sequence: UInt64, intended: Int64, sent: Int64, offset: UInt64)
    case failed(sequence: UInt64, ProducerFailure)
    /// The schedule wanted these messages; the run ended before they were sent.
    case dropped(count: Int)
    /// The schedule is exhausted and every message resolved, or the run was stopped.
    case finished
}

/// One open-loop producer (wrk2's model) as a sans-IO state machine: messages become due at the
/// times of an arrival schedule, whatever happened to earlier ones, and each message's latency
/// runs from when it was *due* (coordinated omission).
///
/// Failures keep the producer's order: after any failure the producer stops sending, lets every
/// outstanding message resolve, reconnects (to the new leader), then re-sends the failed
/// messages in sequence order before anything newer — so a later message can never be stored
/// ahead of an earlier one that is retried. Retries reuse the sequence number: with the
/// broker's idempotence on, a re-send of a stored message is answered with its original offset;
/// with it off the ledger counts the resulting duplicates. Each re-send round since the last ack waits longer (10 ms
/// doubling to 320 ms), so a target that keeps refusing does not burn every retry at once;
/// a not-leader answer that names the leader reconnects there without that wait.
///
/// Drivers: the live `ProducerSession` (NIO) and the simulator's publisher (virtual time).
/// Both call `tick(now:)` every `sweepInterval` to time requests out.
// The simulator drives `ProducerCore<Int>` per message; its entry points are specialised for
// `Int` here (`@_specialize(exported:)`), since cross-module optimisation alone left the private
// helpers generic (perf: generic-metadata lookups in `progress`, 1 % of a broker run).
public struct ProducerCore<Node: Equatable & Sendable>: Sendable {
    public struct Config: Sendable, Equatable {
        public var producer: UInt32
        /// This producer's incarnation (idempotence: see the replication core's `ProducerTable`).
        /// The simulator's producers live once per run, so 1; live drivers use their run's
        /// start time in milliseconds, so a later run fences an earlier one with the same id.
        public var producerEpoch: UInt64
        public var stream: String
        public var maxInFlight: Int
        /// An attempt unanswered for this long fails (the transport's fate for it is unknown).
        public var timeout: Int64
        /// Attempts after the first, per message.
        public var retries: Int

        public init(producer: UInt32, producerEpoch: UInt64 = 1, stream: String, maxInFlight: Int, timeout: Int64, retries: Int) {
            self.producer = producer
            self.producerEpoch = producerEpoch
            self.stream = stream
            self.maxInFlight = max(1, maxInFlight)
            self.timeout = timeout
            self.retries = retries
        }
    }

    public static var sweepInterval: Int64 { 10_000_000 }
    /// Wait before looking the leader up again when nothing was reachable.
    public static var reconnectDelay: Int64 { 50_000_000 }

    /// The pause before re-send round `round` (counted since the last ack): none for the first,
    /// then 10 ms doubling to 320 ms.
    public static func backoff(round: Int) -> Int64 {
        round == 0 ? 0 : Int64(min(320, 10 << min(5, round - 1))) * 1_000_000
    }

    private struct Message: Sendable {
        var slot: Int
        var sequence: UInt64
        var intended: Int64
        var attempts = 0
    }

    private struct InFlight: Sendable {
        var message: Message
        var sent: Int64
        var attempt: UInt64
        var failed = false
    }

    public let config: Config
    public private(set) var ledger = PublishLedger()
    /// The epoch this producer sends with: `config.producerEpoch`, one higher each time the
    /// broker waits for a sequence this producer will never send again (see `progress`).
    public private(set) var producerEpoch: UInt64
    /// The broker waits for this sequence, which is not among the messages still to be sent:
    /// start a new epoch once no message below it is still to be re-sent.
    private var gapAt: UInt64?
    /// The last `expected` of an out-of-order refusal looked at in this round (a burst repeats it).
    private var lastExpected: UInt64?

    // Per-message lookups for a driver that keeps producers in a collection: reading `ledger`
    // from outside the module copied it (every array retained and released) per committed
    // message of a simulated broker run, and so did non-mutating methods (the whole core).
    // `mutating` makes the caller access the core in place; none of them changes anything.

    /// The message in ledger slot `slot`.
    public mutating func message(atSlot slot: Int) -> MessageID {
        MessageID(producer: ledger.producer[slot], sequence: ledger.sequence[slot])
    }

    /// When the schedule meant to send the message in `slot` (ns since the run's start).
    public mutating func intended(atSlot slot: Int) -> Int64 { ledger.intended[slot] }

    /// The ledger slot of one of this producer's messages.
    public mutating func slot(of message: MessageID) -> Int? { ledger.slot(of: message) }
    /// The leader this producer is connected to (as the driver named it), if any.
    public private(set) var leader: Node?
    public private(set) var connected = false

    private var nextSequence: UInt64 = 0
    private var nextAttempt: UInt64 = 0
    /// Sent and not yet answered, in send order. A deque: acks arrive oldest first, and removing
    /// the front of an array moved the rest (1% of a simulated swarm seed in memmove).
    private var window: Deque<InFlight> = []
    private var backlog: [Message] = []
    /// Index of the backlog's first message (removing from the front would move the rest).
    private var backlogHead = 0
    private var recovering = false
    private var reconnecting = false
    private var backingOff = false
    private var failedRounds = 0
    private var hint: Node?
    private var scheduleDone = false
    public private(set) var stopped = false

    public init(_ config: Config) {
        self.config = config
        producerEpoch = config.producerEpoch
        _ = ledger.streamIndex(config.stream)
    }

    /// Messages not resolved yet (in flight or waiting).
    public var outstanding: Int { window.count + backlog.count - backlogHead }
    public var inFlight: Int { window.count }
    public var isFinished: Bool { stopped || (scheduleDone && outstanding == 0 && !recovering) }

    // MARK: - Inputs

    /// The driver connected before the run (no `.connect` asked for).
    public mutating func start(connectedTo node: Node?) {
        connected = true
        leader = node
    }

    /// A message is due (the arrival schedule's time `intended`).
    @_specialize(exported: true, where Node == Int)
    public mutating func messageDue(intended: Int64, now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard !stopped else { return }
        let slot = ledger.message(producer: config.producer, sequence: nextSequence, stream: config.stream, intended: intended)
        let message = Message(slot: slot, sequence: nextSequence, intended: intended)
        nextSequence += 1
        if !connected && !recovering {
            // Never connected (or the connection is gone without a failure): find the leader first.
            recovering = true
            backlog.append(message)
            progress(now: now, &effects)
        } else if recovering || window.count >= config.maxInFlight || backlog.count > backlogHead {
            backlog.append(message)
        } else {
            transmit(message, now: now, &effects)
        }
    }

    /// The arrival schedule has no more messages.
    @_specialize(exported: true, where Node == Int)
    public mutating func scheduleEnded(now: Int64, into effects: inout [ProducerEffect<Node>]) {
        scheduleDone = true
        finishIfDrained(&effects)
    }

    @_specialize(exported: true, where Node == Int)
    public mutating func answered(attempt: UInt64, _ answer: ProducerAnswer<Node>, now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard let index = windowIndex(of: attempt) else {
            // A second answer to an attempt already resolved (the network duplicated it).
            if case .acked = answer { ledger.noteDuplicateAck() }
            return
        }
        guard !window[index].failed else {
            // Answered after it was given up (timed out): the broker did store it. The ledger
            // keeps the ack (the message must not be lost); its re-send goes out all the same.
            if case .acked(let offset) = answer { ledger.acknowledge(window[index].message.slot, offset: offset, at: now) }
            return
        }
        let entry = window[index]
        switch answer {
        case .acked(let offset):
            if ledger.acknowledge(entry.message.slot, offset: offset, at: now) {
                effects.append(.acked(slot: entry.message.slot, sequence: entry.message.sequence, intended: entry.message.intended,
                                      sent: entry.sent, offset: offset))
            }
            window.remove(at: index)
            failedRounds = 0
        case .refused(let kind, let leaderHint):
            effects.append(.failed(sequence: entry.message.sequence, .refused(kind: kind)))
            if let leaderHint, leaderHint != leader { hint = leaderHint }
            window[index].failed = true
            recovering = true
        case .lost:
            effects.append(.failed(sequence: entry.message.sequence, .lost))
            window[index].failed = true
            recovering = true
        case .outOfOrder(let expected):
            effects.append(.failed(sequence: entry.message.sequence, .refused(kind: "out_of_order_sequence")))
            window[index].failed = true
            window[index].message.attempts -= 1  // not its fault: an earlier message is missing
            recovering = true
            if expected != lastExpected {
                lastExpected = expected
                if !isPending(sequence: expected) { gapAt = expected }
            }
        }
        progress(now: now, &effects)
    }

    /// The connection is gone (the process behind it died): every outstanding attempt on it is lost.
    @_specialize(exported: true, where Node == Int)
    public mutating func connectionLost(now: Int64, into effects: inout [ProducerEffect<Node>]) {
        connected = false
        for index in window.indices where !window[index].failed {
            effects.append(.failed(sequence: window[index].message.sequence, .lost))
            window[index].failed = true
            recovering = true
        }
        progress(now: now, &effects)
    }

    /// Times out attempts unanswered for `config.timeout`; drivers call it every `sweepInterval`.
    @_specialize(exported: true, where Node == Int)
    public mutating func tick(now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard !stopped else { return }
        var changed = false
        for index in window.indices where !window[index].failed && now - window[index].sent > config.timeout {
            effects.append(.failed(sequence: window[index].message.sequence, .timedOut))
            window[index].failed = true
            recovering = true
            changed = true
        }
        if changed { progress(now: now, &effects) }
    }

    @_specialize(exported: true, where Node == Int)
    public mutating func connected(to node: Node?, now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard reconnecting else { return }
        reconnecting = false
        connected = true
        leader = node
        let hinted = hint != nil
        hint = nil
        failedRounds += 1
        // Counted per re-send round, not per reconnect poll: waiting for a leader to be elected
        // must not grow the back-off that follows it. A hinted leader is tried at once.
        let backoff = hinted ? 0 : Self.backoff(round: failedRounds - 1)
        if backoff > 0 {
            backingOff = true
            effects.append(.startTimer(.backoff, after: backoff))
        } else {
            recovering = false
            progress(now: now, &effects)
        }
    }

    @_specialize(exported: true, where Node == Int)
    public mutating func connectFailed(now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard reconnecting else { return }
        reconnecting = false
        connected = false
        // The hinted node did not take us: look the leader up next time.
        hint = nil
        effects.append(.startTimer(.reconnect, after: Self.reconnectDelay))
    }

    @_specialize(exported: true, where Node == Int)
    public mutating func timerFired(_ timer: ProducerTimer, now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard !stopped else { return }
        switch timer {
        case .backoff:
            guard backingOff else { return }
            backingOff = false
            recovering = false
            progress(now: now, &effects)
        case .reconnect:
            reconnect(&effects)
        }
    }

    /// The run's end (drain deadline): whatever was never sent is dropped.
    @_specialize(exported: true, where Node == Int)
    public mutating func stop(now: Int64, into effects: inout [ProducerEffect<Node>]) {
        guard !stopped else { return }
        stopped = true
        let waiting = backlog.count - backlogHead
        if waiting > 0 { effects.append(.dropped(count: waiting)) }
        backlog = []
        backlogHead = 0
        effects.append(.finished)
    }

    // MARK: - Internals

    /// Whether `sequence` is still to be sent or re-sent (in flight, failed, or waiting).
    private func isPending(sequence: UInt64) -> Bool {
        window.contains { $0.message.sequence == sequence }
            || backlog[backlogHead...].contains { $0.sequence == sequence }
    }

    /// Attempts are numbered in send order, so the window is sorted by attempt.
    private func windowIndex(of attempt: UInt64) -> Int? {
        var low = 0, high = window.count
        while low < high {
            let mid = (low + high) / 2
            if window[mid].attempt < attempt { low = mid + 1 } else { high = mid }
        }
        return low < window.count && window[low].attempt == attempt ? low : nil
    }

    private mutating func transmit(_ message: Message, now: Int64, _ effects: inout [ProducerEffect<Node>]) {
        var message = message
        message.attempts += 1
        ledger.attempt(message.slot)
        let attempt = nextAttempt
        nextAttempt += 1
        window.append(InFlight(message: message, sent: now, attempt: attempt))
        effects.append(.send(attempt: attempt, slot: message.slot, sequence: message.sequence, intended: message.intended))
    }

    /// Moves on: after a failure, once nothing is outstanding, reconnect and re-send in order.
    private mutating func progress(now: Int64, _ effects: inout [ProducerEffect<Node>]) {
        if recovering {
            guard !stopped, !reconnecting, !backingOff, window.allSatisfy(\.failed) else { return }
            var retry: [Message] = []
            for entry in window {
                if entry.message.attempts > config.retries {
                    ledger.giveUp(entry.message.slot)
                    effects.append(.failed(sequence: entry.message.sequence, .gaveUp(retries: config.retries)))
                } else {
                    retry.append(entry.message)
                }
            }
            // A gap this producer cannot fill: a message given up that the broker never stored,
            // or an acknowledged one the broker lost (unclean election, a lazy fsync and a power
            // loss). An idempotent broker refuses every later sequence as out of order, forever;
            // its refusal names the missing one. Once every message below it has been re-sent
            // (those are stored: the broker stores a producer's sequences in order), a new epoch
            // starts the producer afresh (Kafka's KIP-360 epoch bump). Nothing re-sent in it was
            // stored before in the old epoch past the gap, so it adds no duplicate.
            if let gap = gapAt, retry.allSatisfy({ $0.sequence > gap }) {
                producerEpoch &+= 1
                gapAt = nil
            }
            lastExpected = nil  // what is pending changes with each round
            window.removeAll(keepingCapacity: true)
            if !retry.isEmpty {
                backlog.replaceSubrange(0..<backlogHead, with: retry)
                backlogHead = 0
            }
            reconnect(&effects)
            return
        }
        while backlog.count > backlogHead, window.count < config.maxInFlight {
            let message = backlog[backlogHead]
            backlogHead += 1
            transmit(message, now: now, &effects)
        }
        if backlogHead == backlog.count {
            backlog.removeAll(keepingCapacity: true)
            backlogHead = 0
        } else if backlogHead > 4096 && backlogHead * 2 > backlog.count {
            backlog.removeFirst(backlogHead)
            backlogHead = 0
        }
        finishIfDrained(&effects)
    }

    private mutating func reconnect(_ effects: inout [ProducerEffect<Node>]) {
        guard !reconnecting, !stopped else { return }
        reconnecting = true
        connected = false
        leader = nil
        effects.append(.connect(hint: hint))
    }

    private mutating func finishIfDrained(_ effects: inout [ProducerEffect<Node>]) {
        guard scheduleDone, !stopped, outstanding == 0, !recovering else { return }
        stopped = true
        effects.append(.finished)
    }
}
