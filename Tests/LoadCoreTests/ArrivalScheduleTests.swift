import LoadCore
import Scenario
import SimCore
import XCTest

/// Counts and spacing of intended send times, judged against the process's expected count Λ with
/// a tolerance of 4 Poisson standard deviations (√Λ): a false alarm about once in 16 000 runs,
/// and the seeds are fixed anyway.
final class ArrivalScheduleTests: XCTestCase {
    func times(_ process: ArrivalProcess, start: Int64 = 0, stop: Int64, seed: UInt64 = 1) -> [Int64] {
        Array(ArrivalSchedule(process, start: start, stop: stop, generator: SeededGenerator(seed: seed)))
    }

    func count(_ times: [Int64], in range: Range<Int64>) -> Int { times.filter { range.contains($0) }.count }

    func assertPoissonCount(_ observed: Int, expected: Double, _ what: String, line: UInt = #line) {
        XCTAssertEqual(Double(observed), expected, accuracy: 4 * expected.squareRoot(), what, line: line)
    }

    /// Variance / mean of counts in equal windows: 1 for Poisson, 0 for evenly spaced sends.
    func dispersion(_ times: [Int64], from: Int64, window: Int64, windows: Int) -> Double {
        let counts = (0..<windows).map { Double(count(times, in: from + Int64($0) * window ..< from + Int64($0 + 1) * window)) }
        let mean = counts.reduce(0, +) / Double(windows)
        let variance = counts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(windows - 1)
        return variance / mean
    }

    func testConstantSendsAtExactIntervalsUntilStop() {
        let t = times(.constant(perSecond: 1000), start: 2 * Nanos.second, stop: 3 * Nanos.second)
        XCTAssertEqual(t.count, 999)
        XCTAssertEqual(t.first, 2 * Nanos.second + Nanos.millisecond)
        XCTAssertTrue(zip(t, t.dropFirst()).allSatisfy { $1 - $0 == Nanos.millisecond })
        XCTAssertLessThan(t.last!, 3 * Nanos.second)
    }

    func testPoissonRateAndDispersion() {
        let t = times(.poisson(perSecond: 2000), stop: 20 * Nanos.second)
        assertPoissonCount(t.count, expected: 40_000, "20 s at 2000/s")
        XCTAssertTrue(zip(t, t.dropFirst()).allSatisfy { $1 > $0 })
        // 200 windows of 100 ms: the index of dispersion of a Poisson count has sd ≈ √(2/199) ≈ 0.1.
        XCTAssertEqual(dispersion(t, from: 0, window: 100 * Nanos.millisecond, windows: 200), 1, accuracy: 0.4)
    }

    func testRampFollowsTheRateEarlyAndLateAndStaysAtTheTop() {
        let ramp = ArrivalProcess.ramp(fromPerSecond: 100, toPerSecond: 5000, over: 10 * Nanos.second)
        let start = 3 * Nanos.second
        let t = times(ramp, start: start, stop: start + 15 * Nanos.second, seed: 7)
        XCTAssertGreaterThan(t.first!, start)
        func expected(_ a: Int64, _ b: Int64) -> Double { ramp.expectedArrivals(by: b) - ramp.expectedArrivals(by: a) }
        let s = Nanos.second
        // Early: 0–2 s after start, Λ = (100 + 1080) / 2 · 2 = 1180; a constant 2550/s would give 5100.
        let early = count(t, in: start ..< start + 2 * s)
        assertPoissonCount(early, expected: expected(0, 2 * s), "early window")
        let middle = count(t, in: start + 4 * s ..< start + 6 * s)
        assertPoissonCount(middle, expected: expected(4 * s, 6 * s), "middle window")
        let late = count(t, in: start + 8 * s ..< start + 10 * s)
        assertPoissonCount(late, expected: expected(8 * s, 10 * s), "late window")
        let plateau = count(t, in: start + 10 * s ..< start + 15 * s)
        assertPoissonCount(plateau, expected: 25_000, "after the ramp")
        XCTAssertEqual(count(t, in: 0 ..< start), 0)
        // Still Poisson on the plateau (not evenly spaced).
        XCTAssertEqual(dispersion(t, from: start + 10 * s, window: 100 * Nanos.millisecond, windows: 50), 1, accuracy: 0.6)
    }

    func testRampFromZeroAndFallingRamp() {
        let s = Nanos.second
        let up = ArrivalProcess.ramp(fromPerSecond: 0, toPerSecond: 4000, over: 4 * s)
        let u = times(up, stop: 4 * s, seed: 3)
        assertPoissonCount(count(u, in: 0 ..< s), expected: 500, "first second from 0/s")       // ∫₀¹ 1000t dt
        assertPoissonCount(count(u, in: 3 * s ..< 4 * s), expected: 3500, "last second to 4000/s")

        let down = ArrivalProcess.ramp(fromPerSecond: 4000, toPerSecond: 100, over: 4 * s)
        let d = times(down, stop: 6 * s, seed: 3)
        assertPoissonCount(count(d, in: 0 ..< s), expected: down.expectedArrivals(by: s), "first second falling")
        assertPoissonCount(count(d, in: 4 * s ..< 6 * s), expected: 200, "after falling")
    }

    func testInterarrivalDistribution() {
        let t = times(.interarrival(.uniform(low: 1e6, high: 3e6)), stop: 10 * Nanos.second)
        XCTAssertEqual(Double(t.count), 5000, accuracy: 100)
        XCTAssertTrue(zip(t, t.dropFirst()).allSatisfy { $1 - $0 >= Nanos.millisecond && $1 - $0 <= 3 * Nanos.millisecond })
    }

    func testSameSeedSameTimesOtherSeedOtherTimes() {
        let ramp = ArrivalProcess.ramp(fromPerSecond: 10, toPerSecond: 1000, over: Nanos.second)
        for process in [ArrivalProcess.poisson(perSecond: 500), ramp] {
            XCTAssertEqual(times(process, stop: 2 * Nanos.second, seed: 9), times(process, stop: 2 * Nanos.second, seed: 9))
            XCTAssertNotEqual(times(process, stop: 2 * Nanos.second, seed: 9), times(process, stop: 2 * Nanos.second, seed: 10))
        }
    }

    /// The schedule steps the shared arrival function exactly as the simulator does: first one
    /// gap after `start`, then a gap after each arrival with `elapsed` measured from `start`.
    func testStepsTheSharedArrivalFunction() {
        let ramp = ArrivalProcess.ramp(fromPerSecond: 50, toPerSecond: 800, over: Nanos.second)
        let start: Int64 = 500 * Nanos.millisecond
        var rng = SeededGenerator(seed: 5).stream("workload.0")
        var expected: [Int64] = []
        var now = start + ramp.interarrival(elapsed: 0, &rng)
        while now < 2 * Nanos.second {
            expected.append(now)
            now += ramp.interarrival(elapsed: now - start, &rng)
        }
        var schedule = ArrivalSchedule(ramp, start: start, stop: 2 * Nanos.second,
                                       generator: SeededGenerator(seed: 5).stream("workload.0"))
        var got: [Int64] = []
        while let t = schedule.next() { got.append(t) }
        XCTAssertEqual(got, expected)
        XCTAssertNil(schedule.next())
        XCTAssertNil(schedule.next())
    }
}
