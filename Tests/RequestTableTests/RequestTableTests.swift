import RequestTable
import XCTest

final class RequestTableTests: XCTestCase {
    /// Random inserts, updates, lookups and removals agree with a Dictionary at every step,
    /// through growth and through removals in the middle of probe runs (keys chosen from a
    /// small range, so runs collide and wrap around the table's end).
    func testAgreesWithADictionaryUnderRandomOperations() {
        var table = RequestTable<String>()
        var reference: [UInt64: String] = [:]
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        for step in 0..<200_000 {
            let range: UInt64 = step < 100_000 ? 64 : 5_000
            let key = next() % range
            switch next() % 4 {
            case 0, 1:
                table[key] = "v\(step)"
                reference[key] = "v\(step)"
            case 2:
                table[key] = nil
                reference[key] = nil
            default:
                XCTAssertEqual(table[key], reference[key])
            }
            XCTAssertEqual(table.count, reference.count)
        }
        for key in 0..<UInt64(5_000) { XCTAssertEqual(table[key], reference[key], "key \(key)") }
        XCTAssertGreaterThan(reference.count, 1_000)
    }

    func testKeyZeroAndLargeKeys() {
        var table = RequestTable<Int>()
        XCTAssertTrue(table.isEmpty)
        let keys: [UInt64] = [0, 1, UInt64.max - 1, 1 << 63, 0x9E37_79B9_7F4A_7C15]
        for (i, key) in keys.enumerated() { table[key] = i }
        for (i, key) in keys.enumerated() { XCTAssertEqual(table[key], i) }
        table[0] = nil
        XCTAssertNil(table[0])
        XCTAssertEqual(table[1], 1)
        XCTAssertEqual(table.count, keys.count - 1)
        table[1] = 42
        XCTAssertEqual(table[1], 42)
        XCTAssertEqual(table.count, keys.count - 1)
        // Removing what is absent changes nothing.
        table[7] = nil
        XCTAssertEqual(table.count, keys.count - 1)
    }

    /// Removed values are released (the table does not keep them alive).
    func testRemovedValuesAreReleased() {
        final class Box {}
        weak var weakBox: Box?
        var table = RequestTable<Box>()
        do {
            let box = Box()
            weakBox = box
            table[3] = box
            for key in UInt64(10)..<UInt64(40) { table[key] = Box() }
        }
        XCTAssertNotNil(weakBox)
        table[3] = nil
        XCTAssertNil(weakBox)
    }
}
