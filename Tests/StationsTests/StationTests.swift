import XCTest
import Stations

final class StationTests: XCTestCase {
    func testArrivalsUseIdleServersThenQueueThenReject() {
        var station = Station(.init(servers: 2, queueLimit: 1))
        XCTAssertEqual(station.arrive(1, at: 0), .serve(request: 1, server: 0))
        XCTAssertEqual(station.arrive(2, at: 0), .serve(request: 2, server: 1))
        XCTAssertEqual(station.arrive(3, at: 0), .queued)
        XCTAssertEqual(station.arrive(4, at: 0), .reject(request: 4))
        XCTAssertEqual(station.counters.rejected, 1)
        XCTAssertEqual(station.inSystem, 3)
    }

    func testFinishingServerTakesNextWaitingRequestInFIFOOrder() {
        var station = Station(.init(servers: 1))
        _ = station.arrive(10, at: 0)
        _ = station.arrive(11, at: 1)
        _ = station.arrive(12, at: 2)
        let first = station.finish(server: 0, at: 5)
        XCTAssertEqual(first.done, 10)
        XCTAssertEqual(first.next, 11)
        let second = station.finish(server: 0, at: 7)
        XCTAssertEqual(second.done, 11)
        XCTAssertEqual(second.next, 12)
        let third = station.finish(server: 0, at: 9)
        XCTAssertEqual(third.done, 12)
        XCTAssertNil(third.next)
        XCTAssertEqual(station.counters.completed, 3)
        XCTAssertEqual(station.busyServers, 0)
    }

    func testUtilisationIntegralCountsBusyServerTime() {
        var station = Station(.init(servers: 2))
        _ = station.arrive(1, at: 0)        // 1 busy from 0
        _ = station.arrive(2, at: 10)       // 2 busy from 10
        _ = station.finish(server: 0, at: 20)
        _ = station.finish(server: 1, at: 30)
        station.close(at: 40)
        // 1×10 + 2×10 + 1×10 = 40 server-ns over 40 ns with 2 servers: 50 % utilisation.
        XCTAssertEqual(station.counters.busyTime, 40)
    }

    func testCrashDropsQueuedAndInServiceRequests() {
        var station = Station(.init(servers: 1))
        _ = station.arrive(1, at: 0)
        _ = station.arrive(2, at: 0)
        _ = station.arrive(3, at: 0)
        XCTAssertEqual(station.crash(at: 5), [2, 3, 1])
        XCTAssertEqual(station.counters.dropped, 3)
        XCTAssertEqual(station.inSystem, 0)
        XCTAssertEqual(station.arrive(4, at: 6), .serve(request: 4, server: 0))
    }

    func testLongQueueChurnKeepsOrder() {
        var station = Station(.init(servers: 1))
        _ = station.arrive(0, at: 0)
        for id in 1..<5000 { _ = station.arrive(UInt64(id), at: 0) }
        var expected: UInt64 = 0
        while station.inSystem > 0 {
            let result = station.finish(server: 0, at: 1)
            XCTAssertEqual(result.done, expected)
            expected += 1
        }
        XCTAssertEqual(expected, 5000)
    }
}
