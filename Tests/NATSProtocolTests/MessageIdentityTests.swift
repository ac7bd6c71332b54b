import NATSProtocol
import XCTest

final class MessageIdentityTests: XCTestCase {
    private func headers(_ fields: [(String, String)]) -> MessageHeaders {
        MessageHeaders(fields: fields.map { .init(name: $0.0, value: $0.1) })
    }

    func testFaultlineHeadersNameASequencedProducer() {
        let id = MessageIdentity.from(headers([("Faultline-Producer", "12"), ("Faultline-Producer-Epoch", "99"), ("Faultline-Sequence", "4")]))
        XCTAssertEqual(id, MessageIdentity(producerID: 12, producerEpoch: 99, sequence: 4))
        XCTAssertEqual(MessageIdentity.from(headers([("Faultline-Producer", "12"), ("Faultline-Sequence", "4")]))?.producerEpoch, 0)
    }

    func testNatsMsgIdIsAProducerOfItsOwnStableAcrossCalls() {
        let a = MessageIdentity.from(headers([("Nats-Msg-Id", "order-17")]))
        let b = MessageIdentity.from(headers([("Nats-Msg-Id", "order-17")]))
        let c = MessageIdentity.from(headers([("Nats-Msg-Id", "order-18")]))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a?.producerID, c?.producerID)
        XCTAssertEqual(a?.sequence, 0)
        XCTAssertNotEqual((a?.producerID ?? 0) & MessageIdentity.messageIDBit, 0, "never a numeric producer id")
        // FNV-1a of "a" (a published test vector), top bit forced on.
        XCTAssertEqual(MessageIdentity.from(headers([("Nats-Msg-Id", "a")]))?.producerID,
                       0xaf63_dc4c_8601_ec8c | MessageIdentity.messageIDBit)
    }

    func testAnonymousWithoutUsableHeaders() {
        XCTAssertNil(MessageIdentity.from(nil))
        XCTAssertNil(MessageIdentity.from(headers([("Faultline-Producer", "0"), ("Faultline-Sequence", "4")])))
        XCTAssertNil(MessageIdentity.from(headers([("Faultline-Producer", "x"), ("Faultline-Sequence", "4")])))
        XCTAssertNil(MessageIdentity.from(headers([("Nats-Msg-Id", "")])))
    }
}
