import WireTesting
import XCTest
import PeerWire
import Wire

final class PeerFrameDecoderTests: XCTestCase {
    func testWholeStreamInOneChunk() throws {
        var decoder = PeerFrameDecoder()
        XCTAssertEqual(try decoder.feed(Samples.stream), Samples.all)
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testEverySplitPointGivesTheSameMessages() throws {
        let stream = Samples.stream
        for split in 0 ... stream.count {
            var decoder = PeerFrameDecoder()
            var got = try decoder.feed(stream[..<split])
            got += try decoder.feed(stream[split...])
            XCTAssertEqual(got, Samples.all, "split at \(split)")
            XCTAssertEqual(decoder.bufferedBytes, 0)
        }
    }

    func testByteAtATimeAndRandomChunks() throws {
        let stream = Samples.stream
        var decoder = PeerFrameDecoder()
        var got: [PeerMessage] = []
        for b in stream { got += try decoder.feed(CollectionOfOne(b)) }
        XCTAssertEqual(got, Samples.all)

        var rng = XorShift(seed: 11)
        for _ in 0 ..< 30 {
            var decoder = PeerFrameDecoder()
            var got: [PeerMessage] = []
            var i = 0
            while i < stream.count {
                let n = min(1 + rng.below(300), stream.count - i)
                got += try decoder.feed(Array(stream[i ..< i + n]))
                XCTAssertLessThanOrEqual(decoder.bufferedBytes, 4 + decoder.limits.maxFrameSize)
                i += n
            }
            XCTAssertEqual(got, Samples.all)
        }
    }

    func testOversizedPrefixFailsBeforeBuffering() {
        var decoder = PeerFrameDecoder(limits: WireLimits(maxFrameSize: 64))
        XCTAssertThrowsError(try decoder.feed([0xFF, 0xFF, 0xFF, 0xFF, 1, 2])) {
            XCTAssertEqual($0 as? WireError, .frameTooLarge(0xFFFF_FFFF))
        }
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testFailureIsSticky() {
        var decoder = PeerFrameDecoder()
        XCTAssertThrowsError(try decoder.feed(frame([PeerCodec.frameVersion, 42])))
        XCTAssertEqual(decoder.failure, .unknownType(42))
        // Even a valid frame is refused afterwards: the connection must be closed.
        XCTAssertThrowsError(try decoder.feed(PeerCodec.encode(Samples.hellos[0]))) {
            XCTAssertEqual($0 as? WireError, .unknownType(42))
        }
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testClientFramesAreNotPeerFrames() {
        // Same layout, own type table: a client publish (type 1) is not a hello.
        let publish = WireCodec.encode(.publish(stream: "s", producerID: 1, sequence: 1, ack: .all, payload: [1]))
        var decoder = PeerFrameDecoder()
        XCTAssertThrowsError(try decoder.feed(publish))
    }
}
