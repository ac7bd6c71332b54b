import XCTest
@testable import NATSProtocol

let info = ServerInfo(serverID: "S", version: "2.10.7", proto: 1, maxPayload: 16, headers: true)

func msg(_ sid: String, _ text: String = "x", subject: String = "s") -> ServerOp {
    .msg(NATSMessage(subject: subject, sid: sid, payload: bytes(text)))
}

/// A session that has finished its handshake.
func readySession(_ options: ConnectOptions = ConnectOptions()) -> ClientSession {
    var session = ClientSession(options: options)
    _ = session.received(.info(info))
    _ = session.received(.pong)
    return session
}

final class ClientSessionTests: XCTestCase {
    func testHandshake() {
        let options = ConnectOptions(name: "leader")
        var session = ClientSession(options: options)
        XCTAssertFalse(session.isReady)
        XCTAssertEqual(session.phase, .awaitingInfo)

        let (send, events) = session.received(.info(info))
        XCTAssertEqual(send, [.connect(options), .ping])
        XCTAssertEqual(events, [])
        XCTAssertEqual(session.phase, .awaitingPong)

        let ready = session.received(.pong)
        XCTAssertEqual(ready.send, [])
        XCTAssertEqual(ready.events, [.ready(info)])
        XCTAssertTrue(session.isReady)

        // A later INFO (cluster update) changes what we know, nothing else.
        var update = info
        update.lameDuckMode = true
        XCTAssertEqual(session.received(.info(update)).send, [])
        XCTAssertEqual(session.serverInfo, update)
        XCTAssertTrue(session.isReady)
    }

    func testOpsRequestedBeforeInfoFollowConnect() throws {
        var session = ClientSession(options: ConnectOptions())
        let (sid, send) = try session.subscribe("orders", queue: nil)
        XCTAssertEqual(send, [])
        XCTAssertEqual(try session.publish("p", payload: bytes("hi")), [])
        XCTAssertEqual(session.received(.info(info)).send,
                       [.connect(ConnectOptions()), .sub(subject: "orders", queue: nil, sid: sid),
                        .pub(subject: "p", replyTo: nil, payload: bytes("hi")), .ping])
        // After CONNECT, ops go straight out even before the PONG.
        XCTAssertEqual(try session.subscribe("more", queue: "q").send, [.sub(subject: "more", queue: "q", sid: "2")])
    }

    func testServerPingIsAnsweredInEveryPhase() {
        var session = ClientSession(options: ConnectOptions())
        XCTAssertEqual(session.received(.ping).send, [.pong])
        session = readySession()
        XCTAssertEqual(session.received(.ping).send, [.pong])
        XCTAssertEqual(session.received(.ok).send, [])
    }

    func testKeepalivePings() {
        var session = ClientSession(options: ConnectOptions())
        XCTAssertEqual(session.ping(), [])
        session = readySession()
        XCTAssertEqual(session.ping(), [.ping])
        XCTAssertEqual(session.ping(), [.ping])
        XCTAssertEqual(session.pingsOutstanding, 2)
        _ = session.received(.pong)
        XCTAssertEqual(session.pingsOutstanding, 1)
    }

    func testSidAllocation() throws {
        var session = readySession()
        let a = try session.subscribe("a", queue: nil)
        let b = try session.subscribe("b", queue: "workers")
        XCTAssertEqual(a.sid, "1")
        XCTAssertEqual(a.send, [.sub(subject: "a", queue: nil, sid: "1")])
        XCTAssertEqual(b.sid, "2")
        XCTAssertEqual(b.send, [.sub(subject: "b", queue: "workers", sid: "2")])
        _ = session.unsubscribe(sid: "1")
        XCTAssertEqual(try session.subscribe("c", queue: nil).sid, "3", "sids are never reused")
    }

    func testMessagesForActiveSidsOnly() throws {
        var session = readySession()
        let sid = try session.subscribe("a", queue: nil).sid
        XCTAssertEqual(session.received(msg(sid, "1")).events, [.message(NATSMessage(subject: "s", sid: sid, payload: bytes("1")))])
        XCTAssertEqual(session.received(msg("99")).events, [], "unknown sid")
        XCTAssertEqual(session.unsubscribe(sid: sid), [.unsub(sid: sid, max: nil)])
        XCTAssertEqual(session.received(msg(sid)).events, [], "in flight across our UNSUB")
        XCTAssertEqual(session.unsubscribe(sid: sid), [], "already gone")
    }

    func testHeaderMessagesAreDeliveredToo() throws {
        var session = readySession()
        let sid = try session.subscribe("a", queue: nil).sid
        let message = NATSMessage(subject: "a", sid: sid, payload: [], headers: bytes("NATS/1.0 503\r\n\r\n"))
        XCTAssertEqual(session.received(.hmsg(message)).events, [.message(message)])
    }

