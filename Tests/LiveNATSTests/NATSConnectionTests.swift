import Foundation
import NATSProtocol
import NIOCore
import XCTest
import LiveNATS

/// Against a real single-node nats-server.
final class NATSConnectionTests: XCTestCase {
    func testPublishSubscribeRoundTrip() async throws {
        try await withCluster { cluster in
            let subscriber = try await connect(cluster, name: "sub")
            let publisher = try await connect(cluster, name: "pub")
            let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self)
            let sid = try await subscriber.subscribe(subject: "greet.*") { continuation.yield($0) }

            try publisher.publish(subject: "greet.joe", payload: Array("hello".utf8))
            let headers = MessageHeaders(fields: [.init(name: "X-Trace", value: "abc")])
            try publisher.publish(subject: "greet.ann", reply: "answers", headers: headers, payload: Array("hi".utf8))
            try publisher.publish(subject: "other", payload: [1])

            let received = try await first(2, of: stream)
            XCTAssertEqual(received[0].subject, "greet.joe")
            XCTAssertEqual(received[0].payload, Array("hello".utf8))
            XCTAssertNil(received[0].headers)
            XCTAssertEqual(received[1].subject, "greet.ann")
            XCTAssertEqual(received[1].replyTo, "answers")
            XCTAssertEqual(try MessageHeaders(parsing: XCTUnwrap(received[1].headers))["x-trace"], "abc")

            subscriber.unsubscribe(sid: sid)
            try await subscriber.flush()
            try publisher.publish(subject: "greet.late", payload: [])
            try await publisher.flush()
            try await subscriber.flush()
            continuation.finish()
            let rest = await stream.reduce(into: 0) { count, _ in count += 1 }
            XCTAssertEqual(rest, 0, "nothing after unsubscribe")

            try await subscriber.close()
            try await publisher.close()
            XCTAssertThrowsError(try publisher.publish(subject: "x", payload: [])) {
                XCTAssertEqual($0 as? NATSError, .connectionClosed)
            }
        }
    }

    func testRequestReplyOnOneMultiplexedInbox() async throws {
        try await withCluster { cluster in
            let responder = try await connect(cluster, name: "responder")
            let requester = try await connect(cluster, name: "requester")
            // The callback form, on the loop, as a broker node would use it.
            try await responder.eventLoop.submit {
                _ = try responder.subscribe(subject: "echo") { message in
                    try? responder.publish(subject: message.replyTo!, payload: message.payload.reversed())
                }
                _ = try responder.subscribe(subject: "blackhole") { _ in }
            }.get()
            try await responder.flush()

            let answers = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { tasks in
                for i in 0..<200 {
                    tasks.addTask {
                        let reply = try await requester.request(subject: "echo", payload: [UInt8(i % 256), 7])
                        return (i, reply.payload)
                    }
                }
                return try await tasks.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            XCTAssertEqual(answers.count, 200)
            for (i, payload) in answers { XCTAssertEqual(payload, [7, UInt8(i % 256)]) }

            do {
                _ = try await requester.request(subject: "nobody.home", payload: [])
                XCTFail("expected no responders")
            } catch {
                XCTAssertEqual(error as? NATSError, .noResponders(subject: "nobody.home"))
            }
            let start = ContinuousClock.now
            do {
                _ = try await requester.request(subject: "blackhole", payload: [], timeout: .milliseconds(200))
                XCTFail("expected a timeout")
            } catch {
                XCTAssertEqual(error as? NATSError, .timeout)
            }
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
            // Still usable after a timeout.
            let again = try await requester.request(subject: "echo", payload: [1, 2])
            XCTAssertEqual(again.payload, [2, 1])
            try await requester.close()
            try await responder.close()
        }
    }

    func testManyPublishesInFlightArriveInOrder() async throws {
        try await withCluster { cluster in
            let subscriber = try await connect(cluster, name: "sub")
            let publisher = try await connect(cluster, name: "pub")
            let count = 50_000
            let done = subscriber.eventLoop.makePromise(of: Int.self)
            deadline(done, after: .seconds(15))
            let state = NIOLoopBoundBox.makeBoxSendingValue((next: 0, outOfOrder: 0), eventLoop: subscriber.eventLoop)
            try await subscriber.eventLoop.submit {
                _ = try subscriber.subscribe(subject: "seq") { message in
                    if uint64(message.payload) != UInt64(state.value.next) { state.value.outOfOrder += 1 }
                    state.value.next += 1
                    if state.value.next == count { done.succeed(state.value.outOfOrder) }
                }
            }.get()
            try await subscriber.flush()

            // All from one event-loop task: nothing awaits between publishes.
            let failures = try await publisher.eventLoop.submit {
                var failures = 0
                for i in 0..<count {
                    do { try publisher.publish(subject: "seq", payload: bytes(UInt64(i))) } catch { failures += 1 }
                }
                return failures
            }.get()
            XCTAssertEqual(failures, 0)
            let outOfOrder = try await done.futureResult.get()
            XCTAssertEqual(outOfOrder, 0)
            try await publisher.close()
            try await subscriber.close()
        }
    }

    func testConnectionRefusedIsAnError() async throws {
        let port = try NATSServerCluster.freePorts(1)[0]
        do {
            _ = try await NATSConnection.connect(host: "127.0.0.1", port: port, name: "nobody", group: group)
            XCTFail("connect to a closed port succeeded")
        } catch let error as NATSError {
            guard case .connectionFailed(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("\(port)"), reason)
        }
    }

    func testServerErrorsAreErrorsNotCrashes() async throws {
        let config = "authorization { token: \"s3cret\" }\nmax_payload: 4096"
        try await withCluster(extraConfig: config) { cluster in
            let port = cluster.nodes[0].clientPort
            do {
                _ = try await NATSConnection.connect(host: "127.0.0.1", port: port, name: "no-token", group: group)
                XCTFail("connected without the token")
            } catch {
                XCTAssertEqual(error as? NATSError, .serverError("Authorization Violation"))
            }

            var options = NATSConnection.defaultOptions
            options.authToken = "s3cret"
            let connection = try await NATSConnection.connect(host: "127.0.0.1", port: port, options: options, group: group)
            let (errors, continuation) = AsyncStream.makeStream(of: String.self)
            try await connection.eventLoop.submit {
                connection.onServerError = { continuation.yield($0) }
                // Subject syntax is the server's to judge: it answers -ERR and keeps the connection.
                _ = try connection.subscribe(subject: "bad..subject") { _ in }
            }.get()
            let texts = try await first(1, of: errors)
            XCTAssertEqual(texts, ["Invalid Subject"])
            try await connection.flush()

            XCTAssertThrowsError(try connection.publish(subject: "has space", payload: [])) {
                guard case .invalidRequest = $0 as? NATSError else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try connection.publish(subject: "big", payload: Array(repeating: 0, count: 5000))) {
                XCTAssertEqual($0 as? NATSError, .invalidRequest(.payloadTooLarge(5000)))
            }
            try await connection.close()
        }
    }

    func testServerKilledFailsPendingRequests() async throws {
        try await withCluster { cluster in
            let connection = try await connect(cluster)
            _ = try await connection.subscribe(subject: "silent") { _ in }
            let pending = (0..<10).map { _ in
                connection.requestFuture(subject: "silent", payload: [], timeout: .seconds(30))
            }
            try await connection.flush()
            let start = ContinuousClock.now
            cluster.kill(node: 0)
            for future in pending {
                do {
                    _ = try await future.get()
                    XCTFail("request answered by a dead server")
                } catch {
                    XCTAssertEqual(error as? NATSError, .connectionClosed)
                }
            }
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(5), "failed on close, not on timeout")
            XCTAssertFalse(connection.isOpen)
            do {
                try await connection.flush()
                XCTFail("flush on a closed connection")
            } catch {
                XCTAssertEqual(error as? NATSError, .connectionClosed)
            }
        }
    }

    func testKeepaliveClosesAStalledConnection() async throws {
        try await withCluster { cluster in
            var configuration = NATSConnectionConfiguration()
            configuration.pingInterval = .milliseconds(100)
            let connection = try await connect(cluster, configuration: configuration)
            try await Task.sleep(for: .milliseconds(500))
            XCTAssertTrue(connection.isOpen, "answered keepalives keep it open")

            let pid = try XCTUnwrap(cluster.pids.first)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            let pending = connection.requestFuture(subject: "anything", payload: [], timeout: .seconds(10))
            do {
                _ = try await pending.get()
                XCTFail("answered by a stopped server")
            } catch {
                XCTAssertEqual(error as? NATSError, .staleConnection)
            }
            XCTAssertFalse(connection.isOpen)
        }
    }
}
