import Checkers
import SimCore

/// How a publish attempt ended, as the load driver saw it.
public enum PublishOutcome: Sendable, Equatable {
    /// No answer: still in flight when the run ended, or the connection was lost. The message
    /// may or may not be in the log.
    case unknown
    /// Acknowledged at `offset`, the acknowledgement received at `at` (ns since the run's start).
    case acked(offset: UInt64, at: Int64)
    /// The broker refused it (e.g. not the leader, not enough in-sync replicas).
    case failed
    case timedOut
}

/// One publish attempt. A retry of a message is another attempt with the same producer and
/// sequence.
public struct PublishAttempt: Sendable, Equatable {
    public var producer: UInt32
    public var sequence: UInt64
    public var stream: String
    /// When the open-loop schedule meant to send it (ns since the run's start).
    public var intended: Int64
    public var outcome: PublishOutcome

    public var message: MessageID { MessageID(producer: producer, sequence: sequence) }
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

/// Every publish attempt of a live run and how it ended; after the run, `verify(readBack:)`
/// holds them against what the brokers' logs contain. The checks are the simulator's
/// (`AcknowledgedLossChecker`, `ProducerOrderChecker`), so a live run is judged by the same
/// rules as a simulated one. One ledger per connection, merged at the end, or one shared.
public struct PublishLedger: Sendable, Equatable {
    public private(set) var attempts: [PublishAttempt] = []

    public init() {}

    /// Records an attempt (outcome `unknown` until `resolve`); returns its index in this ledger.
    @discardableResult
    public mutating func attempted(producer: UInt32, sequence: UInt64, stream: String, intended: Int64) -> Int {
        attempts.append(PublishAttempt(producer: producer, sequence: sequence, stream: stream, intended: intended,
                                       outcome: .unknown))
        return attempts.count - 1
    }

    public mutating func resolve(_ attempt: Int, _ outcome: PublishOutcome) {
        attempts[attempt].outcome = outcome
    }

    public mutating func merge(_ other: PublishLedger) { attempts += other.attempts }

    public static func merged(_ ledgers: [PublishLedger]) -> PublishLedger {
        var result = PublishLedger()
        for ledger in ledgers { result.merge(ledger) }
        return result
    }

    /// Messages (per stream) with at least one acknowledged attempt.
    public var ackedCount: Int { ackTimes().count }

    private struct Key: Hashable {
        var stream: String
        var message: MessageID
    }

    /// The earliest acknowledgement of each message (per stream), with its offset.
    private func ackTimes() -> [Key: (offset: UInt64, at: Int64)] {
        var first: [Key: (offset: UInt64, at: Int64)] = [:]
        for attempt in attempts {
            guard case .acked(let offset, let at) = attempt.outcome else { continue }
            let key = Key(stream: attempt.stream, message: attempt.message)
            if let seen = first[key], seen.at <= at { continue }
            first[key] = (offset, at)
        }
        return first
    }

    /// Holds the attempts against `readBack` (stream name → its entries in offset order). A
    /// stream with acknowledged messages but absent from `readBack` could not be read: all its
    /// acknowledged messages count as lost. `end` (default: the latest time in the ledger) dates
    /// violations found only at the end.
    public func verify(readBack: [String: [ReadBackEntry]], at end: Int64? = nil) -> LedgerVerdict {
        let acks = ackTimes()
        var sentAt: [Key: Int64] = [:]
        for attempt in attempts {
            let key = Key(stream: attempt.stream, message: attempt.message)
            sentAt[key] = min(sentAt[key] ?? .max, attempt.intended)
        }
        let end = end ?? max(attempts.map(\.intended).max() ?? 0, acks.values.map(\.at).max() ?? 0)
        // Sorted: stream indices and the order of violations must not depend on hashing.
        let streams = Set(attempts.map(\.stream)).union(readBack.keys).sorted()
        let index = Dictionary(uniqueKeysWithValues: streams.enumerated().map { ($0.element, $0.offset) })
        let committed: [[ObservedEntry]?] = streams.map { name in
            readBack[name].map { $0.map { ObservedEntry(offset: $0.offset, leaderEpoch: 0, message: $0.message) } }
        }

        var loss = AcknowledgedLossChecker(streams: streams.count)
        for (key, ack) in acks.sorted(by: { ($0.value.at, $0.key.message) < ($1.value.at, $1.key.message) }) {
            loss.acknowledged(stream: index[key.stream]!, message: key.message, offset: ack.offset, at: ack.at)
        }
        let (lossReport, lost) = loss.verify(streamNames: streams, committed: committed, at: end)

        // One stream at a time, so that a producer's sequences in two streams never mix.
        var orderViolations: [CheckViolation] = []
        var duplicates = 0, unacked = 0, unrecorded = 0
        for (i, name) in streams.enumerated() {
            guard let log = committed[i] else { continue }
            let report = ProducerOrderChecker.verify(
                streamNames: [name], committed: [log], at: end,
                sentAt: { sentAt[Key(stream: name, message: $0)] },
                ackedAt: { acks[Key(stream: name, message: $0)]?.at })
            orderViolations += report.violations
            let present = Set(log.map(\.message))
            duplicates += log.count - present.count
            for message in present {
                let key = Key(stream: name, message: message)
                if sentAt[key] == nil { unrecorded += 1 } else if acks[key] == nil { unacked += 1 }
            }
        }
        return LedgerVerdict(
            noAcknowledgedLoss: lossReport,
            producerOrder: CheckReport(name: ProducerOrderChecker.name, violations: orderViolations),
            lost: lost, duplicates: duplicates, unackedButPresent: unacked, unrecordedPresent: unrecorded)
    }
}
