import Checkers

/// How a publish attempt ended, as the producer saw it.
public enum AttemptOutcome: Sendable, Equatable {
    /// No answer: still in flight when the run ended, or the connection was lost. The message
    /// may or may not be in the log.
    case unknown
    /// Acknowledged at `offset`, the acknowledgement received at `at` (ns since the run's start).
    case acked(offset: UInt64, at: Int64)
    /// The broker refused it (e.g. not the leader, not enough in-sync replicas).
    case failed
    case timedOut
}

/// One entry of a stream as read back from the brokers after the run.
public struct ReadBackEntry: Sendable, Equatable {
    public var offset: UInt64
    public var producerID: UInt32
    public var sequence: UInt64

    public init(offset: UInt64, producerID: UInt32, sequence: UInt64) {
        self.offset = offset
        self.producerID = producerID
        self.sequence = sequence
    }

    public var message: MessageID { MessageID(producer: producerID, sequence: sequence) }
}

/// What the read-back says about the publishes.
public struct LedgerVerdict: Sendable, Equatable {
    /// `no_acknowledged_loss`: every acknowledged message is in its stream's read-back.
    public var noAcknowledgedLoss: CheckReport
    /// `producer_order`: a message sent after another of its producer was acknowledged comes
    /// after it in the log (`ProducerOrderChecker`, the simulator's check).
    public var producerOrder: CheckReport
    /// Acknowledged messages missing from the read-back.
    public var lost: Int
    /// Extra copies: entries whose message is already earlier in the same stream.
    public var duplicates: Int
    /// Messages in the read-back whose every attempt failed, timed out or went unanswered
    /// (allowed: a broker may append a message and lose the ack), counted once each.
    public var unackedButPresent: Int
    /// Messages in the read-back that no attempt of this ledger published to that stream.
    public var unrecordedPresent: Int

    public var checks: [CheckReport] { [noAcknowledgedLoss, producerOrder] }
}

/// Every message a producer published, its attempts and its first acknowledgement: what the
/// simulator's checkers and the live read-back need, for both drivers. Struct of arrays, one
/// slot per message (the simulator appends one per publish, so no per-message allocation);
/// a retry is another attempt of the same slot, a second ack of a message is counted, not kept.
public struct PublishLedger: Sendable, Equatable {
    public private(set) var streamNames: [String] = []
    public private(set) var producer: [UInt32] = []
    public private(set) var sequence: [UInt64] = []
    public private(set) var stream: [Int32] = []
    /// When the open-loop schedule meant to send it (ns since the run's start): latency runs from here.
    public private(set) var intended: [Int64] = []
    /// The first acknowledgement's time, or `Int64.min`.
    public private(set) var ackedAt: [Int64] = []
    public private(set) var ackedOffset: [UInt64] = []
    public private(set) var attempts: [UInt32] = []
    /// The producer gave up on it (retries exhausted).
    public private(set) var gaveUp: [Bool] = []
    /// The message slot of each attempt (attempt index → slot).
    private var attemptSlot: [Int32] = []
    public private(set) var ackedCount = 0
    public private(set) var duplicateAcks = 0

    /// Slot lookup: producers publish sequences 0, 1, 2, … so a slot is found by (producer, sequence)
    /// through dense per-producer arrays; anything else falls back to a dictionary.
    private var producers: [UInt32] = []
    private var dense: [[Int32]] = []
    private var sparse: [Key: Int32] = [:]

    private struct Key: Hashable {
        var stream: Int32
        var message: MessageID
    }

    public init() {}

    public var messageCount: Int { producer.count }
    public var attemptCount: Int { attemptSlot.count }
    public var failedCount: Int { gaveUp.reduce(0) { $0 + ($1 ? 1 : 0) } }
    /// Attempts beyond each message's first.
    public var retries: Int { attemptCount - messageCount }

    public func isAcked(_ slot: Int) -> Bool { ackedAt[slot] != .min }

