import LoadCore
import SimCore
import Stats
import XCTest

final class OpenLoopRecorderTests: XCTestCase {
    let ms = Nanos.millisecond
    let s = Nanos.second

    /// wrk2's example: requests every 1 ms that take 1 ms, and a 1 s stall of the server from
    /// 500 ms. A closed-loop client sends nothing during the stall; the requests it should have
    /// sent go out when the stall ends. Corrected latency shows the stall; uncorrected hides it.
    func testStallInflatesCorrectedLatencyOnly() {
        var r = OpenLoopRecorder()
        for i in Int64(0)..<2000 {
            let intended = i * ms
            let sent = (500..<1500).contains(i) ? 1500 * ms : intended
            r.record(intended: intended, sent: sent, completed: sent + ms)
        }
        XCTAssertEqual(r.completed, 2000)
        XCTAssertEqual(r.uncorrected.max, Double(ms))
        XCTAssertLessThanOrEqual(r.uncorrected.percentile(99.9), Double(ms) * 1.001)
        XCTAssertEqual(r.corrected.max, Double(1001 * ms))
        // Half the requests waited for the stall: the median of the corrected latencies is ≥ 1 ms,
        // its p75 about 500 ms, its p99 about 990 ms.
        XCTAssertEqual(r.corrected.percentile(75), Double(501 * ms), accuracy: Double(2 * ms))
        XCTAssertGreaterThan(r.corrected.percentile(99), Double(970 * ms))
        // Sent more than 1 ms late: intended 500…1498 ms (at 1499 the lag is exactly 1 ms).
        XCTAssertEqual(r.late, 999)
        XCTAssertEqual(r.worstSendLag, 1000 * ms)
    }

    func testLateThresholdIsConfigurable() {
        var strict = OpenLoopRecorder(lateThreshold: 0)
        var lax = OpenLoopRecorder(lateThreshold: 10 * ms)
        for lag in [Int64(0), 1, 5 * ms, 20 * ms] {
            strict.record(intended: 0, sent: lag, completed: lag + ms)
            lax.record(intended: 0, sent: lag, completed: lag + ms)
        }
        XCTAssertEqual(strict.late, 3)
        XCTAssertEqual(lax.late, 1)
    }

    func testCountsErrorsDropsTimeoutsAndThroughputPerSecond() {
        var r = OpenLoopRecorder()
        r.recordError(kind: "not_leader")
        r.recordError(kind: "connection_reset")
        r.recordError(kind: "not_leader")
        r.recordDropped()
        r.recordTimeout()
        r.recordTimeout()
        for t in [100 * ms, 900 * ms, 2500 * ms] { r.record(intended: t - ms, sent: t - ms, completed: t) }
        XCTAssertEqual(r.errors, ["not_leader": 2, "connection_reset": 1])
        XCTAssertEqual(r.errorsByKind.map(\.kind), ["connection_reset", "not_leader"])
        XCTAssertEqual(r.errorCount, 3)
        XCTAssertEqual(r.dropped, 1)
        XCTAssertEqual(r.timeouts, 2)
        XCTAssertEqual(r.completionsPerSecond, [2, 0, 1])
    }

    func testLongestAckGapIsAFailoverAsClientsSeeIt() {
        var r = OpenLoopRecorder()
        // Acks every ms, none from 2 s to 2.8 s (a leader failover), a shorter 300 ms gap at 4 s.
        for t in stride(from: Int64(0), to: 6 * s, by: Int(ms)) where !(2 * s..<2800 * ms).contains(t) && !(4 * s..<4300 * ms).contains(t) {
            r.record(intended: t, sent: t, completed: t)
        }
        let gap = r.longestAckGap()
        XCTAssertEqual(gap?.start, 2 * s - ms)
        XCTAssertEqual(gap?.length, 801 * ms)
        XCTAssertEqual(r.longestAckGap(after: 2500 * ms)?.start, 2 * s - ms, "the gap the fault opened counts whole")
        XCTAssertEqual(r.longestAckGap(after: 3 * s)?.length, 301 * ms)
        XCTAssertNil(r.longestAckGap(after: 5 * s))
        XCTAssertEqual(r.ackGaps.map(\.length), [801 * ms, 301 * ms])
        XCTAssertNil(OpenLoopRecorder().longestAckGap())
    }

