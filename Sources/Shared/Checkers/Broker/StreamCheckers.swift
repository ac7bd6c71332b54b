import Sampling

/// `no_acknowledged_loss`: every message acknowledged under `ack_policy: all` is readable at
/// the end — in the committed prefix (below the HW) of the stream's leader.
public struct AcknowledgedLossChecker: Sendable {
    public static let name = "no_acknowledged_loss"
    /// Acked messages per stream (index = stream), with the time and offset of the ack.
    private var acked: [[(message: MessageID, offset: UInt64, time: VirtualTime)]]

    public init(streams: Int) { acked = Array(repeating: [], count: streams) }

    public mutating func acknowledged(stream: Int, message: MessageID, offset: UInt64, at time: VirtualTime) {
        acked[stream].append((message, offset, time))
    }

    public var acknowledgedCount: Int { acked.reduce(0) { $0 + $1.count } }

    /// `committed[stream]` is the readable prefix of the stream at the end (nil: no leader,
    /// nothing readable). Returns the report and the number of lost messages.
    public func verify(streamNames: [String], committed: [[ObservedEntry]?], at end: VirtualTime) -> (CheckReport, lost: Int) {
        var violations: [CheckViolation] = []
        var lost = 0
        for stream in acked.indices {
            guard !acked[stream].isEmpty else { continue }
            guard let log = committed[stream] else {
                lost += acked[stream].count
                violations.append(CheckViolation(check: Self.name,
                    description: "stream \(streamNames[stream]): no leader at the end; \(acked[stream].count) acknowledged messages unreadable",
                    time: end))
                continue
            }
            let readable = MessageIDSet(log)
            var missing: [(MessageID, UInt64, VirtualTime)] = []
            for ack in acked[stream] where !readable.contains(ack.message) { missing.append(ack) }
            lost += missing.count
            for (message, offset, time) in missing.prefix(5) {
                violations.append(CheckViolation(check: Self.name,
                    description: "stream \(streamNames[stream]): \(message) acknowledged at offset \(offset) is not in the committed log",
                    time: time))
            }
            if missing.count > 5 {
                violations.append(CheckViolation(check: Self.name,
                    description: "stream \(streamNames[stream]): \(missing.count - 5) more acknowledged messages lost", time: end))
            }
        }
        return (CheckReport(name: Self.name, violations: violations), lost)
    }
}

/// `replicas_agree`: below the smaller of two replicas' high-water marks, their logs are
/// identical (same message and leader epoch at every offset).
public enum ReplicasAgreeChecker {
    public static let name = "replicas_agree"

    public static func verify(streamNames: [String], replicas: [[ReplicaSnapshot]], at end: VirtualTime) -> CheckReport {
        var violations: [CheckViolation] = []
        for (stream, snapshots) in replicas.enumerated() {
            let live = snapshots.filter(\.alive)
            for i in live.indices {
                for j in live.indices where j > i {
                    let a = live[i], b = live[j]
                    let limit = Int(min(a.highWatermark, b.highWatermark, UInt64(a.log.count), UInt64(b.log.count)))
                    if let diverge = (0..<limit).first(where: { a.log[$0] != b.log[$0] }) {
                        violations.append(CheckViolation(check: name,
                            description: "stream \(streamNames[stream]): \(a.nodeName) and \(b.nodeName) differ at committed offset \(diverge): \(describe(a.log[diverge])) vs \(describe(b.log[diverge]))",
                            time: end))
                    }
                }
            }
        }
        return CheckReport(name: name, violations: violations)
    }

    static func describe(_ e: ObservedEntry) -> String { "\(e.message)@epoch \(e.leaderEpoch)" }
}

/// `hw_monotonic`: within one incarnation of a replica, its high-water mark never decreases.
/// (After a restart it may start lower, from the checkpoint, as in Kafka.)
public struct HighWatermarkMonotonicChecker: Sendable {
    public static let name = "hw_monotonic"
    private var last: [[UInt64]]         // [stream][node]
    private var incarnation: [[UInt32]]
    private var violations: [CheckViolation] = []

    public init(streams: Int, nodes: Int) {
        last = Array(repeating: Array(repeating: 0, count: nodes), count: streams)
        incarnation = Array(repeating: Array(repeating: 0, count: nodes), count: streams)
    }

    public mutating func observe(stream: Int, node: Int, incarnation inc: UInt32, highWatermark: UInt64, at time: VirtualTime,
                                 streamName: @autoclosure () -> String, nodeName: @autoclosure () -> String) {
        if inc != incarnation[stream][node] {
            incarnation[stream][node] = inc
            last[stream][node] = highWatermark
            return
        }
        if highWatermark < last[stream][node], violations.count < 20 {
            violations.append(CheckViolation(check: Self.name,
                description: "stream \(streamName()): \(nodeName())'s high-water mark went from \(last[stream][node]) to \(highWatermark)",
                time: time))
        }
        last[stream][node] = max(last[stream][node], highWatermark)
    }

    public func verify() -> CheckReport { CheckReport(name: Self.name, violations: violations) }
}

/// `one_leader_per_epoch`: no two nodes ever lead a stream in the same leader epoch, and the
/// epochs a stream's leaders take strictly increase.
public struct OneLeaderPerEpochChecker: Sendable {
    public static let name = "one_leader_per_epoch"
    private var leaders: [[(epoch: UInt64, node: Int)]]
    private var violations: [CheckViolation] = []

    public init(streams: Int) { leaders = Array(repeating: [], count: streams) }

