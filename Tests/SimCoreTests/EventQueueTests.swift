import SimCore
import XCTest

final class EventQueueTests: XCTestCase {
    func testPopsInTimeOrder() {
        var queue = EventQueue<Int>()
        var rng = SeededGenerator(seed: 9)
        var times: [Int64] = []
        for i in 0..<10_000 {
            let t = Int64(rng.index(below: 1_000_000))
            times.append(t)
            queue.schedule(i, at: t)
        }
        var popped: [Int64] = []
        while let event = queue.popNext() { popped.append(event.time) }
        XCTAssertEqual(popped, times.sorted())
    }

    func testSameTimeEventsComeOutInSchedulingOrder() {
        var queue = EventQueue<Int>()
        for i in 0..<1000 { queue.schedule(i, at: Int64(i % 3)) }
        var last: [Int64: Int] = [:]
        while let event = queue.popNext() {
            if let previous = last[event.time] { XCTAssertLessThan(previous, event.payload) }
            last[event.time] = event.payload
        }
        XCTAssertEqual(last.count, 3)
    }

    func testInterleavedScheduleAndPopMatchesAReferenceModel() {
        var queue = EventQueue<UInt64>()
        var reference: [(time: Int64, seq: UInt64)] = []
        var rng = SeededGenerator(seed: 1)
        var sequence: UInt64 = 0
        for _ in 0..<20_000 {
            if rng.chance(0.55) || reference.isEmpty {
                let t = Int64(rng.index(below: 500))
                queue.schedule(sequence, at: t)
                reference.append((t, sequence))
                sequence += 1
            } else {
                let expected = reference.enumerated().min { a, b in
                    (a.element.time, a.element.seq) < (b.element.time, b.element.seq)
                }!
                reference.remove(at: expected.offset)
                let got = queue.popNext()!
                XCTAssertEqual(got.time, expected.element.time)
                XCTAssertEqual(got.payload, expected.element.seq)
            }
        }
        XCTAssertEqual(queue.count, reference.count)
        XCTAssertGreaterThan(reference.count, 1_000)
        // Drained to the end: the heap shrinks through every shape of its last, partly filled level.
        for expected in reference.sorted(by: { ($0.time, $0.seq) < ($1.time, $1.seq) }) {
            let got = queue.popNext()!
            XCTAssertEqual(got.time, expected.time)
            XCTAssertEqual(got.payload, expected.seq)
        }
        XCTAssertNil(queue.popNext())
    }

    /// The heap orders by (time, sequence) packed into one signed 128-bit number: negative
    /// times, the extremes of `Int64` and ties at each of them must still come out in order.
    func testNegativeAndExtremeTimesComeOutInOrderWithTiesInSchedulingOrder() {
        var queue = EventQueue<Int>()
        let times: [Int64] = [.max, 0, -1, .min, 1, .max - 1, .min + 1, -1_000_000_007, 1 << 40, -(1 << 40)]
        var rng = SeededGenerator(seed: 5)
        var scheduled: [(time: Int64, index: Int)] = []
        for index in 0..<2_000 {
            let time = times[rng.index(below: times.count)]
            queue.schedule(index, at: time)
            scheduled.append((time, index))
        }
        let expected = scheduled.sorted { ($0.time, $0.index) < ($1.time, $1.index) }
        var popped: [(time: Int64, index: Int)] = []
        while let event = queue.popNext() { popped.append((event.time, event.payload)) }
        XCTAssertEqual(popped.count, expected.count)
        let firstWrong = zip(popped.indices, expected.indices).first { popped[$0.0] != expected[$0.1] }?.0
        XCTAssertNil(firstWrong, "first out of order: \(firstWrong.map { "\(popped[$0]) where \(expected[$0]) belongs" } ?? "")")
    }

