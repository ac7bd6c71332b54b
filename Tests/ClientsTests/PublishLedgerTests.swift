import Checkers
import Clients
import XCTest

final class PublishLedgerTests: XCTestCase {
    /// Producer 1 publishes sequences 0..<n to `orders`, one every 10 ns, each acked 5 ns later
    /// at offset = sequence (so each is acked before the next is sent).
    func ledger(_ n: UInt64 = 10, producer: UInt32 = 1, stream: String = "orders") -> PublishLedger {
        var ledger = PublishLedger()
        for seq in 0..<n {
            let t = Int64(seq) * 10
            let attempt = ledger.attempted(producer: producer, sequence: seq, stream: stream, intended: t)
            ledger.resolve(attempt, .acked(offset: seq, at: t + 5))
        }
        return ledger
    }

    func log(_ sequences: [UInt64], producer: UInt32 = 1) -> [ReadBackEntry] {
        sequences.enumerated().map { ReadBackEntry(offset: UInt64($0.offset), producerID: producer, sequence: $0.element) }
    }

    func testCleanRunPasses() {
        let verdict = ledger().verify(readBack: ["orders": log(Array(0..<10))])
        XCTAssertTrue(verdict.noAcknowledgedLoss.passed)
        XCTAssertTrue(verdict.producerOrder.passed)
        XCTAssertEqual(verdict.noAcknowledgedLoss.name, "no_acknowledged_loss")
        XCTAssertEqual(verdict.producerOrder.name, "producer_order")
        XCTAssertEqual(verdict.checks.map(\.name), ["no_acknowledged_loss", "producer_order"])
        XCTAssertEqual([verdict.lost, verdict.duplicates, verdict.unackedButPresent, verdict.unrecordedPresent], [0, 0, 0, 0])
    }

    func testLossOfAnAcknowledgedMessageIsDetected() {
        let verdict = ledger().verify(readBack: ["orders": log([0, 1, 2, 4, 5, 6, 7, 8, 9])])
        XCTAssertFalse(verdict.noAcknowledgedLoss.passed)
        XCTAssertEqual(verdict.lost, 1)
        XCTAssertEqual(verdict.noAcknowledgedLoss.violations.count, 1)
        XCTAssertTrue(verdict.noAcknowledgedLoss.violations[0].description.contains("p1#3"), verdict.noAcknowledgedLoss.violations[0].description)
        XCTAssertEqual(verdict.noAcknowledgedLoss.violations[0].time, 35)
        XCTAssertTrue(verdict.producerOrder.passed)

        // A stream that could not be read loses everything acknowledged in it.
        let unread = ledger().verify(readBack: [:])
        XCTAssertEqual(unread.lost, 10)
        XCTAssertFalse(unread.noAcknowledgedLoss.passed)
        // The message in another stream does not count.
        let elsewhere = ledger().verify(readBack: ["orders": log(Array(0..<9)), "audit": log([9])])
        XCTAssertEqual(elsewhere.lost, 1)
        XCTAssertEqual(elsewhere.unrecordedPresent, 1)
    }

    func testReorderIsDetected() {
        // #4 was acked (at 45) before #5 was sent (at 50), yet #5 precedes #4 in the log.
        let verdict = ledger().verify(readBack: ["orders": log([0, 1, 2, 3, 5, 4, 6, 7, 8, 9])])
        XCTAssertFalse(verdict.producerOrder.passed)
        XCTAssertEqual(verdict.producerOrder.violations.count, 1)
        XCTAssertTrue(verdict.producerOrder.violations[0].description.contains("p1#5"), "\(verdict.producerOrder)")
        XCTAssertTrue(verdict.noAcknowledgedLoss.passed)
    }

    /// Two messages in flight together may land either way round (the simulator's rule: the
    /// network and pipelining reorder them); only a send after an ack fixes the order.
    func testMessagesInFlightTogetherMayLandEitherWay() {
        var ledger = PublishLedger()
        let a = ledger.attempted(producer: 7, sequence: 0, stream: "orders", intended: 0)
        let b = ledger.attempted(producer: 7, sequence: 1, stream: "orders", intended: 1)
        ledger.resolve(b, .acked(offset: 0, at: 10))
        ledger.resolve(a, .acked(offset: 1, at: 11))
        let verdict = ledger.verify(readBack: ["orders": log([1, 0], producer: 7)])
        XCTAssertTrue(verdict.producerOrder.passed)
        XCTAssertTrue(verdict.noAcknowledgedLoss.passed)
    }

    func testDuplicatesAndUnackedButPresentAreCounted() {
        var ledger = ledger(4)
        // #4: first attempt timed out, the retry was acked; #5 failed; #6 never answered; #7 timed out.
        let first = ledger.attempted(producer: 1, sequence: 4, stream: "orders", intended: 40)
        ledger.resolve(first, .timedOut)
        let retry = ledger.attempted(producer: 1, sequence: 4, stream: "orders", intended: 40)
        ledger.resolve(retry, .acked(offset: 5, at: 70))
        ledger.resolve(ledger.attempted(producer: 1, sequence: 5, stream: "orders", intended: 50), .failed)
        ledger.attempted(producer: 1, sequence: 6, stream: "orders", intended: 60)
        ledger.resolve(ledger.attempted(producer: 1, sequence: 7, stream: "orders", intended: 70), .timedOut)
        XCTAssertEqual([ledger.messageCount, ledger.attemptCount, ledger.retries], [8, 9, 1])
        XCTAssertEqual(ledger.ackedCount, 5)

        // #4 twice (the timed-out attempt was appended after all), #2 twice, #6 and #7 present.
        let verdict = ledger.verify(readBack: ["orders": log([0, 1, 2, 3, 2, 4, 4, 6, 7])])
        XCTAssertEqual(verdict.duplicates, 2)
        XCTAssertEqual(verdict.unackedButPresent, 2)
        XCTAssertEqual(verdict.unrecordedPresent, 0)
        XCTAssertTrue(verdict.noAcknowledgedLoss.passed, "\(verdict.noAcknowledgedLoss)")
        XCTAssertTrue(verdict.producerOrder.passed, "\(verdict.producerOrder)")
    }

    func testPerConnectionLedgersMergeAndProducersAreCheckedSeparately() {
        let merged = PublishLedger.merged([ledger(5, producer: 1), ledger(5, producer: 2, stream: "audit"), ledger(3, producer: 3)])
        XCTAssertEqual(merged.attemptCount, 13)
        XCTAssertEqual(merged.streamNames, ["orders", "audit"])
        XCTAssertEqual(merged.ackedCount, 13)
        let interleaved = [ReadBackEntry(offset: 0, producerID: 3, sequence: 0)] + log([0, 1]) +
            [ReadBackEntry(offset: 3, producerID: 3, sequence: 1), ReadBackEntry(offset: 4, producerID: 3, sequence: 2)] + log([2, 3, 4])
        let clean = merged.verify(readBack: ["orders": interleaved, "audit": log(Array(0..<5), producer: 2)])
        XCTAssertTrue(clean.noAcknowledgedLoss.passed && clean.producerOrder.passed, "\(clean)")

        let swapped = merged.verify(readBack: ["orders": interleaved, "audit": log([1, 0, 2, 3, 4], producer: 2)])
        XCTAssertEqual(swapped.producerOrder.violations.count, 1)
        XCTAssertTrue(swapped.producerOrder.violations[0].description.hasPrefix("stream audit:"), "\(swapped.producerOrder)")
    }
}
