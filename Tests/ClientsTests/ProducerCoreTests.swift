import Clients
import XCTest

/// Scripted inputs → asserted effects, etcd-style: each test reads as a script of what the
/// transport and the clock do and what the producer asks for.
final class ProducerCoreTests: XCTestCase {
    typealias Core = ProducerCore<Int>
    let ms: Int64 = 1_000_000

    func producer(window: Int = 3, retries: Int = 5, timeout: Int64 = 1_000_000_000) -> Core {
        var core = Core(.init(producer: 1, stream: "orders", maxInFlight: window, timeout: timeout, retries: retries))
        core.start(connectedTo: 1)
        return core
    }

    func sends(_ effects: [ProducerEffect<Int>]) -> [UInt64] {
        effects.compactMap { if case .send(_, _, let sequence, _) = $0 { return sequence } else { return nil } }
    }

    func attempts(_ effects: [ProducerEffect<Int>]) -> [UInt64] {
        effects.compactMap { if case .send(let attempt, _, _, _) = $0 { return attempt } else { return nil } }
    }

    func testWindowLimitsMessagesInFlight() {
        var core = producer(window: 3)
        var effects: [ProducerEffect<Int>] = []
        for t in 0..<5 { core.messageDue(intended: Int64(t), now: Int64(t), into: &effects) }
        XCTAssertEqual(sends(effects), [0, 1, 2])
        XCTAssertEqual(core.outstanding, 5)
        effects = []
        core.answered(attempt: 0, .acked(offset: 0), now: 10, into: &effects)
        XCTAssertEqual(sends(effects), [3])
        XCTAssertEqual(effects.first, .acked(slot: 0, sequence: 0, intended: 0, sent: 0, offset: 0))
    }

    func testFailureStopsSendingThenResendsInOrderAfterReconnect() {
        var core = producer(window: 4)
        var effects: [ProducerEffect<Int>] = []
        for t in 0..<3 { core.messageDue(intended: Int64(t), now: Int64(t), into: &effects) }
        effects = []
        core.answered(attempt: 1, .lost, now: 5, into: &effects)
        core.messageDue(intended: 6, now: 6, into: &effects)
        XCTAssertEqual(sends(effects), [], "nothing is sent while earlier messages are unresolved after a failure")
        core.answered(attempt: 0, .acked(offset: 0), now: 7, into: &effects)
        XCTAssertFalse(effects.contains(.connect(hint: nil)), "reconnects only once every outstanding message resolved")
        core.answered(attempt: 2, .lost, now: 8, into: &effects)
        XCTAssertEqual(effects.last, .connect(hint: nil))
        effects = []
        core.connected(to: 2, now: 9, into: &effects)
        XCTAssertEqual(sends(effects), [1, 2, 3], "failed messages first, in sequence order, then the newer one")
        XCTAssertEqual(core.leader, 2)
        XCTAssertEqual(core.ledger.attemptCount, 6)
        XCTAssertEqual(core.ledger.retries, 2)
    }

    func testBackoffDoublesFrom10To320MillisecondsPerRoundUntilAnAck() {
        XCTAssertEqual((0...8).map { Core.backoff(round: $0) / ms }, [0, 10, 20, 40, 80, 160, 320, 320, 320])
        var core = producer(window: 1, retries: 20)
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        var waits: [Int64] = []
        var now: Int64 = 0
        for _ in 0..<8 {
            let attempt = attempts(effects).last!
            effects = []
            core.answered(attempt: attempt, .refused(kind: "not enough replicas", leaderHint: nil), now: now, into: &effects)
            core.connected(to: 1, now: now, into: &effects)
            if case .startTimer(.backoff, let after)? = effects.last {
                waits.append(after / ms)
                now += after
                XCTAssertEqual(sends(effects), [], "nothing is re-sent before the back-off ends")
                core.timerFired(.backoff, now: now, into: &effects)
            } else {
                waits.append(0)
            }
            XCTAssertEqual(sends(effects), [0])
        }
        XCTAssertEqual(waits, [0, 10, 20, 40, 80, 160, 320, 320])
        // An ack starts over.
        core.answered(attempt: attempts(effects).last!, .acked(offset: 0), now: now, into: &effects)
        core.messageDue(intended: now, now: now, into: &effects)
        let attempt = attempts(effects).last!
        effects = []
        core.answered(attempt: attempt, .lost, now: now, into: &effects)
        core.connected(to: 1, now: now, into: &effects)
        XCTAssertEqual(sends(effects), [1], "the first round after an ack re-sends at once")
    }

