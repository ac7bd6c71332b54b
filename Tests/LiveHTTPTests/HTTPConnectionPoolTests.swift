import LiveHTTP
import NIOCore
import NIOPosix
import XCTest

final class HTTPConnectionPoolTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    private var server: TestHTTPServer!

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        server = try await TestHTTPServer.start()
    }

    override func tearDown() async throws {
        try await server.stop()
        try await group.shutdownGracefully()
    }

    private func makePool(maxConnections: Int = 64, maxWaiters: Int = 10_000) -> HTTPConnectionPool {
        HTTPConnectionPool(host: "127.0.0.1", port: server.port, group: group, maxConnections: maxConnections, maxWaiters: maxWaiters)
    }

    func testSequentialRequestsReuseOneConnection() async throws {
        let pool = makePool()
        for i in 0..<200 {
            let reply = try await pool.send(.get("/hello?i=\(i)"), timeout: .seconds(2))
            XCTAssertEqual(reply.status, 200)
            XCTAssertEqual(reply.bodyText, "ok")
        }
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 1)
        let stats = try await pool.statistics()
        XCTAssertEqual(stats.opened, 1)
        XCTAssertEqual(stats.idle, 1)
        await pool.shutdown()
    }

    func testHostContentLengthAndBodyAreSent() async throws {
        let pool = makePool()
        let reply = try await pool.send(.post("/echo", body: Array("payload".utf8)), timeout: .seconds(2))
        XCTAssertEqual(reply.bodyText, "POST 127.0.0.1:\(server.port) payload")
        XCTAssertEqual(reply.header("content-length"), "\(reply.body.count)")
        XCTAssertEqual(reply.header("CONTENT-LENGTH"), reply.header("Content-Length"))
        let get = try await pool.send(.get("/echo", headers: [("Host", "example.test")]), timeout: .seconds(2))
        XCTAssertEqual(get.bodyText, "GET example.test ")
        await pool.shutdown()
    }

    func testConcurrentCallersOpenUpToMaxConnectionsAndNoMore() async throws {
        let pool = makePool(maxConnections: 4)
        // Callers on many threads at once: the pool's state must stay consistent.
        try await withThrowingTaskGroup(of: Int.self) { tasks in
            for i in 0..<40 {
                tasks.addTask { try await pool.send(.get("/slow?ms=20&i=\(i)"), timeout: .seconds(3)).status }
            }
            for try await status in tasks { XCTAssertEqual(status, 200) }
        }
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 4)
        let stats = try await pool.statistics()
        XCTAssertEqual(stats, .init(open: 4, idle: 4, connecting: 0, waiting: 0, opened: 4))
        await pool.shutdown()
    }

    func testWaitersAreServedFirstInFirstOut() async throws {
        let pool = makePool(maxConnections: 1)
        let first: EventLoopFuture<HTTPReply> = pool.send(.get("/slow?ms=100"), timeout: .seconds(3))
        var rest: [EventLoopFuture<HTTPReply>] = []
        for i in 0..<10 { rest.append(pool.send(.get("/hello?n=\(i)"), timeout: .seconds(3))) }
        _ = try await first.get()
        for future in rest { _ = try await future.get() }
        let log = try await server.requestLog()
        XCTAssertEqual(log, ["/slow?ms=100"] + (0..<10).map { "/hello?n=\($0)" })
        await pool.shutdown()
    }

    func testTimeoutFailsTheRequestClosesItsConnectionAndThePoolRecovers() async throws {
        let pool = makePool()
        let before = NIODeadline.now()
        await expectError(.timeout) { try await pool.send(.get("/slow?ms=2000"), timeout: .milliseconds(100)) }
        XCTAssertLessThan(NIODeadline.now() - before, .milliseconds(1000))
        let reply = try await pool.send(.get("/hello"), timeout: .seconds(2))
        XCTAssertEqual(reply.status, 200)
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 2, "the timed-out connection must not be reused")
        let stats = try await pool.statistics()
        XCTAssertEqual(stats.open, 1)
        await pool.shutdown()
    }

    func testRequestWaitingForAConnectionTimesOut() async throws {
        let pool = makePool(maxConnections: 1)
        let slow: EventLoopFuture<HTTPReply> = pool.send(.get("/slow?ms=500"), timeout: .seconds(3))
        await expectError(.timeout) { try await pool.send(.get("/hello"), timeout: .milliseconds(50)) }
        _ = try await slow.get()
        let stats = try await pool.statistics()
        XCTAssertEqual(stats.waiting, 0)
        XCTAssertEqual(stats.opened, 1)
        await pool.shutdown()
    }

    func testServerClosingAnIdleConnectionDoesNotFailTheNextRequest() async throws {
        let pool = makePool()
        _ = try await pool.send(.get("/hello"), timeout: .seconds(2))
        try await server.closeAllConnections()
        // No pause: the pool may reuse the connection before it sees the close, and must then
        // re-send the (idempotent) request on a new connection.
        let reply = try await pool.send(.get("/hello"), timeout: .seconds(2))
        XCTAssertEqual(reply.status, 200)
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 2)
        await pool.shutdown()
    }

    func testAnIdempotentRequestMeetingTheServersIdleCloseIsSentAgainOnce() async throws {
        let pool = makePool()
        _ = try await pool.send(.get("/hello"), timeout: .seconds(2))
        try await server.dropNextRequestOnAReusedConnection()
        let reply = try await pool.send(.get("/hello?again"), timeout: .seconds(2))
        XCTAssertEqual(reply.status, 200)
        let log = try await server.requestLog()
        XCTAssertEqual(log, ["/hello", "/hello?again", "/hello?again"])
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 2)
        // A POST may have had an effect: it is not sent again.
        try await server.dropNextRequestOnAReusedConnection()
        await expectError(.connectionClosed) { try await pool.send(.post("/echo", body: [1]), timeout: .seconds(2)) }
        await pool.shutdown()
    }

    func testRefusedConnectionFailsWithConnectFailed() async throws {
        let listener = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!
        try await listener.close()
        let pool = HTTPConnectionPool(host: "127.0.0.1", port: port, group: group)
        await expectError(.connectFailed("")) { try await pool.send(.get("/hello"), timeout: .seconds(2)) }
        await expectError(.connectFailed("")) { try await pool.send(.get("/hello"), timeout: .seconds(2)) }
        let stats = try await pool.statistics()
        XCTAssertEqual(stats, .init(open: 0, idle: 0, connecting: 0, waiting: 0, opened: 0))
        await pool.shutdown()
    }

    func testConnectionCloseResponseIsHonoured() async throws {
        let pool = makePool()
        let bye = try await pool.send(.get("/close"), timeout: .seconds(2))
        XCTAssertEqual(bye.bodyText, "bye")
        XCTAssertEqual(bye.header("connection"), "close")
        let stats = try await pool.statistics()
        XCTAssertEqual(stats.idle, 0, "a connection the server ends is not kept")
        for _ in 0..<3 { _ = try await pool.send(.get("/hello"), timeout: .seconds(2)) }
        let accepted = try await server.acceptedConnections()
        XCTAssertEqual(accepted, 2)
        await pool.shutdown()
    }

    func testRequestsBeyondMaxWaitersFailFastWithOverloaded() async throws {
        let pool = makePool(maxConnections: 1, maxWaiters: 2)
        // Open the connection first: a request waiting for it to open is a waiter too.
        _ = try await pool.send(.get("/hello"), timeout: .seconds(2))
        let busy: EventLoopFuture<HTTPReply> = pool.send(.get("/slow?ms=200"), timeout: .seconds(3))
        let waiting: [EventLoopFuture<HTTPReply>] = [pool.send(.get("/hello"), timeout: .seconds(3)), pool.send(.get("/hello"), timeout: .seconds(3))]
        let before = NIODeadline.now()
        await expectError(.overloaded) { try await pool.send(.get("/hello"), timeout: .seconds(3)) }
        XCTAssertLessThan(NIODeadline.now() - before, .milliseconds(100))
        _ = try await busy.get()
        for future in waiting {
            let reply = try await future.get()
            XCTAssertEqual(reply.status, 200)
        }
        await pool.shutdown()
    }

    func testShutdownFailsInFlightAndWaitingRequests() async throws {
        let pool = makePool(maxConnections: 1)
        let inFlight: EventLoopFuture<HTTPReply> = pool.send(.get("/slow?ms=2000"), timeout: nil)
        let waiting: EventLoopFuture<HTTPReply> = pool.send(.get("/hello"), timeout: nil)
        try await Task.sleep(nanoseconds: 50_000_000)
        await pool.shutdown()
        await expectError(.shutDown) { try await inFlight.get() }
        await expectError(.shutDown) { try await waiting.get() }
        await expectError(.shutDown) { try await pool.send(.get("/hello"), timeout: nil) }
    }

    func testStatusCodesAreReturnedNotThrown() async throws {
        let pool = makePool()
        let reply = try await pool.send(.get("/status/503"), timeout: .seconds(2))
        XCTAssertEqual(reply.status, 503)
        XCTAssertEqual(reply.bodyText, "status 503")
        await pool.shutdown()
    }
}

final class HTTPReplyTests: XCTestCase {
    func testHeaderLookupIgnoresASCIICaseOnly() {
        let reply = HTTPReply(status: 200, headers: [("Content-Type", "text/plain"), ("X-Id", "1"), ("x-id", "2")])
        XCTAssertEqual(reply.header("content-type"), "text/plain")
        XCTAssertEqual(reply.header("CONTENT-TYPE"), "text/plain")
        XCTAssertEqual(reply.header("x-id"), "1")
        XCTAssertNil(reply.header("content-typ"))
        XCTAssertNil(reply.header("content_type"))
        // '[' (0x5b) and '{' (0x7b) differ by 0x20 but are not letters.
        XCTAssertNil(HTTPReply(status: 200, headers: [("a[", "x")]).header("a{"))
    }
}
