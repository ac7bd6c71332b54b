import Auth
import Dispatch
import LiveAuth
import XCTest

final class ES256KeyRingTests: XCTestCase {
    func testEachRingHasItsOwnRandomKeys() {
        let model = PublicKey(kid: "key-0", validFrom: 5, material: 42)
        let a = ES256KeyRing().publicKey(model)
        let b = ES256KeyRing().publicKey(model)
        XCTAssertEqual(a.kid, "key-0")
        XCTAssertEqual(a.validFrom, 5)
        XCTAssertEqual(a.material, 0)
        XCTAssertEqual(a.encoded.count, 65)
        XCTAssertEqual(a.encoded.first, 0x04)
        XCTAssertNotEqual(a.encoded, b.encoded)
    }

    func testConcurrentFirstUsesAgreeOnOneKey() {
        let ring = ES256KeyRing()
        let points = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: 64)
        points.initialize(repeating: [])
        defer { points.deallocate() }
        nonisolated(unsafe) let slots = points
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            slots[i] = ring.publicKey(PublicKey(kid: "key-\(i % 4)", validFrom: 0, material: 0)).encoded
        }
        for i in 0..<64 { XCTAssertEqual(points[i], points[i % 4], "slot \(i)") }
        XCTAssertEqual(Set(points).count, 4)
        XCTAssertEqual(ring.kids, ["key-0", "key-1", "key-2", "key-3"])
    }

    func testJWKSMapsEveryKeyInOrder() {
        let ring = ES256KeyRing()
        let model = JWKS(keys: [
            PublicKey(kid: "key-2", validFrom: 20, material: 1), PublicKey(kid: "key-3", validFrom: 30, material: 2),
        ])
        let real = ring.jwks(model)
        XCTAssertEqual(real.kids, ["key-2", "key-3"])
        XCTAssertEqual(real.keys.map(\.validFrom), [20, 30])
        XCTAssertEqual(real.keys[0], ring.publicKey(model.keys[0]))
        XCTAssertNotEqual(real.keys[0].encoded, real.keys[1].encoded)
    }

    func testSchemeWithoutRingCannotSign() {
        let claims = TokenClaims(sub: "s", realm: "services", scope: [], iss: issuerName, iat: 0, exp: 1, jti: "j")
        let signature = ES256Scheme().sign(
            header: TokenHeader(kid: "key-0"), claims: claims, with: SigningKey(kid: "key-0", validFrom: 0, secret: 0))
        XCTAssertEqual(signature.bytes, [])
    }
}