    func testNotLeaderWithHintReconnectsThereWithoutWaiting() {
        var core = producer(window: 2, retries: 20)
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        // Two rounds without an ack would back off…
        core.answered(attempt: 0, .lost, now: 1, into: &effects)
        core.connected(to: 1, now: 1, into: &effects)
        effects = []
        core.answered(attempt: 1, .refused(kind: "not leader", leaderHint: 3), now: 2, into: &effects)
        XCTAssertEqual(effects.last, .connect(hint: 3))
        effects = []
        core.connected(to: 3, now: 2, into: &effects)
        XCTAssertEqual(sends(effects), [0], "…but a named leader is tried at once")
        XCTAssertEqual(core.leader, 3)
    }

    func testTimeoutFailsAnAttemptAndGivesUpAfterRetries() {
        var core = producer(window: 2, retries: 1, timeout: 100 * ms)
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        core.tick(now: 50 * ms, into: &effects)
        XCTAssertFalse(effects.contains(.failed(sequence: 0, .timedOut)))
        core.tick(now: 101 * ms, into: &effects)
        XCTAssertTrue(effects.contains(.failed(sequence: 0, .timedOut)))
        core.connected(to: 1, now: 101 * ms, into: &effects)
        core.tick(now: 202 * ms, into: &effects)
        XCTAssertTrue(effects.contains(.failed(sequence: 0, .gaveUp(retries: 1))))
        XCTAssertEqual(core.ledger.failedCount, 1)
    }

    func testOutOfOrderRefusalsAreResentWithoutSpendingRetries() {
        // Sequence 0 is lost; 1 and 2 reach an idempotent broker, which refuses them as out of
        // order. Only 0 spends its one retry; 1 and 2 go again behind it.
        var core = producer(window: 3, retries: 1)
        var effects: [ProducerEffect<Int>] = []
        for t in 0..<3 { core.messageDue(intended: Int64(t), now: Int64(t), into: &effects) }
        core.answered(attempt: 1, .outOfOrder(expected: 0), now: 5, into: &effects)
        core.answered(attempt: 2, .outOfOrder(expected: 0), now: 5, into: &effects)
        XCTAssertTrue(effects.contains(.failed(sequence: 1, .refused(kind: "out_of_order_sequence"))))
        core.answered(attempt: 0, .lost, now: 6, into: &effects)
        effects = []
        core.connected(to: 1, now: 7, into: &effects)
        XCTAssertEqual(sends(effects), [0, 1, 2])
        effects = []
        core.answered(attempt: 3, .lost, now: 8, into: &effects)
        core.answered(attempt: 4, .outOfOrder(expected: 0), now: 8, into: &effects)
        core.answered(attempt: 5, .outOfOrder(expected: 0), now: 8, into: &effects)
        XCTAssertTrue(effects.contains(.failed(sequence: 0, .gaveUp(retries: 1))), "0 has spent its retry")
        XCTAssertFalse(effects.contains(.failed(sequence: 1, .gaveUp(retries: 1))), "1 and 2 spent none")
        XCTAssertEqual(core.ledger.failedCount, 1)
        XCTAssertEqual(core.producerEpoch, 1, "0 may have been stored after all: same epoch")
        effects = []
        core.connected(to: 1, now: 9, into: &effects)
        core.timerFired(.backoff, now: 20 * ms, into: &effects)
        XCTAssertEqual(sends(effects), [1, 2])
        // The broker still waits for 0, which was given up: a real gap. 1 and 2 were not stored
        // (nothing is stored past a gap), so a new epoch re-sends them without duplicating.
        core.answered(attempt: 6, .outOfOrder(expected: 0), now: 21 * ms, into: &effects)
        core.answered(attempt: 7, .outOfOrder(expected: 0), now: 21 * ms, into: &effects)
        XCTAssertEqual(core.producerEpoch, 2, "a gap at a given-up sequence starts a new producer epoch")
        effects = []
        core.connected(to: 1, now: 22 * ms, into: &effects)
        core.timerFired(.backoff, now: 60 * ms, into: &effects)
        XCTAssertEqual(sends(effects), [1, 2], "sent in the new epoch, which the broker accepts from any sequence")
    }