    public mutating func streamIndex(_ name: String) -> Int32 {
        if let i = streamNames.firstIndex(of: name) { return Int32(i) }
        streamNames.append(name)
        return Int32(streamNames.count - 1)
    }

    /// The slot of a message published to `stream`, if recorded.
    public func slot(producer p: UInt32, sequence s: UInt64, stream: Int32) -> Int? {
        if let i = producers.firstIndex(of: p), s < UInt64(dense[i].count) {
            let slot = Int(dense[i][Int(s)])
            if self.stream[slot] == stream { return slot }
        }
        return sparse[Key(stream: stream, message: MessageID(producer: p, sequence: s))].map(Int.init)
    }

    /// The slot of a message of any stream (producers that publish to one stream).
    public func slot(of message: MessageID) -> Int? {
        guard let i = producers.firstIndex(of: message.producer), message.sequence < UInt64(dense[i].count) else {
            return sparse.filter { $0.key.message == message }.map { Int($0.value) }.min()
        }
        return Int(dense[i][Int(message.sequence)])
    }

    /// Records a message (or finds it, if already recorded for `stream`); returns its slot.
    public mutating func message(producer p: UInt32, sequence s: UInt64, stream name: String, intended at: Int64) -> Int {
        let streamIndex = self.streamIndex(name)
        if let slot = slot(producer: p, sequence: s, stream: streamIndex) {
            intended[slot] = min(intended[slot], at)
            return slot
        }
        let slot = producer.count
        producer.append(p)
        sequence.append(s)
        stream.append(streamIndex)
        intended.append(at)
        ackedAt.append(.min)
        ackedOffset.append(0)
        attempts.append(0)
        gaveUp.append(false)
        var i = producers.firstIndex(of: p) ?? -1
        if i < 0 {
            producers.append(p)
            dense.append([])
            i = producers.count - 1
        }
        if s == UInt64(dense[i].count) {
            dense[i].append(Int32(slot))
        } else {
            sparse[Key(stream: streamIndex, message: MessageID(producer: p, sequence: s))] = Int32(slot)
        }
        return slot
    }

    /// Counts an attempt of a recorded message; returns the attempt's index.
    @discardableResult
    public mutating func attempt(_ slot: Int) -> Int {
        attempts[slot] += 1
        attemptSlot.append(Int32(slot))
        return attemptSlot.count - 1
    }

    /// Records a message if new and counts an attempt of it; returns the attempt's index.
    @discardableResult
    public mutating func attempted(producer p: UInt32, sequence s: UInt64, stream name: String, intended at: Int64) -> Int {
        attempt(message(producer: p, sequence: s, stream: name, intended: at))
    }

    /// An acknowledgement of `slot`; false (and counted as a duplicate) if it was acked before.
    @discardableResult
    public mutating func acknowledge(_ slot: Int, offset: UInt64, at: Int64) -> Bool {
        guard ackedAt[slot] == .min else {
            duplicateAcks += 1
            return false
        }
        ackedAt[slot] = at
        ackedOffset[slot] = offset
        ackedCount += 1
        return true
    }

    /// An acknowledgement of an attempt already answered (a duplicated packet): counted only.
    public mutating func noteDuplicateAck() { duplicateAcks += 1 }

    public mutating func giveUp(_ slot: Int) { gaveUp[slot] = true }

    /// How attempt `attempt` ended; only acknowledgements change what the checks see.
    public mutating func resolve(_ attempt: Int, _ outcome: AttemptOutcome) {
        if case .acked(let offset, let at) = outcome { acknowledge(Int(attemptSlot[attempt]), offset: offset, at: at) }
    }