    func testEmptyQueue() {
        var queue = EventQueue<Int>()
        XCTAssertNil(queue.popNext())
        XCTAssertNil(queue.nextTime)
        queue.schedule(1, at: 5)
        XCTAssertEqual(queue.nextTime, 5)
        XCTAssertEqual(queue.scheduledCount, 1)
    }
    /// Lanes change where events wait, never their order: a queue scheduling through lanes
    /// (fixed delays after a moving clock, some out of order on purpose) pops exactly what a
    /// queue scheduling everything in its heap pops, sequence numbers included — also past a
    /// lane's bulk compaction (thousands of events waiting in one lane).
    func testLanesPopExactlyWhatTheHeapPops() {
        var laned = EventQueue<UInt64>(), plain = EventQueue<UInt64>()
        var rng = SeededGenerator(seed: 5)
        var now: Int64 = 0
        var payload: UInt64 = 0
        var popped = 0
        for _ in 0..<60_000 {
            if rng.chance(0.6) || plain.isEmpty {
                let lane = 1 + rng.index(below: 4)
                let delay = Int64(lane) * 1_000
                // One in ten goes in at an arbitrary time: earlier than the lane's latest, it must fall back to the heap.
                let time = rng.chance(0.1) ? now + Int64(rng.index(below: 5_000)) : now + delay
                laned.schedule(payload, at: time, lane: lane)
                plain.schedule(payload, at: time)
                payload += 1
                if rng.chance(0.2) {  // an ordinary event beside them
                    let t = now + Int64(rng.index(below: 3_000))
                    laned.schedule(payload, at: t)
                    plain.schedule(payload, at: t)
                    payload += 1
                }
            } else {
                let a = laned.popNext()!, b = plain.popNext()!
                XCTAssertEqual(a.time, b.time)
                XCTAssertEqual(a.sequence, b.sequence)
                XCTAssertEqual(a.payload, b.payload)
                now = max(now, a.time)
                popped += 1
            }
            XCTAssertEqual(laned.count, plain.count)
            XCTAssertEqual(laned.nextTime, plain.nextTime)
        }
        while let b = plain.popNext() {
            let a = laned.popNext()!
            XCTAssertEqual(a.sequence, b.sequence)
            XCTAssertEqual(a.payload, b.payload)
        }
        XCTAssertNil(laned.popNext())
        XCTAssertEqual(laned.count, 0)
        XCTAssertGreaterThan(popped, 10_000)
    }

    func testALaneHoldsThousandsAndEmptiesAndRefills() {
        var queue = EventQueue<Int>()
        for i in 0..<5_000 { queue.schedule(i, at: Int64(i), lane: 3) }
        XCTAssertEqual(queue.count, 5_000)
        for i in 0..<5_000 { XCTAssertEqual(queue.popNext()?.payload, i) }
        XCTAssertNil(queue.popNext())
        // Empty again: an earlier time than the lane ever had is accepted into it.
        queue.schedule(7, at: 2, lane: 3)
        queue.schedule(8, at: 1)
        XCTAssertEqual(queue.popNext()?.payload, 8)
        XCTAssertEqual(queue.popNext()?.payload, 7)
        queue.schedule(1, at: 10, lane: 1)
        queue.removeAll()
        XCTAssertEqual(queue.count, 0)
        XCTAssertNil(queue.popNext())
    }

    /// An enum payload of several cases and field widths (as the simulator's events are)
    /// comes out exactly as it went in: the heap keeps payloads as raw words, so a wrong byte
    /// count or offset would garble a field or the case.
    enum Mixed: Equatable, Sendable {
        case small(Int32)
        case wide(request: UInt64, node: Int32, flag: UInt8)
        case triple(Int32, Int32, UInt32)
        case none
    }

    func testMultiFieldEnumPayloadsRoundTripThroughTheHeap() {
        XCTAssertLessThanOrEqual(MemoryLayout<Mixed>.size, 16)
        XCTAssertEqual(MemoryLayout<ScheduledEvent<Mixed>>.stride, 32)
        var queue = EventQueue<Mixed>()
        var rng = SeededGenerator(seed: 3)
        var expected: [Int64: Mixed] = [:]
        for i in 0..<5_000 {
            let payload: Mixed
            switch i % 4 {
            case 0: payload = .small(Int32(truncatingIfNeeded: rng.next()))
            case 1: payload = .wide(request: rng.next(), node: Int32(truncatingIfNeeded: rng.next()), flag: UInt8(truncatingIfNeeded: rng.next()))
            case 2: payload = .triple(Int32(truncatingIfNeeded: rng.next()), -Int32(i), UInt32.max - UInt32(i))
            default: payload = .none
            }
            let time = Int64(rng.index(below: 1_000_000)) * 10_000 + Int64(i)  // distinct times
            expected[time] = payload
            if i % 3 == 0 { queue.schedule(payload, at: time, lane: 1 + i % 2) } else { queue.schedule(payload, at: time) }
        }
        var seen = 0
        while let event = queue.popNext() {
            XCTAssertEqual(event.payload, expected[event.time])
            seen += 1
        }
        XCTAssertEqual(seen, expected.count)
    }
}
