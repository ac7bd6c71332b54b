import WireTesting
import XCTest
import Wire

/// Decoding hostile input never traps: it yields messages or throws a `WireError` (typed throws make
/// the latter a compile-time fact). Whatever decodes re-encodes to the same bytes: the format is canonical.
final class WireFuzzTests: XCTestCase {
    private func checkBody(_ body: ArraySlice<UInt8>) {
        if let m = try? WireCodec.decodeFrameBody(body) {
            XCTAssertEqual(WireCodec.encode(m), frame(Array(body)))
        }
    }

    private func feedAll(_ bytes: [UInt8], limits: WireLimits = .init()) {
        var decoder = FrameDecoder(limits: limits)
        do {
            let messages = try decoder.feed(bytes)
            let consumed = messages.flatMap(WireCodec.encode)
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
            let bytes = rng.bytes(rng.below(96))
            feedAll(bytes, limits: WireLimits(maxFrameSize: 64))
            // Bodies with a valid version and type reach the payload parsers.
            var body = bytes
            if body.count >= 2 { body[0] = 1; body[1] = UInt8(1 + i % 10) }
            checkBody(body[...])
            feedAll(frame(body))
        }
    }

    func testEveryTruncationOfValidFrames() {
        for m in Samples.small {
            let bytes = WireCodec.encode(m)
            for k in 0 ..< bytes.count {
                var decoder = FrameDecoder()
                XCTAssertEqual(try decoder.feed(bytes[..<k]), [])
                XCTAssertEqual(decoder.bufferedBytes, k)
                // A cut body with its length prefix fixed up must be refused: messages are prefix-free.
                if k >= 4 {
                    XCTAssertThrowsError(try WireCodec.decodeFrameBody(bytes[4 ..< k]), "\(m) cut at \(k)")
                    feedAll(frame(Array(bytes[4 ..< k])))
                }
            }
        }
    }

    func testEveryBitFlipOfValidFrames() {
        for m in Samples.small {
            let bytes = WireCodec.encode(m)
            for i in 0 ..< bytes.count {
                for bit in 0 ..< 8 {
                    var flipped = bytes
                    flipped[i] ^= 1 << bit
                    feedAll(flipped)
                    if i >= 4 { checkBody(flipped[4...]) }
                }
            }
        }
    }
}
