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

    /// Verification remembers the MAC per token and key: repeated verifications, other keys and
    /// changed copies must still answer exactly as a fresh computation does.
    func testRememberedMACAnswersAsAFreshComputation() {
        let p = makeProvider()
        let token = issued(provider: p)
        let right = p.jwks(at: 0).key(kid: "key-0")!
        let wrong = makeProvider(interval: 10 * s).key(number: 1).publicKey
        for _ in 0..<3 { XCTAssertTrue(scheme.verify(token, with: right)) }
        XCTAssertFalse(scheme.verify(token, with: wrong))
        XCTAssertFalse(scheme.verify(token, with: wrong))
        XCTAssertTrue(scheme.verify(token, with: right))
        // A copy changed after its original was verified does not inherit the remembered MAC…
        var changed = token
        changed.claims.exp += 1
        XCTAssertFalse(scheme.verify(changed, with: right))
        // …and changing it back restores validity (the contents decide, never the memo).
        changed.claims.exp -= 1
        XCTAssertTrue(scheme.verify(changed, with: right))
        // An unchanged copy shares the storage and its memo, and answers alike.
        let copy = token
        XCTAssertTrue(scheme.verify(copy, with: right))
        XCTAssertFalse(scheme.verify(copy, with: wrong))
    }

    func testATokenCopyIsIndependentAndEqualUntilChanged() {
        let p = makeProvider()
        let token = issued(provider: p)
        let key = p.jwks(at: 0).key(kid: "key-0")!
        var copy = token
        XCTAssertEqual(copy, token)
        XCTAssertEqual(copy.hashValue, token.hashValue)
        copy.claims.scope.append("admin")
        XCTAssertNotEqual(copy, token)
        XCTAssertFalse(scheme.verify(copy, with: key))
        // The original is untouched by the copy's change (tokens share storage until written).
        XCTAssertTrue(scheme.verify(token, with: key))
        XCTAssertFalse(token.claims.scope.contains("admin"))
        // Equal contents built separately are equal and hash alike.
        let rebuilt = Token(header: token.header, claims: token.claims, signature: token.signature, raw: token.raw)
        XCTAssertEqual(rebuilt, token)
        XCTAssertEqual(Set([rebuilt, token]).count, 1)
    }

    /// Claims share their storage between copies: every field written on a copy stays on that
    /// copy, and equality and hashing follow the contents, not the storage.
    func testClaimsCopiesAreIndependentAndCompareByContents() {
        let original = TokenClaims(sub: "alice", realm: "/employees", scope: ["read"], iss: "https://auth",
                                   iat: 10, exp: 20, azp: "app", jti: "j1", nbf: 5)
        var copy = original
        copy.sub = "bob"; copy.realm = "/services"; copy.scope.append("write"); copy.iss = "https://other"
        copy.iat = 11; copy.exp = 21; copy.azp = nil; copy.jti = "j2"; copy.nbf = nil
        XCTAssertEqual([original.sub, original.realm, original.iss, original.azp, original.jti],
                       ["alice", "/employees", "https://auth", "app", "j1"])
        XCTAssertEqual(original.scope, ["read"])
        XCTAssertEqual([original.iat, original.exp, original.nbf], [10, 20, 5])
        XCTAssertEqual([copy.sub, copy.realm, copy.iss, copy.jti], ["bob", "/services", "https://other", "j2"])
        XCTAssertEqual(copy.scope, ["read", "write"])
        XCTAssertEqual([copy.iat, copy.exp], [11, 21])
        XCTAssertNil(copy.azp)
        XCTAssertNil(copy.nbf)
        XCTAssertNotEqual(copy, original)
        let rebuilt = TokenClaims(sub: "alice", realm: "/employees", scope: ["read"], iss: "https://auth",
                                  iat: 10, exp: 20, azp: "app", jti: "j1", nbf: 5)
        XCTAssertEqual(rebuilt, original)
        XCTAssertEqual(Set([rebuilt, original]).count, 1)
    }

    func testLongAndNonASCIIClaimsSignAndVerify() {
        let p = makeProvider()
        var claims = issued(provider: p).claims
        claims.sub = String(repeating: "ü-subject-é", count: 40)
        claims.scope = ["read", "写入", String(repeating: "x", count: 300)]
        let header = issued(provider: p).header
        let signature = scheme.sign(header: header, claims: claims, with: p.signingKey(at: 0))
        let token = Token(header: header, claims: claims, signature: signature, raw: "tok-long")
        XCTAssertTrue(scheme.verify(token, with: p.jwks(at: 0).key(kid: "key-0")!))
        var forged = token
        forged.claims.sub = String(repeating: "ü-subject-é", count: 39) + "ü-subject-e"
        XCTAssertFalse(scheme.verify(forged, with: p.jwks(at: 0).key(kid: "key-0")!))
    }
}