    func testDuplicateAcksAreCountedOnce() {
        var core = producer()
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        core.answered(attempt: 0, .acked(offset: 0), now: 1, into: &effects)
        core.answered(attempt: 0, .acked(offset: 0), now: 2, into: &effects)
        XCTAssertEqual(effects.filter { if case .acked = $0 { return true } else { return false } }.count, 1)
        XCTAssertEqual(core.ledger.ackedCount, 1)
        XCTAssertEqual(core.ledger.duplicateAcks, 1)
    }

    func testLateAckOfATimedOutAttemptCountsTheMessageOnce() {
        var core = producer(window: 2, timeout: 10 * ms)
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        core.tick(now: 11 * ms, into: &effects)
        core.answered(attempt: 0, .acked(offset: 0), now: 12 * ms, into: &effects)
        core.connected(to: 1, now: 12 * ms, into: &effects)
        core.answered(attempt: 1, .acked(offset: 1), now: 13 * ms, into: &effects)
        XCTAssertEqual(core.ledger.ackedCount, 1)
        XCTAssertEqual(core.ledger.duplicateAcks, 1)
        XCTAssertEqual(core.outstanding, 0)
    }

    func testUnconnectedProducerLooksTheLeaderUpAndRetriesWhenNothingAnswers() {
        var core = Core(.init(producer: 1, stream: "orders", maxInFlight: 2, timeout: 1_000_000_000, retries: 3))
        var effects: [ProducerEffect<Int>] = []
        core.messageDue(intended: 0, now: 0, into: &effects)
        XCTAssertEqual(effects, [.connect(hint: nil)])
        core.connectFailed(now: 0, into: &effects)
        XCTAssertEqual(effects.last, .startTimer(.reconnect, after: Core.reconnectDelay))
        core.timerFired(.reconnect, now: Core.reconnectDelay, into: &effects)
        XCTAssertEqual(effects.last, .connect(hint: nil))
        effects = []
        core.connected(to: 2, now: Core.reconnectDelay, into: &effects)
        XCTAssertEqual(sends(effects), [0])
    }

    func testStopDropsUnsentAndScheduleEndFinishesWhenDrained() {
        var core = producer(window: 1)
        var effects: [ProducerEffect<Int>] = []
        for t in 0..<3 { core.messageDue(intended: Int64(t), now: Int64(t), into: &effects) }
        core.scheduleEnded(now: 3, into: &effects)
        XCTAssertFalse(effects.contains(.finished))
        core.stop(now: 4, into: &effects)
        XCTAssertEqual(Array(effects.suffix(2)), [.dropped(count: 2), .finished])

        var drained = producer(window: 1)
        effects = []
        drained.messageDue(intended: 0, now: 0, into: &effects)
        drained.scheduleEnded(now: 1, into: &effects)
        drained.answered(attempt: 0, .acked(offset: 0), now: 2, into: &effects)
        XCTAssertEqual(effects.last, .finished)
    }
}

