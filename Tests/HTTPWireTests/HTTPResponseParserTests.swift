import HTTPWire
import XCTest

final class HTTPResponseParserTests: XCTestCase {
    /// What a parsed response amounts to, with its parts copied out of the bytes.
    private struct Parsed: Equatable {
        var status: Int
        var headers: [String]
        var body: String
        var keepAlive: Bool
        var length: Int
    }

    private func parsed(_ response: HTTPResponseParser.Response, in bytes: [UInt8]) -> Parsed {
        bytes.withUnsafeBytes { raw in
            var headers: [String] = []
            HTTPHeaderLines.forEach(raw, in: response.headers) { name, value in
                headers.append(String(decoding: bytes[name], as: UTF8.self) + "=" + String(decoding: bytes[value], as: UTF8.self))
                return true
            }
            let body: [UInt8]
            switch response.body {
            case .contiguous(let range): body = Array(bytes[range])
            case .chunks(let chunks): body = chunks.flatMap { bytes[$0] }
            }
            return Parsed(status: response.status, headers: headers, body: String(decoding: body, as: UTF8.self),
                          keepAlive: response.keepAlive, length: response.length)
        }
    }

    private func step(_ parser: inout HTTPResponseParser, _ bytes: [UInt8], head: Bool = false) -> HTTPResponseParser.Step {
        bytes.withUnsafeBytes { parser.parse($0, headRequest: head) }
    }

    /// Feeds `text` as a read of `1...` bytes at a time would deliver it (the caller keeps the
    /// bytes of an unfinished response and parses all of them again), expecting `.needMore`
    /// until the last byte: the response must not be taken early or lost at any split.
    private func parseAtEverySplit(_ text: String, head: Bool = false, file: StaticString = #filePath, line: UInt = #line) -> Parsed? {
        let bytes = Array(text.utf8)
        var result: Parsed?
        for split in 1..<bytes.count {
            var parser = HTTPResponseParser()
            var seen = 0
            for end in [split, bytes.count] {
                let available = Array(bytes[..<end])
                switch step(&parser, available, head: head) {
                case .needMore:
                    XCTAssertLessThan(end, bytes.count, "split \(split): incomplete at the end", file: file, line: line)
                case .response(let response):
                    XCTAssertEqual(end, bytes.count, "split \(split): complete too early", file: file, line: line)
                    let p = parsed(response, in: available)
                    if let result { XCTAssertEqual(p, result, "split \(split)", file: file, line: line) }
                    result = p
                    seen += 1
                default:
                    XCTFail("split \(split): unexpected step", file: file, line: line)
                }
            }
            XCTAssertEqual(seen, 1, "split \(split)", file: file, line: line)
        }
        return result
    }

