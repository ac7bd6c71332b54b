import Foundation
import SimCore
import XCTest

final class TraceTests: XCTestCase {
    func testHashDependsOnEveryFieldAndOnOrder() {
        func digest(_ events: [(UInt64, Int64, UInt64, UInt64)]) -> UInt64 {
            var h = TraceHasher()
            for e in events { h.fold(event: e.0, time: e.1, e.2, e.3) }
            return h.digest
        }
        let base = [(1 as UInt64, 10 as Int64, 2 as UInt64, 3 as UInt64), (2, 20, 0, 0)]
        XCTAssertEqual(digest(base), digest(base))
        XCTAssertNotEqual(digest(base), digest(base.reversed()))
        XCTAssertNotEqual(digest(base), digest([(1, 11, 2, 3), (2, 20, 0, 0)]))
        XCTAssertNotEqual(digest(base), digest([(1, 10, 2, 4), (2, 20, 0, 0)]))
        XCTAssertNotEqual(digest(base), digest(Array(base.prefix(1))))
    }

    func testHexIsSixteenDigits() {
        var h = TraceHasher()
        h.fold(event: 1, time: 0)
        XCTAssertEqual(h.hex.count, 16)
    }

    func testTraceLineIsValidJSONWithEscapes() throws {
        var line = TraceLine(time: 5, sequence: 2, kind: "fault")
        line.add("node", "n\"1\\\n")
        line.add("count", 3)
        let object = try JSONSerialization.jsonObject(with: Data(line.json.utf8)) as! [String: Any]
        XCTAssertEqual(object["node"] as? String, "n\"1\\\n")
        XCTAssertEqual(object["t"] as? Int, 5)
        XCTAssertEqual(object["kind"] as? String, "fault")
    }
}