    public mutating func becameLeader(stream: Int, node: Int, epoch: UInt64, at time: VirtualTime,
                                      describe: (Int) -> String, streamName: String) {
        if let same = leaders[stream].first(where: { $0.epoch == epoch }) {
            if same.node != node {
                violations.append(CheckViolation(check: Self.name,
                    description: "stream \(streamName): \(describe(same.node)) and \(describe(node)) both led epoch \(epoch)", time: time))
            }
            return
        }
        if let newest = leaders[stream].last, epoch < newest.epoch {
            violations.append(CheckViolation(check: Self.name,
                description: "stream \(streamName): \(describe(node)) took epoch \(epoch) after epoch \(newest.epoch) had a leader", time: time))
        }
        leaders[stream].append((epoch, node))
    }

    public var leaderChanges: Int { leaders.reduce(0) { $0 + $1.count } }

    public func verify() -> CheckReport { CheckReport(name: Self.name, violations: violations) }
}

/// `no_commit_below_min_isr`: the high-water mark of a stream only advances while its ISR has
/// at least `min_isr` members.
public struct MinISRCommitChecker: Sendable {
    public static let name = "no_commit_below_min_isr"
    private var violations: [CheckViolation] = []

    public init() {}

    public mutating func highWatermarkAdvanced(streamName: String, leader: String, to hw: UInt64, isrSize: Int, minISR: Int,
                                               at time: VirtualTime) {
        guard isrSize < minISR, violations.count < 20 else { return }
        violations.append(CheckViolation(check: Self.name,
            description: "stream \(streamName): \(leader) advanced the high-water mark to \(hw) with \(isrSize) in-sync replicas (min_isr \(minISR))",
            time: time))
    }

    public func verify() -> CheckReport { CheckReport(name: Self.name, violations: violations) }
}

/// `producer_order`: a producer's messages keep their causal order. Publishers pipeline many
/// messages over a network that reorders, so two messages in flight together may land either
/// way round (as with Kafka's `max.in.flight > 1` without idempotence); but a message sent
/// after another was acknowledged must come after it in the log.
public enum ProducerOrderChecker {
    public static let name = "producer_order"

    /// `sentAt` is a message's first send, `ackedAt` its acknowledgement (nil if never acked).
    public static func verify(streamNames: [String], committed: [[ObservedEntry]?], at end: VirtualTime,
                              sentAt: (MessageID) -> VirtualTime?, ackedAt: (MessageID) -> VirtualTime?) -> CheckReport {
        var violations: [CheckViolation] = []
        for (stream, log) in committed.enumerated() {
            guard let log else { continue }
            // A retried message may be in the log twice; its first copy is the one that counts
            // (the later copy is a duplicate, reported by `messages_duplicated`).
            var seen = MessageIDSet()
            let isFirstCopy = log.map { seen.insert($0.message) }
            // Walk backwards keeping, per producer, the earliest ack among entries further on.
            var earliestLaterAck: [(producer: UInt32, ack: VirtualTime, message: MessageID)] = []
            for position in log.indices.reversed() where isFirstCopy[position] {
                let entry = log[position]
                let p = entry.message.producer
                let index = earliestLaterAck.firstIndex { $0.producer == p }
                if let index, let sent = sentAt(entry.message), earliestLaterAck[index].ack < sent, violations.count < 20 {
                    let later = earliestLaterAck[index].message
                    violations.append(CheckViolation(check: name,
                        description: "stream \(streamNames[stream]): \(entry.message) at offset \(entry.offset) precedes \(later), which was acknowledged before \(entry.message) was sent",
                        time: end))
                }
                guard let ack = ackedAt(entry.message) else { continue }
                if let index {
                    if ack < earliestLaterAck[index].ack { earliestLaterAck[index] = (p, ack, entry.message) }
                } else {
                    earliestLaterAck.append((p, ack, entry.message))
                }
            }
        }
        return CheckReport(name: name, violations: violations)
    }
}

/// `no_duplicates`: with idempotent producers on (`broker.idempotence`, the default), no
/// message — a producer's sequence — is stored twice in its stream's committed log. With
/// idempotence off duplicates are the expected cost of retries (counted as
/// `messages_duplicated`), so the check has nothing to hold the broker to.
public enum NoDuplicatesChecker {
    public static let name = "no_duplicates"

    public static func verify(streamNames: [String], committed: [[ObservedEntry]?], idempotence: Bool, at end: VirtualTime) -> CheckReport {
        guard idempotence else { return CheckReport(name: name, violations: []) }
        var violations: [CheckViolation] = []
        var total = 0
        for (stream, log) in committed.enumerated() {
            guard let log else { continue }
            var stored = MessageIDSet()
            for entry in log {
                // Producer 0 is anonymous: never de-duplicated, so never a duplicate.
                guard entry.message.producer != 0, !stored.insert(entry.message) else { continue }
                total += 1
                if violations.count < 20 {
                    // Only a reported duplicate needs its first copy's offset: found by a scan.
                    let first = log.first { $0.message == entry.message }?.offset ?? entry.offset
                    violations.append(CheckViolation(check: name,
                        description: "stream \(streamNames[stream]): \(entry.message) stored at offset \(first) and again at \(entry.offset)",
                        time: end))
                }
            }
        }
        if total > violations.count, var last = violations.popLast() {
            last.description += " (\(total) duplicates in all)"
            violations.append(last)
        }
        return CheckReport(name: name, violations: violations)
    }
}
