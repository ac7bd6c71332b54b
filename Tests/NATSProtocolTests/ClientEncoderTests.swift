import Foundation
import XCTest
@testable import NATSProtocol

final class ClientEncoderTests: XCTestCase {
    func encoded(_ op: ClientOp) throws -> String {
        String(decoding: try ClientEncoder.encode(op), as: UTF8.self)
    }

    func testExactBytes() throws {
        XCTAssertEqual(try encoded(.pub(subject: "foo", replyTo: nil, payload: bytes("Hello"))), "PUB foo 5\r\nHello\r\n")
        XCTAssertEqual(try encoded(.pub(subject: "foo", replyTo: "_INBOX.1", payload: [])), "PUB foo _INBOX.1 0\r\n\r\n")
        XCTAssertEqual(try encoded(.sub(subject: "foo.*", queue: nil, sid: "1")), "SUB foo.* 1\r\n")
        XCTAssertEqual(try encoded(.sub(subject: "foo.>", queue: "workers", sid: "12")), "SUB foo.> workers 12\r\n")
        XCTAssertEqual(try encoded(.unsub(sid: "1", max: nil)), "UNSUB 1\r\n")
        XCTAssertEqual(try encoded(.unsub(sid: "1", max: 5)), "UNSUB 1 5\r\n")
        XCTAssertEqual(try encoded(.ping), "PING\r\n")
        XCTAssertEqual(try encoded(.pong), "PONG\r\n")
        let headers = MessageHeaders(fields: [.init(name: "Bar", value: "Baz")])
        XCTAssertEqual(try encoded(.hpub(subject: "foo", replyTo: "r", headers: headers, payload: bytes("Hello"))),
                       "HPUB foo r 22 27\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello\r\n")
    }

    func testConnectExactBytes() throws {
        XCTAssertEqual(
            try encoded(.connect(ConnectOptions(name: "leader", version: "1.2.3"))),
            #"CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"leader","lang":"swift","# +
                #""version":"1.2.3","protocol":1,"echo":true,"headers":false,"no_responders":false}"# + "\r\n")
    }

    func testConnectJSONIsValid() throws {
        let options = ConnectOptions(verbose: true, name: "a \"quoted\"\nname\t\u{01}é😀", echo: false,
                                     headers: true, noResponders: true, user: "u", pass: "p\\w",
                                     authToken: "t")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(options.json)) as? [String: Any])
        XCTAssertEqual(object["name"] as? String, options.name)
        XCTAssertEqual(object["pass"] as? String, "p\\w")
        XCTAssertEqual(object["lang"] as? String, "swift")
        XCTAssertEqual(object["verbose"] as? Bool, true)
        XCTAssertEqual(object["echo"] as? Bool, false)
        XCTAssertEqual(object["no_responders"] as? Bool, true)
        XCTAssertEqual(object["protocol"] as? Int, 1)
        XCTAssertEqual(object["auth_token"] as? String, "t")
        XCTAssertNil(ConnectOptions().json.firstIndex(of: UInt8(ascii: "\n")))
        // And our own reader agrees.
        guard case .object(let fields) = try NATSJSONValue.parse(options.json) else { return XCTFail() }
        XCTAssertEqual(fields.first { $0.0 == "name" }?.1.string, options.name)
    }

    func testRejectsNamesThatBreakFraming() {
        let bad: [ClientOp] = [
            .pub(subject: "", replyTo: nil, payload: []),
            .pub(subject: "a b", replyTo: nil, payload: []),
            .pub(subject: "a", replyTo: "r\r\nPUB x 0", payload: []),
            .sub(subject: "a\tb", queue: nil, sid: "1"),
            .sub(subject: "a", queue: "", sid: "1"),
            .sub(subject: "a", queue: nil, sid: "1\n"),
            .unsub(sid: "", max: nil),
            .unsub(sid: "1", max: -1),
        ]
        for op in bad {
            XCTAssertThrowsError(try ClientEncoder.encode(op), "\(op)") { error in
                guard case .malformed = error as? ProtocolError else { return XCTFail("\(error)") }
            }
        }
    }

    func testEncodesSeveralOpsInOrder() throws {
        let wire = try ClientEncoder.encode([.ping, .sub(subject: "a", queue: nil, sid: "1"), .pong])
        XCTAssertEqual(String(decoding: wire, as: UTF8.self), "PING\r\nSUB a 1\r\nPONG\r\n")
    }
}
