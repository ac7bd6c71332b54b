import ArrayClearing
import XCTest

final class ClearKeepingCapacityTests: XCTestCase {
    /// Counts live instances, so the test sees whether clearing released the elements.
    final class Counter { var live = 0 }
    final class Tracked {
        let counter: Counter
        init(_ counter: Counter) { self.counter = counter; counter.live += 1 }
        deinit { counter.live -= 1 }
    }

    enum Op {
        case write(name: String, bytes: [UInt8])
        case tracked(Tracked)
        case plain(Int)
    }

    func testEmptiesKeepsStorageAndReleasesEveryElement() {
        let counter = Counter()
        var ops: [Op] = [.tracked(Tracked(counter)), .write(name: "a", bytes: [1, 2, 3]), .plain(7), .tracked(Tracked(counter))]
        ops.reserveCapacity(64)
        let capacity = ops.capacity
        XCTAssertEqual(counter.live, 2)
        ops.clearKeepingCapacity()
        XCTAssertTrue(ops.isEmpty)
        XCTAssertEqual(ops.capacity, capacity, "the storage is kept for reuse")
        XCTAssertEqual(counter.live, 0, "every element is destroyed")
        ops.append(.plain(1))
        XCTAssertEqual(ops.count, 1)
    }

    func testLeavesOtherCopiesAlone() {
        let original = [1, 2, 3]
        var copy = original
        copy.clearKeepingCapacity()
        XCTAssertEqual(copy, [])
        XCTAssertEqual(original, [1, 2, 3], "value semantics: a shared buffer is copied, not emptied")
    }

    func testEmptyArrayStaysEmpty() {
        var empty: [String] = []
        empty.clearKeepingCapacity()
        XCTAssertTrue(empty.isEmpty)
    }
}