    func testContentLengthResponseAtEverySplit() {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}"
        XCTAssertEqual(parseAtEverySplit(text), Parsed(status: 200, headers: ["Content-Type=application/json", "Content-Length=15"],
                                                       body: "{\"status\":\"ok\"}", keepAlive: true, length: text.utf8.count))
    }

    func testChunkedResponseAtEverySplitWithExtensionsAndTrailers() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1\r\n,\r\nA \r\n worldwide\r\n0\r\nX-Trailer: t\r\n\r\n"
        XCTAssertEqual(parseAtEverySplit(text), Parsed(status: 200, headers: ["Transfer-Encoding=chunked"], body: "hello, worldwide",
                                                       keepAlive: true, length: text.utf8.count))
    }

    func testBareLineFeedsAreAccepted() {
        let text = "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno"
        XCTAssertEqual(parseAtEverySplit(text), Parsed(status: 404, headers: ["Content-Length=2"], body: "no", keepAlive: true,
                                                       length: text.utf8.count))
    }

    func testPipelinedResponsesAreTakenOneAtATime() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
        let second = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
        var bytes = Array((first + second).utf8)
        var parser = HTTPResponseParser()
        guard case .response(let r1) = step(&parser, bytes) else { return XCTFail("first") }
        XCTAssertEqual(parsed(r1, in: bytes).body, "a")
        XCTAssertEqual(r1.length, first.utf8.count)
        bytes.removeFirst(r1.length)
        guard case .response(let r2) = step(&parser, bytes) else { return XCTFail("second") }
        XCTAssertEqual(parsed(r2, in: bytes).status, 201)
        XCTAssertEqual(parsed(r2, in: bytes).body, "b")
        XCTAssertEqual(r2.length, bytes.count)
        XCTAssertTrue(parser.isIdle)
    }

    func testNoBodyAfterHeadAnd204And304() {
        XCTAssertEqual(parseAtEverySplit("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true)?.body, "")
        XCTAssertEqual(parseAtEverySplit("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")?.body, "")
        XCTAssertEqual(parseAtEverySplit("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")?.body, "")
    }

    func testConnectionReuse() {
        let cases: [(String, Bool)] = [
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nconnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            // Both framings: chunked wins, and the connection is not trusted afterwards.
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ]
        for (text, keepAlive) in cases {
            XCTAssertEqual(parseAtEverySplit(text)?.keepAlive, keepAlive, text)
        }
    }

    func testABodyWithoutLengthIsReadUntilClose() {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"
        var parser = HTTPResponseParser()
        let bytes = Array(text.utf8)
        XCTAssertEqual(step(&parser, bytes), .needMore)
        guard case .response(let response)? = bytes.withUnsafeBytes({ parser.finish($0) }) else { return XCTFail("not finished") }
        XCTAssertEqual(parsed(response, in: bytes).body, "all of it")
        XCTAssertFalse(response.keepAlive)
        // A transfer coding other than chunked is read until close as well.
        var gzip = HTTPResponseParser()
        XCTAssertEqual(step(&gzip, Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz".utf8)), .needMore)
    }

    func testClosingBetweenResponsesIsNotAResponseAndClosingInsideOneIsTruncated() {
        var parser = HTTPResponseParser()
        XCTAssertNil([UInt8]().withUnsafeBytes { parser.finish($0) })
        let partial = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
        XCTAssertEqual(step(&parser, partial), .needMore)
        XCTAssertEqual(partial.withUnsafeBytes { parser.finish($0) }, .failed(.truncated))
        var chunked = HTTPResponseParser()
        let cut = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".utf8)
        XCTAssertEqual(step(&chunked, cut), .needMore)
        XCTAssertEqual(cut.withUnsafeBytes { chunked.finish($0) }, .failed(.truncated))
    }

    func testInterimResponsesAreSkipped() {
        let interim = "HTTP/1.1 100 Continue\r\n\r\n"
        var bytes = Array((interim + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").utf8)
        var parser = HTTPResponseParser()
        XCTAssertEqual(step(&parser, bytes), .interim(length: interim.utf8.count))
        bytes.removeFirst(interim.utf8.count)
        guard case .response(let response) = step(&parser, bytes) else { return XCTFail("final") }
        XCTAssertEqual(parsed(response, in: bytes).body, "ok")
    }

    func testMalformedResponsesFail() {
        let cases: [(String, HTTPResponseParser.Failure)] = [
            ("HTTP/2 200 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 2x0 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 200OK\r\n\r\n", .statusLine),
            ("ICY 200 OK\r\n\r\n", .statusLine),
            ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", .headerLine),
            ("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", .headerLine),
            ("HTTP/1.1 200 OK\r\n folded\r\n\r\n", .headerLine),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", .contentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", .contentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", .contentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", .contentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", .contentLength),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .chunk),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", .chunk),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", .chunk),
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", .unexpectedUpgrade),
        ]
        for (text, failure) in cases {
            var parser = HTTPResponseParser()
            XCTAssertEqual(step(&parser, Array(text.utf8)), .failed(failure), text)
        }
        // Equal repeated lengths are one length (RFC 9110 §8.6).
        XCTAssertEqual(parseAtEverySplit("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")?.body, "ok")
    }

    func testAHeadThatNeverEndsFailsInsteadOfGrowingForEver() {
        var parser = HTTPResponseParser(maxHeadBytes: 100)
        var bytes = Array("HTTP/1.1 200 OK\r\n".utf8)
        XCTAssertEqual(step(&parser, bytes), .needMore)
        bytes += Array(repeating: UInt8(ascii: "a"), count: 100)
        XCTAssertEqual(step(&parser, bytes), .failed(.headTooLarge))
    }

    func testHeaderLookupInPlace() {
        let bytes = Array("Content-Type: text/plain \r\nX-Id:1\r\nx-id: 2\r\n".utf8)
        bytes.withUnsafeBytes { raw in
            var found: [String] = []
            HTTPHeaderLines.forEach(raw, in: 0..<raw.count) { name, value in
                if HTTPHeaderLines.equalsIgnoringASCIICase(raw, name, "X-ID".utf8) {
                    found.append(String(decoding: bytes[value], as: UTF8.self))
                }
                return true
            }
            XCTAssertEqual(found, ["1", "2"])
            XCTAssertFalse(HTTPHeaderLines.equalsIgnoringASCIICase(raw, 0..<1, "[".utf8))
        }
    }
}

final class HTTPRequestEncodingTests: XCTestCase {
    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    func testGetGetsHostAndNoContentLength() {
        XCTAssertEqual(text(HTTPRequestEncoding.encode(method: "GET", target: "/health", headers: [], body: [], host: "127.0.0.1:8080")),
                       "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
    }

    func testPostGetsContentLengthAndTheCallersHostWins() {
        XCTAssertEqual(text(HTTPRequestEncoding.encode(method: "POST", target: "/t", headers: [("host", "example.test"), ("X-A", "b")],
                                                       body: Array("abc".utf8), host: "ignored")),
                       "POST /t HTTP/1.1\r\nhost: example.test\r\nX-A: b\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(text(HTTPRequestEncoding.encode(method: "PUT", target: "/t", headers: [], body: [], host: "h")),
                       "PUT /t HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(text(HTTPRequestEncoding.encode(method: "POST", target: "/t", headers: [("CONTENT-LENGTH", "3")],
                                                       body: Array("abc".utf8), host: "h")),
                       "POST /t HTTP/1.1\r\nHost: h\r\nCONTENT-LENGTH: 3\r\n\r\nabc")
    }

    func testPartsThatCouldSmuggleARequestAreRefused() {
        XCTAssertNil(HTTPRequestEncoding.encode(method: "GET", target: "/a b", headers: [], body: [], host: "h"))
        XCTAssertNil(HTTPRequestEncoding.encode(method: "GET", target: "/a\r\nX: y", headers: [], body: [], host: "h"))
        XCTAssertNil(HTTPRequestEncoding.encode(method: "GET", target: "/", headers: [("X", "a\r\nEvil: 1")], body: [], host: "h"))
        XCTAssertNil(HTTPRequestEncoding.encode(method: "GET", target: "/", headers: [("Bad Name", "a")], body: [], host: "h"))
        XCTAssertNil(HTTPRequestEncoding.encode(method: "G T", target: "/", headers: [], body: [], host: "h"))
    }
}
