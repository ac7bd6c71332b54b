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
    }

    func testEmptyQueue() {
        var queue = EventQueue<Int>()
        XCTAssertNil(queue.popNext())
        XCTAssertNil(queue.nextTime)
        queue.schedule(1, at: 5)
        XCTAssertEqual(queue.nextTime, 5)
        XCTAssertEqual(queue.scheduledCount, 1)
    }
}
