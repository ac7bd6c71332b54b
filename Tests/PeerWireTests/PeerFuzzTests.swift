import WireTesting
import XCTest
import PeerWire
import Wire

/// Hostile input never traps: it decodes or throws a `WireError` (typed throws make the latter a
/// compile-time fact). Whatever decodes re-encodes to the same bytes: the format is canonical.
final class PeerFuzzTests: XCTestCase {
    private func checkBody(_ body: ArraySlice<UInt8>) {
        if let m = try? PeerCodec.decodeFrameBody(body) {
            XCTAssertEqual(PeerCodec.encode(m), frame(Array(body)))
        }
    }

    private func feedAll(_ bytes: [UInt8], limits: WireLimits = .init()) {
        var decoder = PeerFrameDecoder(limits: limits)
        do {
            let messages = try decoder.feed(bytes)
            let consumed = messages.flatMap(PeerCodec.encode)
            XCTAssertEqual(consumed.count + decoder.bufferedBytes, bytes.count)
            XCTAssertEqual(consumed[...], bytes[..<consumed.count])
        } catch {
            XCTAssertNotNil(decoder.failure)
            XCTAssertEqual(decoder.bufferedBytes, 0)
        }
    }

    func testRandomByteStrings() {
        var rng = XorShift(seed: 0xFA17_11E)
        for i in 0 ..< 4000 {
            let bytes = rng.bytes(rng.below(128))
            feedAll(bytes, limits: WireLimits(maxFrameSize: 96))
            // Bodies with a valid version, type and sub-tag reach the field parsers.
            var body = bytes
            if body.count >= 3 { body[0] = 1; body[1] = UInt8(1 + i % 3); body[2] = UInt8(i % 8) }
            checkBody(body[...])
            feedAll(frame(body))
        }
    }

    func testEveryTruncationOfValidFrames() {
        for m in Samples.all {
            let bytes = PeerCodec.encode(m)
            for n in 0 ..< bytes.count {
                // Cut inside the body: a shorter frame claiming to be complete must fail.
                let cut = Array(bytes[4 ..< max(4, n)])
                XCTAssertThrowsError(try PeerCodec.decodeFrameBody(cut[...]), "\(m) cut at \(n)")
                feedAll(frame(cut))
                // Cut in the stream: the decoder waits for more.
                var decoder = PeerFrameDecoder()
                XCTAssertEqual(try decoder.feed(bytes[..<n]), [])
                XCTAssertEqual(decoder.bufferedBytes, n)
            }
        }
    }

    func testEveryBitFlipOfValidFrames() {
        for m in Samples.all {
            let bytes = PeerCodec.encode(m)
            for i in 4 ..< bytes.count {
                for bit in 0 ..< 8 {
                    var body = Array(bytes[4...])
                    body[i - 4] ^= 1 << bit
                    checkBody(body[...])
                }
            }
            // Flips in the length prefix go through the framer.
            for bit in 0 ..< 32 {
                var flipped = bytes
                flipped[bit / 8] ^= 1 << (bit % 8)
                feedAll(flipped, limits: WireLimits(maxFrameSize: 1 << 16))
            }
        }
    }
}
