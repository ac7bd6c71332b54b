import LiveHTTP
import NIOCore
import NIOPosix
import XCTest

/// Responses as servers really send them — split across reads, chunked, without a body after
/// HEAD — and as broken servers do: the client frames them right, and a malformed one fails
/// its request and closes its connection instead of crashing or answering the next request.
final class ResponseFramingTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var server: RawHTTPServer?

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await server?.stop()
        try await group.shutdownGracefully()
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// `text` cut at `cuts` (offsets), one piece per write.
    private static func pieces(_ text: String, cutAt cuts: [Int]) -> [[UInt8]] {
        let all = bytes(text)
        var result: [[UInt8]] = []
        var from = 0
        for cut in cuts + [all.count] {
            result.append(Array(all[from..<cut]))
            from = cut
        }
        return result
    }

    private static let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: chunked\r\n\r\n"
        + "6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
    private static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    private static let garbage = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nok"

    private func pool(_ server: RawHTTPServer) -> HTTPConnectionPool {
        HTTPConnectionPool(host: "127.0.0.1", port: server.port, group: group, maxConnections: 1)
    }

    func testAChunkedResponseSplitAcrossReadsIsReassembled() async throws {
        // Cuts inside the status line, a header, a chunk-size line, chunk data and the trailers.
        let server = try await RawHTTPServer.start { _ in Self.pieces(Self.chunked, cutAt: [7, 40, 66, 70, 80, 95, 100]) }
        self.server = server
        let pool = pool(server)
        for _ in 0..<3 {
            let reply = try await pool.send(.get("/"), timeout: .seconds(2))
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.bodyText, "hello world")
            XCTAssertEqual(reply.body, Self.bytes("hello world"))
            XCTAssertEqual(reply.header("x-kind"), "chunked")
            XCTAssertEqual(reply.headers.map(\.0), ["Transfer-Encoding", "X-Kind"])
        }
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 1, "keep-alive: one connection for all three")
        await pool.shutdown()
    }

    func testTheResponseToHeadHasNoBodyEvenWithAContentLength() async throws {
        let server = try await RawHTTPServer.start { n in
            [Self.bytes(n == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" : Self.ok)]
        }
        self.server = server
        let pool = pool(server)
        let head = try await pool.send(HTTPRequestSpec(method: "HEAD", target: "/"), timeout: .seconds(2))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [])
        XCTAssertEqual(head.header("content-length"), "5")
        let get = try await pool.send(.get("/"), timeout: .seconds(2))
        XCTAssertEqual(get.bodyText, "ok")
        await pool.shutdown()
    }

    func testAMalformedResponseFailsItsRequestAndTheNextOneGetsANewConnection() async throws {
        let server = try await RawHTTPServer.start { n in [Self.bytes(n == 0 ? Self.garbage : Self.ok)] }
        self.server = server
        let pool = pool(server)
        await expectError(.malformedResponse) { try await pool.send(.get("/"), timeout: .seconds(2)) }
        let reply = try await pool.send(.get("/"), timeout: .seconds(2))
        XCTAssertEqual(reply.bodyText, "ok")
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 2)
        await pool.shutdown()
    }

    func testAServerClosingInTheMiddleOfAResponseFailsItAsConnectionClosed() async throws {
        let server = try await RawHTTPServer.start { _ in [Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), []] }
        self.server = server
        let pool = pool(server)
        await expectError(.connectionClosed) { try await pool.send(.get("/"), timeout: .seconds(2)) }
        await pool.shutdown()
    }

    func testABodyWithoutLengthEndsWhenTheServerCloses() async throws {
        let server = try await RawHTTPServer.start { _ in [Self.bytes("HTTP/1.1 200 OK\r\n\r\nuntil "), Self.bytes("close"), []] }
        self.server = server
        let pool = pool(server)
        let reply = try await pool.send(.get("/"), timeout: .seconds(2))
        XCTAssertEqual(reply.bodyText, "until close")
        await pool.shutdown()
    }

    func testTheLoadDriverCountsMalformedResponsesAsErrorsAndCarriesOn() async throws {
        // Every third answer is garbage; the others are split across reads or chunked. The last
        // one is good, so the run ends with no reconnection under way.
        let server = try await RawHTTPServer.start(pause: .milliseconds(1)) { n in
            switch n % 3 {
            case 0: return Self.pieces(Self.ok, cutAt: [10, 30])
            case 1: return Self.pieces(Self.chunked, cutAt: [50, 75])
            default: return [Self.bytes(Self.garbage)]
            }
        }
        self.server = server
        let load = OpenLoopHTTPLoad(host: "127.0.0.1", port: server.port, connections: 1, timeout: .seconds(2))
        let intended = (0..<31).map { Int64($0) * 20_000_000 }
        let result = try await load.run(intended: intended, start: .now() + .milliseconds(50), group: group,
                                        request: { _ in .get("/") },
                                        classify: { reply in ["ok", "hello world"].contains(reply.bodyText) ? .ok : .error("body") })
        XCTAssertEqual(result.sent, 31)
        XCTAssertEqual(result.completed, 21)
        XCTAssertEqual(result.count(outcome: "ok"), 21)
        XCTAssertEqual(result.recorder.errors, ["malformed_response": 10])
        XCTAssertEqual(result.transportErrors, 10)
        XCTAssertEqual(result.dropped + result.timeouts, 0)
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 11, "a new connection after each malformed answer")
    }
}
