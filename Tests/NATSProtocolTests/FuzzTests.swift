import XCTest
@testable import NATSProtocol

/// SplitMix64: deterministic, so a failure names its iteration and reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class FuzzTests: XCTestCase {
    /// Pieces that reach deep into the parser more often than uniform bytes would.
    static let pieces: [[UInt8]] = [
        "MSG ", "msg ", "HMSG ", "INFO ", "PING", "PONG", "+OK", "-ERR ", "'", "\r\n", "\r", "\n",
        " ", "\t", "a.b", "1", "0", "5", "12", "99999999999999999999", "-1", "{", "}", "[", "]",
        "\"", "\\", ":", ",", "\"k\"", "true", "null", "1e3", "\\u00", "NATS/1.0", "hello",
    ].map { Array($0.utf8) }

    /// Feeds `stream` in random chunks; only `ProtocolError` may come out (typed throws make
    /// that a compile-time fact; this checks for traps and that failure is sticky).
    func feedInChunks(_ stream: [UInt8], _ rng: inout SplitMix64, maxPayload: Int = 64,
                      maxControlLine: Int = 128) -> (ops: [ServerOp], error: ProtocolError?) {
        var parser = ServerOpParser(maxPayload: maxPayload, maxControlLine: maxControlLine)
        var ops: [ServerOp] = []
        var index = 0
        while index < stream.count {
            let end = min(stream.count, index + Int.random(in: 0...40, using: &rng))
            do {
                ops += try parser.feed(stream[index..<end])
            } catch {
                XCTAssertTrue(parser.hasFailed)
                XCTAssertThrowsError(try parser.feed(bytes("PING\r\n")))
                return (ops, error)
            }
            index = end
        }
        return (ops, nil)
    }

    func testRandomBytesAndPieces() {
        var rng = SplitMix64(state: 1)
        for _ in 0..<3000 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 0...30, using: &rng) {
                if Bool.random(using: &rng) {
                    stream += Self.pieces.randomElement(using: &rng)!
                } else {
                    stream.append(UInt8.random(in: 0...255, using: &rng))
                }
            }
            _ = feedInChunks(stream, &rng)
        }
    }

    func testTruncationsOfValidStreamsNeverFail() throws {
        let stream = bytes(sampleStream)
        var rng = SplitMix64(state: 2)
        for cut in 0...stream.count {
            let (ops, error) = feedInChunks(Array(stream[..<cut]), &rng, maxPayload: 1 << 20, maxControlLine: 4096)
            XCTAssertNil(error, "prefix of \(cut) bytes")
            XCTAssertEqual(ops, Array(sampleOps.prefix(ops.count)), "prefix of \(cut) bytes")
        }
    }

    func testMutationsOfValidStreams() {
        let stream = bytes(sampleStream)
        var rng = SplitMix64(state: 3)
        var failures = 0
        for _ in 0..<2000 {
            var mutated = stream
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let position = Int.random(in: 0..<mutated.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: mutated[position] = UInt8.random(in: 0...255, using: &rng)
                case 1: mutated.remove(at: position)
                default: mutated.insert(contentsOf: Self.pieces.randomElement(using: &rng)!, at: position)
                }
            }
            let cut = Int.random(in: 0...mutated.count, using: &rng)
            if feedInChunks(Array(mutated[..<cut]), &rng, maxPayload: 1 << 20, maxControlLine: 4096).error != nil {
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 0, "the mutations should break something")
    }

    func testRandomInfoJSON() {
        var rng = SplitMix64(state: 4)
        for _ in 0..<2000 {
            var json: [UInt8] = []
            for _ in 0..<Int.random(in: 0...20, using: &rng) {
                json += Self.pieces[Int.random(in: 21..<Self.pieces.count, using: &rng)]
            }
            _ = try? ServerInfo(json: json)
            _ = try? MessageHeaders(parsing: json)
        }
    }
}
