import XCTest
@testable import NATSProtocol

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses `text` in one chunk.
func parse(_ text: String, maxPayload: Int = 1 << 20, maxControlLine: Int = 4096) throws(ProtocolError) -> [ServerOp] {
    var parser = ServerOpParser(maxPayload: maxPayload, maxControlLine: maxControlLine)
    return try parser.feed(bytes(text))
}

func assertThrows(_ expected: ProtocolError, _ text: String, maxPayload: Int = 1 << 20,
                  maxControlLine: Int = 4096, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let ops = try parse(text, maxPayload: maxPayload, maxControlLine: maxControlLine)
        XCTFail("expected \(expected), got \(ops)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// Every server op once, in one stream.
let sampleStream = """
    INFO {"server_id":"NCXYZ","server_name":"n1","version":"2.10.7","proto":1,"host":"0.0.0.0",\
    "port":4222,"headers":true,"max_payload":1048576,"client_id":7,"connect_urls":["10.0.0.1:4222"],\
    "jetstream":{"enabled":false},"xkey":null}\r
    MSG orders.new 1 5\r
    hello\r
    MSG orders.new 1 _INBOX.abc 2\r
    ok\r
    msg\tempty\t\t2 0\r
    \r
    MSG crlf 3 6\r
    a\r
    b\r
    \r
    HMSG with.headers 4 reply.to 24 29\r
    NATS/1.0\r
    A: 1\r
    B: x\r
    \r
    hello\r
    PING\r
    pong\r
    +OK\r
    -ERR 'Unknown Protocol Operation'\r

    """

let sampleOps: [ServerOp] = [
    .info(ServerInfo(serverID: "NCXYZ", serverName: "n1", version: "2.10.7", proto: 1, host: "0.0.0.0",
                     port: 4222, maxPayload: 1_048_576, headers: true, clientID: 7,
                     connectURLs: ["10.0.0.1:4222"])),
    .msg(NATSMessage(subject: "orders.new", sid: "1", payload: bytes("hello"))),
    .msg(NATSMessage(subject: "orders.new", sid: "1", replyTo: "_INBOX.abc", payload: bytes("ok"))),
    .msg(NATSMessage(subject: "empty", sid: "2", payload: [])),
    .msg(NATSMessage(subject: "crlf", sid: "3", payload: bytes("a\r\nb\r\n"))),
    .hmsg(NATSMessage(subject: "with.headers", sid: "4", replyTo: "reply.to", payload: bytes("hello"),
                  headers: bytes("NATS/1.0\r\nA: 1\r\nB: x\r\n\r\n"))),
    .ping, .pong, .ok,
    .err("Unknown Protocol Operation"),
]

final class ServerOpParserTests: XCTestCase {
    func testWholeStreamInOneChunk() throws {
        XCTAssertEqual(try parse(sampleStream), sampleOps)
    }

    func testEverySplitPositionGivesTheSameOps() throws {
        let stream = bytes(sampleStream)
        for cut in 0...stream.count {
            var parser = ServerOpParser()
            var ops = try parser.feed(stream[..<cut])
            ops += try parser.feed(stream[cut...])
            XCTAssertEqual(ops, sampleOps, "split at \(cut)")
        }
    }

    func testByteAtATime() throws {
        var parser = ServerOpParser()
        var ops: [ServerOp] = []
        for byte in bytes(sampleStream) { ops += try parser.feed([byte]) }
        XCTAssertEqual(ops, sampleOps)
    }

    func testEveryPairOfSplitPositions() throws {
        let stream = bytes("MSG a 1 _R 4\r\nab\r\n\r\nPING\r\nHMSG b 2 12 12\r\nNATS/1.0\r\n\r\n\r\n")
        let expected: [ServerOp] = [
            .msg(NATSMessage(subject: "a", sid: "1", replyTo: "_R", payload: bytes("ab\r\n"))),
            .ping,
            .hmsg(NATSMessage(subject: "b", sid: "2", payload: [], headers: bytes("NATS/1.0\r\n\r\n"))),
        ]
        for first in 0...stream.count {
            for second in first...stream.count {
                var parser = ServerOpParser()
                var ops = try parser.feed(stream[..<first])
                ops += try parser.feed(stream[first..<second])
                ops += try parser.feed(stream[second...])
                XCTAssertEqual(ops, expected, "splits at \(first), \(second)")
            }
        }
    }

    func testMessageWithoutAndWithReply() throws {
        XCTAssertEqual(try parse("MSG foo.bar 9 11\r\nHello World\r\n"),
                       [.msg(NATSMessage(subject: "foo.bar", sid: "9", payload: bytes("Hello World")))])
        XCTAssertEqual(try parse("MSG foo.bar 9 GREETING.34 11\r\nHello World\r\n"),
                       [.msg(NATSMessage(subject: "foo.bar", sid: "9", replyTo: "GREETING.34",
                                     payload: bytes("Hello World")))])
    }

    func testZeroLengthPayload() throws {
        XCTAssertEqual(try parse("MSG a 1 0\r\n\r\n"), [.msg(NATSMessage(subject: "a", sid: "1", payload: []))])
    }

    func testPayloadContainingCRLF() throws {
        XCTAssertEqual(try parse("MSG a 1 4\r\n\r\n\r\n\r\n"),
                       [.msg(NATSMessage(subject: "a", sid: "1", payload: bytes("\r\n\r\n")))])
    }

    func testTabsAndRunsOfSeparators() throws {
        XCTAssertEqual(try parse("MSG\ta \t 1\t\tr  3\r\nabc\r\n"),
                       [.msg(NATSMessage(subject: "a", sid: "1", replyTo: "r", payload: bytes("abc")))])
    }

    func testLowerAndMixedCaseOps() throws {
        XCTAssertEqual(try parse("ping\r\nPoNg\r\n+ok\r\n-err 'x'\r\nmsg a 1 1\r\nz\r\ninfo {}\r\n"),
                       [.ping, .pong, .ok, .err("x"),
                        .msg(NATSMessage(subject: "a", sid: "1", payload: bytes("z"))), .info(ServerInfo())])
    }

    func testBareLFEndsAControlLine() throws {
        XCTAssertEqual(try parse("PING\nMSG a 1 1\nz\r\n"), [.ping, .msg(NATSMessage(subject: "a", sid: "1", payload: bytes("z")))])
    }

    func testErrWithoutQuotes() throws {
        XCTAssertEqual(try parse("-ERR Stale Connection\r\n"), [.err("Stale Connection")])
        XCTAssertEqual(try parse("-ERR\r\n"), [.err("")])
    }

    func testInfoIsTolerant() throws {
        let ops = try parse(#"INFO  {"unknown":[1,{"a":"\u00e9\ud83d\ude00"}],"max_payload":64,"headers":false,"server_id":"S\"1"}  "# + "\r\n")
        XCTAssertEqual(ops, [.info(ServerInfo(serverID: "S\"1", maxPayload: 64))])
    }

    func testInfoDefaults() throws {
        XCTAssertEqual(try parse("INFO {}\r\n"), [.info(ServerInfo())])
        XCTAssertEqual(ServerInfo().maxPayload, 1 << 20)
    }

    // MARK: errors

    func testUnknownOp() {
        assertThrows(.unknownOp("FOO"), "FOO bar\r\n")
        assertThrows(.unknownOp(""), "\r\n")
        assertThrows(.unknownOp("PINGX"), "PINGX\r\n")
    }

    func testBadMsgFieldCount() {
        assertThrows(.malformed("MSG wants 3 or 4 arguments, got 2"), "MSG a 1\r\n")
        assertThrows(.malformed("MSG wants 3 or 4 arguments, got 5"), "MSG a 1 b c 1\r\n")
        assertThrows(.malformed("HMSG wants 4 or 5 arguments, got 3"), "HMSG a 1 2\r\n")
    }

    func testNonNumericSize() {
        assertThrows(.malformed("size is not a decimal number: x1"), "MSG a 1 x1\r\n")
        assertThrows(.malformed("size is not a decimal number: -1"), "MSG a 1 -1\r\n")
        assertThrows(.malformed("HMSG header size exceeds total size"), "HMSG a 1 5 4\r\n")
    }

    func testPayloadTooLargeFailsBeforeBuffering() {
        var parser = ServerOpParser(maxPayload: 10)
        XCTAssertThrowsError(try parser.feed(bytes("MSG a 1 11\r\n"))) {
            XCTAssertEqual($0 as? ProtocolError, .payloadTooLarge(11))
        }
        assertThrows(.payloadTooLarge(Int.max), "MSG a 1 99999999999999999999999\r\n")
        assertThrows(.payloadTooLarge(11), "HMSG a 1 2 11\r\n", maxPayload: 10)
        XCTAssertEqual(try parse("MSG a 1 10\r\n0123456789\r\n", maxPayload: 10).count, 1)
    }

    func testMissingCRLFAfterPayload() {
        assertThrows(.malformed("missing CRLF after payload"), "MSG a 1 2\r\nabc\r\n")
        assertThrows(.malformed("missing CRLF after payload"), "MSG a 1 2\r\nab\n\r")
    }

    func testOverlongControlLine() throws {
        let longest = "-ERR " + String(repeating: "x", count: 11)  // 16 bytes
        XCTAssertEqual(try parse(longest + "\r\n", maxControlLine: 16).count, 1)
        assertThrows(.lineTooLong, longest + "y\r\n", maxControlLine: 16)
        // No terminator at all: fails once more than the limit is buffered.
        var parser = ServerOpParser(maxControlLine: 16)
        XCTAssertEqual(try parser.feed(bytes(longest + "\r")), [])
        var unterminated = ServerOpParser(maxControlLine: 16)
        XCTAssertEqual(try unterminated.feed(bytes(longest)), [])
        XCTAssertThrowsError(try unterminated.feed(bytes("yy"))) {
            XCTAssertEqual($0 as? ProtocolError, .lineTooLong)
        }
    }

    func testBadInfoJSON() {
        assertThrows(.malformed("bad JSON at byte 1"), "INFO {x}\r\n")
        assertThrows(.malformed("INFO is not a JSON object"), "INFO []\r\n")
        assertThrows(.malformed("JSON nested too deeply"),
                     "INFO " + String(repeating: "[", count: 100) + "\r\n")
    }

    func testStaysFailedAfterAnError() {
        var parser = ServerOpParser()
        XCTAssertThrowsError(try parser.feed(bytes("BOGUS\r\n")))
        XCTAssertTrue(parser.hasFailed)
        XCTAssertThrowsError(try parser.feed(bytes("PING\r\n"))) {
            XCTAssertEqual($0 as? ProtocolError, .unknownOp("BOGUS"))
        }
    }

    func testOpsBeforeAnErrorInTheSameChunkAreLost() {
        // The connection is closed anyway; documented so nobody relies on partial results.
        var parser = ServerOpParser()
        XCTAssertThrowsError(try parser.feed(bytes("PING\r\nBOGUS\r\n")))
    }
}

final class MessageHeadersTests: XCTestCase {
    func testParseFieldsAndStatus() throws {
        let headers = try MessageHeaders(parsing: bytes("NATS/1.0\r\nNats-Msg-Id: 42\r\nX: a: b\r\nX: c\r\n\r\n"))
        XCTAssertNil(headers.status)
        XCTAssertEqual(headers.fields.count, 3)
        XCTAssertEqual(headers["nats-msg-id"], "42")
        XCTAssertEqual(headers["X"], "a: b")
        let noResponders = try MessageHeaders(parsing: bytes("NATS/1.0 503\r\n\r\n"))
        XCTAssertEqual(noResponders.status, 503)
        let described = try MessageHeaders(parsing: bytes("NATS/1.0 408 Request Timeout\r\n\r\n"))
        XCTAssertEqual(described.statusDescription, "Request Timeout")
    }

    func testRoundTrip() throws {
        let headers = MessageHeaders(status: 404, statusDescription: "No Messages",
                                     fields: [.init(name: "A", value: "1"), .init(name: "A", value: "2")])
        XCTAssertEqual(try MessageHeaders(parsing: headers.encoded()), headers)
    }

    func testRejects() {
        XCTAssertThrowsError(try MessageHeaders(parsing: bytes("HTTP/1.1\r\n\r\n")))
        XCTAssertThrowsError(try MessageHeaders(parsing: bytes("NATS/1.0\r\nnocolon\r\n\r\n")))
        XCTAssertThrowsError(try MessageHeaders(fields: [.init(name: "a b", value: "")]).encoded())
        XCTAssertThrowsError(try MessageHeaders(fields: [.init(name: "a", value: "x\r\n")]).encoded())
    }
}
