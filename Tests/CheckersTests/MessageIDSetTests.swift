import Checkers
import SimCore
import XCTest

final class MessageIDSetTests: XCTestCase {
    /// Against the standard library's set, over dense and sparse sequences, a few producers and
    /// (past the scanned ones) many: inserts answer alike, membership and counts agree.
    func testAgreesWithASetOfIDs() {
        var rng = SeededGenerator(seed: 7)
        var ours = MessageIDSet()
        var reference = Set<MessageID>()
        for round in 0..<20_000 {
            let producer = round < 10_000 ? UInt32(rng.next() % 4) : UInt32(rng.next() % 40)  // past 16: the dictionary
            let sequence: UInt64
            switch rng.next() % 10 {
            case 0: sequence = (1 << 24) + rng.next() % 1_000  // beyond the bitmaps
            case 1: sequence = rng.next()                      // anywhere
            default: sequence = rng.next() % 3_000             // dense, with repeats
            }
            let id = MessageID(producer: producer, sequence: sequence)
            XCTAssertEqual(ours.insert(id), reference.insert(id).inserted, "\(id)")
        }
        XCTAssertEqual(ours.count, reference.count)
        for producer in UInt32(0)..<45 {
            for sequence in [0, 1, 63, 64, 2_999, 3_000, 1 << 24, (1 << 24) + 999] as [UInt64] {
                let id = MessageID(producer: producer, sequence: sequence)
                XCTAssertEqual(ours.contains(id), reference.contains(id), "\(id)")
            }
        }
        for id in reference { XCTAssertTrue(ours.contains(id), "\(id)") }
    }

    func testBuiltFromEntriesCountsDistinctMessages() {
        let entries = [(1, 0), (1, 1), (2, 0), (1, 0), (2, 500)].enumerated().map { offset, id in
            ObservedEntry(offset: UInt64(offset), leaderEpoch: 1, message: MessageID(producer: UInt32(id.0), sequence: UInt64(id.1)))
        }
        let set = MessageIDSet(entries)
        XCTAssertEqual(set.count, 4)
        XCTAssertTrue(set.contains(MessageID(producer: 2, sequence: 500)))
        XCTAssertFalse(set.contains(MessageID(producer: 2, sequence: 499)))
        XCTAssertFalse(set.contains(MessageID(producer: 3, sequence: 0)))
    }
}
