import WireTesting
import XCTest
import Wire

final class WireCodecTests: XCTestCase {
    private func decodeBody(_ body: [UInt8]) throws(WireError) -> Message {
        try WireCodec.decodeFrameBody(body[...])
    }

    private func assertThrows(_ expected: WireError, _ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        do {
            let m = try decodeBody(body)
            XCTFail("decoded \(m), expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testRoundTripEveryMessage() throws {
        for m in Samples.small + Samples.large {
            let bytes = WireCodec.encode(m)
            let n = bytes[0 ..< 4].reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(n, bytes.count - 4)
            XCTAssertEqual(bytes[4], 2, "version")
            XCTAssertEqual(try WireCodec.decodeFrameBody(bytes[4...]), m)
        }
    }

    func testLayoutOfAPublishFrame() {
        let bytes = WireCodec.encode(.publish(stream: "ab", producerID: 1, sequence: 2, ack: .leader, payload: [9]))
        let body: [UInt8] = [2, 1] + str("ab") + u64(1) + u64(0) + u64(2) + [1] + u32(1) + [9]
        XCTAssertEqual(bytes, frame(body))
    }

    func testFrameTooSmall() {
        assertThrows(.frameTooSmall(0), [])
        assertThrows(.frameTooSmall(1), [1])
    }

    func testUnsupportedVersion() {
        assertThrows(.unsupportedVersion(0), [0, 8] + str("x"))
        assertThrows(.unsupportedVersion(1), [1, 8] + str("x"))  // before producer epochs
        assertThrows(.unsupportedVersion(3), [3, 8] + str("x"))
    }

    func testUnknownType() {
        assertThrows(.unknownType(0), [2, 0])
        assertThrows(.unknownType(11), [2, 11])
        assertThrows(.unknownType(255), [2, 255, 0, 0])
    }

    func testTruncated() {
        assertThrows(.truncated(field: "name"), [2, 8])
        assertThrows(.truncated(field: "name"), [2, 8, 0])
        assertThrows(.truncated(field: "name"), [2, 8, 0, 5, 0x61])
        assertThrows(.truncated(field: "producerID"), [2, 1] + str("s") + [0, 0, 0])
        assertThrows(.truncated(field: "highWatermark"), [2, 4] + str("s") + u32(0) + [0])
    }

    func testTrailingBytes() {
        assertThrows(.trailingBytes(3), [2, 8] + str("x") + [0, 0, 0])
        assertThrows(.trailingBytes(1), [2, 9, 1, 0, 7])
    }

    func testInvalidUTF8() {
        assertThrows(.invalidUTF8(field: "name"), [2, 8, 0, 2, 0xC3, 0x28])        // bad continuation
        assertThrows(.invalidUTF8(field: "name"), [2, 8, 0, 2, 0xC0, 0xAF])        // overlong '/'
        assertThrows(.invalidUTF8(field: "name"), [2, 8, 0, 3, 0xED, 0xA0, 0x80])  // surrogate
        assertThrows(.invalidUTF8(field: "name"), [2, 8, 0, 1, 0xFF])
        assertThrows(.invalidUTF8(field: "name"), [2, 8, 0, 1, 0xE6])              // cut scalar
        assertThrows(.invalidUTF8(field: "streams[]"), [2, 5] + u32(1) + [0, 1, 0x80])
    }

    func testInvalidValue() {
        let publish: [UInt8] = [2, 1] + str("s") + u64(1) + u64(0) + u64(2)
        assertThrows(.invalidValue(field: "ack"), publish + [3] + u32(0))
        assertThrows(.invalidValue(field: "ok"), [2, 9, 2, 0])
        assertThrows(.invalidValue(field: "error"), [2, 9, 1, 2])
        assertThrows(.invalidValue(field: "status"), [2, 2] + u64(0) + u64(0) + [5, 0])
        assertThrows(.invalidValue(field: "offset"), [2, 2] + u64(0) + u64(0) + [0, 9])
        assertThrows(.invalidValue(field: "leaderHint"), [2, 2] + u64(0) + u64(0) + [1, 7, 0])
    }

    /// A count or length of 0xFFFFFFFF is refused against the bytes left, before any allocation.
    func testHostileLengthsAreTruncatedNotAllocated() {
        assertThrows(.truncated(field: "streams"), [2, 5] + u32(.max))
        assertThrows(.truncated(field: "payload"), [2, 1] + str("s") + u64(1) + u64(0) + u64(2) + [0] + u32(.max))
        assertThrows(.truncated(field: "entries"), [2, 4] + str("s") + u32(.max) + u64(0) + [0])
        assertThrows(.truncated(field: "entry.payload"),
                     [2, 4] + str("s") + u32(1) + u64(0) + u64(0) + u64(0) + u64(0) + u32(.max))
        assertThrows(.truncated(field: "brokers"), [2, 6, 0] + u32(0) + u32(.max))
        let stream: [UInt8] = str("s") + [0] + u64(0) + u32(.max)
        assertThrows(.truncated(field: "stream.replicas"), [2, 6, 0] + u32(1) + stream + u32(0) + u64(0) + u32(0))
        // A count that fits the bytes left by one byte per element but not by the element minimum.
        assertThrows(.truncated(field: "entries"), [2, 4] + str("s") + u32(2) + [UInt8](repeating: 0, count: 40))
    }

    func testErrorDescriptions() {
        XCTAssertTrue(WireError.frameTooLarge(5).description.contains("5"))
        XCTAssertTrue(WireError.truncated(field: "payload").description.contains("payload"))
        XCTAssertTrue(WireError.unknownType(11).description.contains("11"))
    }
}
