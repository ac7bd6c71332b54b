import Clients
import XCTest

final class ConsumerCoreTests: XCTestCase {
    let ms: Int64 = 1_000_000

    func testFollowsTheLeaderFromItsOwnOffset() {
        var consumer = ConsumerCore<Int>(pollInterval: 5 * ms, maxEntries: 100)
        XCTAssertEqual(consumer.poll(now: 0), .lookUpLeader)
        consumer.leaderFound(1, now: 0)
        XCTAssertEqual(consumer.poll(now: 0), .fetch(request: 1, leader: 1, offset: 0, maxEntries: 100))
        XCTAssertEqual(consumer.poll(now: 1), .wait(until: 200 * ms), "one fetch at a time")
        XCTAssertEqual(consumer.delivered(request: 1, firstOffset: 0, count: 3, now: 2), 0..<3)
        XCTAssertEqual(consumer.offset, 3)
        // The leader crashed: a not-leader answer naming the new one is followed at once.
        XCTAssertEqual(consumer.poll(now: 2), .fetch(request: 2, leader: 1, offset: 3, maxEntries: 100))
        consumer.failed(request: 2, leaderHint: 2, now: 3)
        XCTAssertEqual(consumer.poll(now: 3), .fetch(request: 3, leader: 2, offset: 3, maxEntries: 100))
        // The new leader re-delivers from an older offset: only what is new counts.
        XCTAssertEqual(consumer.delivered(request: 3, firstOffset: 2, count: 3, now: 4), 1..<3)
        XCTAssertEqual([consumer.offset, consumer.received, consumer.errors], [5, 5, 1])
    }

    func testEmptyBatchWaitsThePollIntervalAndLostFetchesAreGivenUp() {
        var consumer = ConsumerCore<Int>(pollInterval: 5 * ms, maxEntries: 10)
        consumer.leaderFound(1, now: 0)
        guard case .fetch(let request, _, _, _) = consumer.poll(now: 0) else { return XCTFail() }
        XCTAssertEqual(consumer.delivered(request: request, firstOffset: 0, count: 0, now: 1 * ms), 0..<0)
        XCTAssertEqual(consumer.poll(now: 2 * ms), .wait(until: 6 * ms))
        guard case .fetch = consumer.poll(now: 6 * ms) else { return XCTFail() }
        // No answer: after the request timeout the consumer looks the leader up again.
        XCTAssertEqual(consumer.poll(now: 206 * ms), .lookUpLeader)
        XCTAssertEqual(consumer.errors, 1)
        consumer.leaderFound(nil, now: 206 * ms)
        XCTAssertEqual(consumer.poll(now: 207 * ms), .wait(until: 256 * ms))
    }

    func testEndToEndLatencyRunsFromTheIntendedSendTime() {
        XCTAssertEqual(ConsumerCore<Int>.endToEnd(intended: 10, delivered: 25, measureFrom: 0), 15)
        XCTAssertNil(ConsumerCore<Int>.endToEnd(intended: 10, delivered: 25, measureFrom: 11))
    }
}
