/// The model scheme must be tamper-evident, or the simulator would accept forged tokens.
import Auth
import XCTest

final class SignatureSchemeTests: XCTestCase {
    func testVerifiesGenuineTokenAndDetectsEveryTamper() {
        let p = makeProvider()
        let token = issued(provider: p)
        let key = p.jwks(at: 0).key(kid: "key-0")!
        XCTAssertTrue(scheme.verify(token, with: key))
        XCTAssertEqual(token.signature, scheme.sign(header: token.header, claims: token.claims, with: p.signingKey(at: 0)))

        let tampers: [(String, (inout Token) -> Void)] = [
            ("sub", { $0.claims.sub = "root" }),
            ("realm", { $0.claims.realm = "employees" }),
            ("scope", { $0.claims.scope.append("admin") }),
            ("scope split", { $0.claims.scope = ["rea", "dwrite"] }),
            ("iss", { $0.claims.iss = "evil" }),
            ("iat", { $0.claims.iat += 1 }),
            ("exp", { $0.claims.exp += 1 }),
            ("azp", { $0.claims.azp = nil }),
            ("jti", { $0.claims.jti = "j2" }),
            ("kid", { $0.header.kid = "key-1" }),
            ("alg", { $0.header.alg = "none" }),
            ("signature", { $0.signature.bytes[0] ^= 1 }),
        ]
        for (name, tamper) in tampers {
            var forged = token
            tamper(&forged)
            XCTAssertFalse(scheme.verify(forged, with: key), name)
        }
        XCTAssertFalse(scheme.verify(token, with: makeProvider(interval: 10 * s).key(number: 1).publicKey))
    }
}
