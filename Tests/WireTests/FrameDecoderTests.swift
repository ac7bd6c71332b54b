import WireTesting
import XCTest
import Wire

final class FrameDecoderTests: XCTestCase {
    func testWholeStreamInOneChunk() throws {
        var decoder = FrameDecoder()
        XCTAssertEqual(try decoder.feed(Samples.smallStream), Samples.small)
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testEverySplitPointGivesTheSameMessages() throws {
        let stream = Samples.smallStream
        for split in 0 ... stream.count {
            var decoder = FrameDecoder()
            var got = try decoder.feed(stream[..<split])
            got += try decoder.feed(stream[split...])
            XCTAssertEqual(got, Samples.small, "split at \(split)")
            XCTAssertEqual(decoder.bufferedBytes, 0)
        }
    }

    func testByteAtATimeAndRandomChunks() throws {
        let stream = Samples.smallStream
        var decoder = FrameDecoder()
        var got: [Message] = []
        for b in stream { got += try decoder.feed(CollectionOfOne(b)) }
        XCTAssertEqual(got, Samples.small)

        var rng = XorShift(seed: 7)
        for _ in 0 ..< 50 {
            var decoder = FrameDecoder()
            var got: [Message] = []
            var i = 0
            while i < stream.count {
                let n = min(1 + rng.below(200), stream.count - i)
                got += try decoder.feed(stream[i ..< i + n])
                i += n
            }
            XCTAssertEqual(got, Samples.small)
        }
    }

    func testLargeMessagesAcrossChunks() throws {
        let stream = Samples.large.flatMap(WireCodec.encode)
        var decoder = FrameDecoder()
        var got: [Message] = []
        var i = 0
        while i < stream.count {
            let n = min(4093, stream.count - i)
            got += try decoder.feed(stream[i ..< i + n])
            XCTAssertLessThanOrEqual(decoder.bufferedBytes, 4 + decoder.limits.maxFrameSize)
            i += n
        }
        XCTAssertEqual(got, Samples.large)
    }

    func testOversizedLengthRejectedBeforeBuffering() {
        var decoder = FrameDecoder()
        XCTAssertThrowsError(try decoder.feed(u32(1 << 20 + 1))) { XCTAssertEqual($0 as? WireError, .frameTooLarge(1 << 20 + 1)) }
        XCTAssertEqual(decoder.bufferedBytes, 0)

        var hostile = FrameDecoder()
        XCTAssertThrowsError(try hostile.feed(u32(.max) + [UInt8](repeating: 1, count: 1000))) {
            XCTAssertEqual($0 as? WireError, .frameTooLarge(Int(UInt32.max)))
        }
        XCTAssertEqual(hostile.bufferedBytes, 0)
    }

    func testConfiguredLimitIsInclusive() throws {
        let limits = WireLimits(maxFrameSize: 2 + 2 + 10)
        var decoder = FrameDecoder(limits: limits)
        let fits = WireCodec.encode(.deleteStream(name: String(repeating: "a", count: 10)))
        XCTAssertEqual(try decoder.feed(fits), [.deleteStream(name: String(repeating: "a", count: 10))])
        let tooBig = WireCodec.encode(.deleteStream(name: String(repeating: "a", count: 11)))
        XCTAssertThrowsError(try decoder.feed(tooBig)) { XCTAssertEqual($0 as? WireError, .frameTooLarge(15)) }
    }

    func testFrameTooSmallPrefix() {
        for n: UInt32 in [0, 1] {
            var decoder = FrameDecoder()
            XCTAssertThrowsError(try decoder.feed(u32(n) + [1])) { XCTAssertEqual($0 as? WireError, .frameTooSmall(Int(n))) }
        }
    }

    func testDecoderStaysFailed() throws {
        var decoder = FrameDecoder()
        let good = WireCodec.encode(.deleteStream(name: "a"))
        XCTAssertEqual(try decoder.feed(good), [.deleteStream(name: "a")])
        XCTAssertThrowsError(try decoder.feed(frame([2, 99]) + good)) { XCTAssertEqual($0 as? WireError, .unknownType(99)) }
        XCTAssertEqual(decoder.failure, .unknownType(99))
        XCTAssertThrowsError(try decoder.feed(good)) { XCTAssertEqual($0 as? WireError, .unknownType(99)) }
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testPartialFrameIsBuffered() throws {
        var decoder = FrameDecoder()
        let bytes = WireCodec.encode(.error(code: 3, message: "nope"))
        XCTAssertEqual(try decoder.feed(bytes.dropLast()), [])
        XCTAssertEqual(decoder.bufferedBytes, bytes.count - 1)
        XCTAssertEqual(try decoder.feed(bytes.suffix(1)), [.error(code: 3, message: "nope")])
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }
}