    func testAnAckOutOfOrderSplitsAGap() {
        var r = OpenLoopRecorder()
        r.record(intended: 0, sent: 0, completed: 0)
        r.record(intended: 0, sent: 0, completed: 1 * s)
        r.record(intended: 0, sent: 0, completed: 300 * ms)
        XCTAssertEqual(r.ackGaps.map(\.start), [0, 300 * ms])
        XCTAssertEqual(r.longestAckGap()?.length, 700 * ms)
    }

    /// Connection A acks from 0 to 3 s with a 1 s hole at 1 s that B fills; B acks from 1 s to
    /// 2 s and from 4 s. Merged, only the 3–4 s hole is a gap.
    func testMergeAddsCountsAndIntersectsGaps() {
        var a = OpenLoopRecorder(gapFloor: 50 * ms), b = OpenLoopRecorder(gapFloor: 50 * ms)
        var all: [Int64] = []
        for t in stride(from: Int64(0), to: 3 * s, by: Int(10 * ms)) where !(1 * s..<2 * s).contains(t) {
            a.record(intended: t, sent: t, completed: t + 2 * ms)
            all.append(2 * ms)
        }
        for t in stride(from: 1 * s, to: 2 * s, by: Int(10 * ms)) {
            b.record(intended: t - 5 * ms, sent: t, completed: t + 3 * ms)
            all.append(8 * ms)
        }
        for t in stride(from: 4 * s, to: 5 * s, by: Int(10 * ms)) {
            b.record(intended: t, sent: t, completed: t + 3 * ms)
            all.append(3 * ms)
        }
        a.recordError(kind: "x")
        b.recordError(kind: "x")
        b.recordDropped()
        XCTAssertEqual(a.longestAckGap()?.length, 1010 * ms)
        XCTAssertEqual(b.longestAckGap()?.length, 2010 * ms)

        let merged = OpenLoopRecorder.merged([a, b])
        XCTAssertEqual(merged.completed, a.completed + b.completed)
        XCTAssertEqual(merged.corrected.count, UInt64(all.count))
        var expected = LatencyHistogram()
        for latency in all { expected.record(latency) }
        for p in [50.0, 75, 99, 100] { XCTAssertEqual(merged.corrected.percentile(p), expected.percentile(p), "p\(p)") }
        XCTAssertEqual(merged.uncorrected.max, Double(3 * ms))
        XCTAssertEqual(merged.errors, ["x": 2])
        XCTAssertEqual(merged.dropped, 1)
        XCTAssertEqual(merged.completionsPerSecond, [100, 100, 100, 0, 100])
        // A's last ack at 2.992 s, B's next at 4.003 s; A's 1 s hole is covered by B, B's 2 s hole by A.
        XCTAssertEqual(merged.ackGaps.count, 1)
        XCTAssertEqual(merged.longestAckGap()?.start, 2992 * ms)
        XCTAssertEqual(merged.longestAckGap()?.length, 1011 * ms)
        // Order does not matter, and a connection with no acks changes nothing.
        let reversed = OpenLoopRecorder.merged([b, OpenLoopRecorder(gapFloor: 50 * ms), a])
        XCTAssertEqual(reversed.ackGaps.map(\.start), merged.ackGaps.map(\.start))
        XCTAssertEqual(reversed.ackGaps.map(\.length), merged.ackGaps.map(\.length))
        XCTAssertEqual(reversed.completionsPerSecond, merged.completionsPerSecond)
        XCTAssertEqual(reversed.corrected, merged.corrected)
    }
}