    func testAutoUnsubscribeAfterMax() throws {
        var session = readySession()
        let sid = try session.subscribe("a", queue: nil).sid
        _ = session.received(msg(sid))
        XCTAssertEqual(session.unsubscribe(sid: sid, after: 3), [.unsub(sid: sid, max: 3)])
        XCTAssertEqual(session.received(msg(sid)).events.count, 1)
        XCTAssertEqual(session.received(msg(sid)).events.count, 1)
        XCTAssertNil(session.subscriptions[sid])
        XCTAssertEqual(session.received(msg(sid)).events, [], "after the third delivery")
    }

    func testAutoUnsubscribeWithMaxAlreadyReachedIsImmediate() throws {
        var session = readySession()
        let sid = try session.subscribe("a", queue: nil).sid
        _ = session.received(msg(sid))
        _ = session.received(msg(sid))
        XCTAssertEqual(session.unsubscribe(sid: sid, after: 2), [.unsub(sid: sid, max: nil)])
        XCTAssertEqual(session.received(msg(sid)).events, [])
    }

    func testServerErrorsAreSurfaced() {
        var session = ClientSession(options: ConnectOptions())
        _ = session.received(.info(info))
        let (send, events) = session.received(.err("Authorization Violation"))
        XCTAssertEqual(send, [])
        XCTAssertEqual(events, [.serverError("Authorization Violation")])
        XCTAssertFalse(session.isReady)
    }

    func testPublishChecks() throws {
        var session = readySession(ConnectOptions(headers: true))
        XCTAssertEqual(try session.publish("ack", replyTo: nil, payload: bytes("0123456789abcdef")),
                       [.pub(subject: "ack", replyTo: nil, payload: bytes("0123456789abcdef"))])
        XCTAssertThrowsError(try session.publish("ack", payload: bytes("0123456789abcdefg"))) {
            XCTAssertEqual($0 as? ProtocolError, .payloadTooLarge(17))
        }
        XCTAssertThrowsError(try session.publish("a b", payload: []))
        XCTAssertThrowsError(try session.publish("a", replyTo: "", payload: []))
        // "NATS/1.0\r\n\r\n" is 12 bytes; 12 + 5 > 16.
        XCTAssertThrowsError(try session.publish("a", payload: bytes("12345"), headers: MessageHeaders())) {
            XCTAssertEqual($0 as? ProtocolError, .payloadTooLarge(17))
        }
        XCTAssertEqual(try session.publish("a", payload: bytes("1234"), headers: MessageHeaders()).count, 1)
        var noHeaders = readySession()
        XCTAssertThrowsError(try noHeaders.publish("a", payload: [], headers: MessageHeaders()))
        XCTAssertThrowsError(try noHeaders.subscribe("a b", queue: nil))
    }

    func testReconnectResubscribesWithRemainingMax() throws {
        var session = readySession()
        let a = try session.subscribe("a", queue: "q").sid
        let b = try session.subscribe("b", queue: nil).sid
        _ = session.unsubscribe(sid: b, after: 5)
        _ = session.received(msg(b))
        _ = session.received(msg(b))
        session.connectionLost()
        XCTAssertFalse(session.isReady)
        XCTAssertEqual(try session.publish("held", payload: []), [])
        XCTAssertEqual(session.received(.info(info)).send, [
            .connect(ConnectOptions()),
            .sub(subject: "a", queue: "q", sid: a),
            .sub(subject: "b", queue: nil, sid: b), .unsub(sid: b, max: 3),
            .pub(subject: "held", replyTo: nil, payload: []),
            .ping,
        ])
        XCTAssertEqual(session.received(.pong).events, [.ready(info)])
    }

    /// The whole path a Liftbridge-style stream leader takes: bytes in, ops and events out.
    func testWireToWire() throws {
        var parser = ServerOpParser()
        var session = ClientSession(options: ConnectOptions(name: "leader"))
        var sent: [UInt8] = []
        var events: [SessionEvent] = []
        func receive(_ text: String) throws {
            for op in try parser.feed(bytes(text)) {
                let out = session.received(op)
                sent += try ClientEncoder.encode(out.send)
                events += out.events
            }
        }
        let sid = try session.subscribe("stream.orders", queue: nil).sid
        try receive(#"INFO {"server_id":"S","max_payload":1048576}"# + "\r\n")
        try receive("PONG\r\nPING\r\nMSG stream.orders \(sid) _INBOX.ack.1 3\r\nabc\r\n")
        let ack = events.compactMap { event -> NATSMessage? in
            if case .message(let m) = event { m } else { nil }
        }.first
        sent += try ClientEncoder.encode(session.publish(try XCTUnwrap(ack?.replyTo), payload: bytes("+ACK")))
        let wire = String(decoding: sent, as: UTF8.self)
        XCTAssertTrue(wire.hasPrefix("CONNECT {"))
        XCTAssertTrue(wire.hasSuffix("}\r\nSUB stream.orders 1\r\nPING\r\nPONG\r\nPUB _INBOX.ack.1 4\r\n+ACK\r\n"), wire)
        XCTAssertEqual(events.count, 2)
    }
}