    public mutating func merge(_ other: PublishLedger) {
        var slots: [Int] = []
        slots.reserveCapacity(other.messageCount)
        for i in 0..<other.messageCount {
            let slot = message(producer: other.producer[i], sequence: other.sequence[i],
                               stream: other.streamNames[Int(other.stream[i])], intended: other.intended[i])
            slots.append(slot)
            if other.ackedAt[i] != .min {
                if ackedAt[slot] == .min || other.ackedAt[i] < ackedAt[slot] {
                    if ackedAt[slot] == .min { ackedCount += 1 }
                    ackedAt[slot] = other.ackedAt[i]
                    ackedOffset[slot] = other.ackedOffset[i]
                }
            }
            attempts[slot] += other.attempts[i]
            if other.gaveUp[i] { gaveUp[slot] = true }
        }
        attemptSlot += other.attemptSlot.map { Int32(slots[Int($0)]) }
        duplicateAcks += other.duplicateAcks
    }

    public static func merged(_ ledgers: [PublishLedger]) -> PublishLedger {
        var result = PublishLedger()
        for ledger in ledgers { result.merge(ledger) }
        return result
    }

    /// Holds the messages against `readBack` (stream name → its entries in offset order). A
    /// stream with acknowledged messages but absent from `readBack` could not be read: all its
    /// acknowledged messages count as lost. `end` (default: the latest time in the ledger) dates
    /// violations found only at the end.
    public func verify(readBack: [String: [ReadBackEntry]], at end: Int64? = nil) -> LedgerVerdict {
        let ackedSlots = (0..<messageCount).filter { ackedAt[$0] != .min }
        let end = end ?? max(intended.max() ?? 0, ackedSlots.map { ackedAt[$0] }.max() ?? 0)
        // Sorted: stream indices and the order of violations must not depend on hashing.
        let streams = Set(streamNames.indices.filter { i in stream.contains(Int32(i)) }.map { streamNames[$0] })
            .union(readBack.keys).sorted()
        let index = Dictionary(uniqueKeysWithValues: streams.enumerated().map { ($0.element, $0.offset) })
        let committed: [[ObservedEntry]?] = streams.map { name in
            readBack[name].map { $0.map { ObservedEntry(offset: $0.offset, leaderEpoch: 0, message: $0.message) } }
        }
        var loss = AcknowledgedLossChecker(streams: streams.count)
        let byAck = ackedSlots.sorted {
            (ackedAt[$0], MessageID(producer: producer[$0], sequence: sequence[$0]))
                < (ackedAt[$1], MessageID(producer: producer[$1], sequence: sequence[$1]))
        }
        for slot in byAck {
            loss.acknowledged(stream: index[streamNames[Int(stream[slot])]]!, message: MessageID(producer: producer[slot], sequence: sequence[slot]),
                              offset: ackedOffset[slot], at: ackedAt[slot])
        }
        let (lossReport, lost) = loss.verify(streamNames: streams, committed: committed, at: end)

        // One stream at a time, so that a producer's sequences in two streams never mix.
        var orderViolations: [CheckViolation] = []
        var duplicates = 0, unacked = 0, unrecorded = 0
        for (i, name) in streams.enumerated() {
            guard let log = committed[i] else { continue }
            let s = streamNames.firstIndex(of: name).map(Int32.init) ?? -1
            let report = ProducerOrderChecker.verify(
                streamNames: [name], committed: [log], at: end,
                sentAt: { m in slot(producer: m.producer, sequence: m.sequence, stream: s).map { intended[$0] } },
                ackedAt: { m in slot(producer: m.producer, sequence: m.sequence, stream: s).flatMap { isAcked($0) ? ackedAt[$0] : nil } })
            orderViolations += report.violations
            let present = Set(log.map(\.message))
            duplicates += log.count - present.count
            for message in present {
                guard let slot = slot(producer: message.producer, sequence: message.sequence, stream: s) else {
                    unrecorded += 1
                    continue
                }
                if !isAcked(slot) { unacked += 1 }
            }
        }
        return LedgerVerdict(
            noAcknowledgedLoss: lossReport,
            producerOrder: CheckReport(name: ProducerOrderChecker.name, violations: orderViolations),
            lost: lost, duplicates: duplicates, unackedButPresent: unacked, unrecordedPresent: unrecorded)
    }
}
