import XCTest
@testable import SimCore

final class ProcessTests: XCTestCase {
    let s = Nanos.second

    func testClockOffsetAndJump() {
        var clock = SimClock()
        XCTAssertEqual(clock.now(123), 123)
        clock.setOffset(1_000)
        XCTAssertEqual(clock.now(123), 1_123)
        clock.jump(by: -5_000)
        XCTAssertEqual(clock.now(123), -3_877)
        XCTAssertEqual(clock.offset, -4_000)
    }

    func testDriftAccumulatesAndStaysContinuous() {
        var clock = SimClock()
        clock.setDrift(ppm: 100, at: 10 * s)         // 100 ppm fast from t = 10 s
        XCTAssertEqual(clock.now(10 * s), 10 * s)
        XCTAssertEqual(clock.now(20 * s), 20 * s + 1_000_000)   // 10 s × 100 ppm = 1 ms
        let before = clock.now(30 * s)
        clock.setDrift(ppm: -50, at: 30 * s)
        XCTAssertEqual(clock.now(30 * s), before, "no jump when the rate changes")
        XCTAssertEqual(clock.now(40 * s), before + 10 * s - 500_000)
        clock.setDrift(ppm: 0, at: 40 * s)
        XCTAssertEqual(clock.now(50 * s), before + 20 * s - 500_000)

        // Monotone under positive and negative drift.
        var c = SimClock()
        c.setDrift(ppm: -200, at: 0)
        var last = c.now(0)
        for t in stride(from: Int64(0), through: 5 * s, by: 1_000_003) {
            XCTAssertGreaterThanOrEqual(c.now(t), last)
            last = c.now(t)
        }
    }

    func testVirtualDurationForLocalTimeout() {
        var clock = SimClock()
        XCTAssertEqual(clock.virtualDuration(forLocal: s), s)
        clock.setDrift(ppm: 1_000, at: 0)   // 0.1 % fast: a local second passes sooner
        let v = clock.virtualDuration(forLocal: s)
        XCTAssertLessThan(v, s)
        XCTAssertEqual(clock.now(v) - clock.now(0), s, accuracy: 1)
    }

    func makeProcess() -> SimProcess {
        SimProcess(id: 2, name: "n3", zone: "b",
                   disk: SimDisk(config: DiskConfig(), rng: SeededGenerator(seed: 3).stream("disk.n3")))
    }

    func testCrashRestartAndIncarnation() {
        var p = makeProcess()
        XCTAssertEqual(p.state, .running)
        XCTAssertTrue(p.isRunning)
        XCTAssertEqual(p.incarnation, 0)
        _ = p.disk.append("log", [1, 2, 3])
        p.disk.completeFsync(p.disk.beginFsync("log"))
        _ = p.disk.append("log", [4])

        XCTAssertTrue(p.crash())
        XCTAssertEqual(p.state, .crashed)
        XCTAssertFalse(p.isRunning)
        XCTAssertEqual(p.disk.read("log"), [1, 2, 3], "the crash took the disk's volatile state")
        XCTAssertFalse(p.crash(), "already crashed: nothing happens")
        XCTAssertEqual(p.disk.crashCount, 1)
        XCTAssertFalse(p.pause())
        XCTAssertFalse(p.resume())

        XCTAssertTrue(p.restart())
        XCTAssertEqual(p.state, .running)
        XCTAssertEqual(p.incarnation, 1)
        XCTAssertFalse(p.restart(), "only a crashed process restarts")
        XCTAssertEqual(p.incarnation, 1)
        p.crash(); p.restart()
        XCTAssertEqual(p.incarnation, 2)
        XCTAssertEqual(p.id, 2)
        XCTAssertEqual(p.name, "n3")
        XCTAssertEqual(p.zone, "b")
    }

    func testPauseAndResume() {
        var p = makeProcess()
        XCTAssertFalse(p.resume())
        XCTAssertTrue(p.pause())
        XCTAssertEqual(p.state, .paused)
        XCTAssertFalse(p.isRunning)
        XCTAssertFalse(p.pause())
        XCTAssertTrue(p.resume())
        XCTAssertTrue(p.isRunning)
        XCTAssertEqual(p.incarnation, 0, "a pause is not a restart")

        // Crashing a paused process is allowed.
        p.pause()
        XCTAssertTrue(p.crash())
        XCTAssertEqual(p.state, .crashed)
    }

    func testPausedInboxDrainsInFIFOOrder() {
        var inbox = PausedInbox<String>()
        XCTAssertTrue(inbox.isEmpty)
        inbox.append("timer:election")
        inbox.append("msg:fetch")
        inbox.append("msg:append")
        XCTAssertEqual(inbox.count, 3)
        XCTAssertEqual(inbox.drain(), ["timer:election", "msg:fetch", "msg:append"])
        XCTAssertTrue(inbox.isEmpty)
        inbox.append("x")
        inbox.discardAll()
        XCTAssertEqual(inbox.drain(), [])
    }
}
