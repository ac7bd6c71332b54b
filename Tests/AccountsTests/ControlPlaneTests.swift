import Accounts
import XCTest

final class ControlPlaneTests: XCTestCase {
    let second: Int64 = 1_000_000_000

    func testBurstPassesThenCallsAreSpacedByOneOverRate() {
        let plane = ControlPlane(accounts: 1, rate: 10, burst: 3)
        let calls = Array(repeating: (time: Int64(0), account: 0), count: 6)
        XCTAssertEqual(plane.delays(calls), [0, 0, 0, 100_000_000, 200_000_000, 300_000_000])
    }

    func testBucketRefillsOnlyUpToBurst() {
        let plane = ControlPlane(accounts: 1, rate: 10, burst: 3)
        let storm = Array(repeating: (time: Int64(0), account: 0), count: 3)
        let later = Array(repeating: (time: 10 * second, account: 0), count: 4)
        XCTAssertEqual(plane.delays(storm + later), [0, 0, 0, 0, 0, 0, 100_000_000])
        // Partial refill: half an interval after an empty bucket, wait the other half.
        let one = ControlPlane(accounts: 1, rate: 10, burst: 1)
        XCTAssertEqual(one.delays([(0, 0), (50_000_000, 0), (50_000_000, 0)]), [0, 50_000_000, 150_000_000])
    }

    func testAccountsAreIndependent() {
        let plane = ControlPlane(accounts: 2, rate: 5, burst: 2)
        var calls: [(time: Int64, account: Int)] = Array(repeating: (0, 0), count: 20)
        calls.append((0, 1))
        calls.append((1_000_000, 1))
        let waits = plane.delays(calls)
        XCTAssertEqual(waits[20], 0, "a storm in account 0 does not delay account 1")
        XCTAssertEqual(waits[21], 0)
        XCTAssertEqual(waits[19], 18 * 200_000_000)
    }

    func testWaitsComeBackInInputOrderAndTiesKeepOrder() {
        let plane = ControlPlane(accounts: 1, rate: 1, burst: 1)
        // Sorted by time: (0, first tie), (0, second tie), (3 s). FIFO: 0, 1 s, then 3 s arrives
        // after the bucket has refilled.
        let waits = plane.delays([(3 * second, 0), (0, 0), (0, 0)])
        XCTAssertEqual(waits, [0, 0, second])
        // A later arrival queues behind an earlier waiting one.
        XCTAssertEqual(plane.delays([(second / 2, 0), (0, 0), (0, 0)]), [second + second / 2, 0, second])
    }
}
