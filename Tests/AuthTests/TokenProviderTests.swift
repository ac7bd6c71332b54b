/// The provider's key schedule (which key signs, what the JWKS holds around a rotation) and
/// token issuance per realm.
import Auth
import XCTest

final class TokenProviderTests: XCTestCase {
    func testNewestKeyWithValidFromNotAfterNowSigns() {
        let p = makeProvider(interval: 10 * s)
        XCTAssertEqual(p.signingKey(at: -5 * s).kid, "key-0")
        XCTAssertEqual(p.signingKey(at: 0).kid, "key-0")
        XCTAssertEqual(p.signingKey(at: 10 * s - 1).kid, "key-0")
        XCTAssertEqual(p.signingKey(at: 10 * s).kid, "key-1")
        XCTAssertEqual(p.signingKey(at: 25 * s).kid, "key-2")
        XCTAssertEqual(p.signingKey(at: 25 * s).validFrom, 20 * s)
    }

    func testSecretsAreDeterministicPerKeyAndDistinct() {
        let a = makeProvider(interval: 10 * s), b = makeProvider(interval: 10 * s)
        XCTAssertEqual(a.signingKey(at: 15 * s), b.signingKey(at: 15 * s))
        XCTAssertNotEqual(a.key(number: 0).secret, a.key(number: 1).secret)
        XCTAssertEqual(a.key(number: 1).publicKey.material, a.key(number: 1).secret)
    }

    func testWithoutRotationOneKeyForever() {
        let p = makeProvider(interval: nil)
        XCTAssertEqual(p.signingKey(at: 1_000_000 * s).kid, "key-0")
        XCTAssertEqual(p.jwks(at: 1_000_000 * s).kids, ["key-0"])
        XCTAssertEqual(p.jwks(at: -1_000 * s).kids, ["key-0"])
    }

    func testJWKSPrePublishesNextKeyAndRetiresOldOneAfterRetention() {
        let p = makeProvider(interval: 100 * s, prePublish: 10 * s, retainAfter: 30 * s)
        XCTAssertEqual(p.jwks(at: -50 * s).kids, ["key-0"])
        XCTAssertEqual(p.jwks(at: 50 * s).kids, ["key-0"])
        XCTAssertEqual(p.jwks(at: 90 * s - 1).kids, ["key-0"])
        XCTAssertEqual(p.jwks(at: 90 * s).kids, ["key-0", "key-1"], "pre-published before it signs")
        XCTAssertEqual(p.jwks(at: 100 * s).kids, ["key-0", "key-1"], "old key retained after rotation")
        XCTAssertEqual(p.jwks(at: 130 * s - 1).kids, ["key-0", "key-1"])
        XCTAssertEqual(p.jwks(at: 130 * s).kids, ["key-1"], "retired at next.validFrom + retainAfter")
        XCTAssertEqual(p.jwks(at: 195 * s).kids, ["key-1", "key-2"])
        XCTAssertEqual(p.jwks(at: 195 * s).keys.map(\.validFrom), [100 * s, 200 * s])
        XCTAssertEqual(p.jwks(at: 195 * s).key(kid: "key-2"), p.key(number: 2).publicKey)
        XCTAssertNil(p.jwks(at: 195 * s).key(kid: "key-0"))
    }

    func testJWKSWithoutMarginsHoldsOnlyTheSigningKey() {
        let p = makeProvider(interval: 100 * s)
        XCTAssertEqual(p.jwks(at: 99 * s).kids, ["key-0"])
        XCTAssertEqual(p.jwks(at: 100 * s).kids, ["key-1"])
    }

    func testLongRetentionKeepsSeveralOldKeys() {
        let p = makeProvider(interval: 10 * s, prePublish: 0, retainAfter: 25 * s)
        // key-0 retired at 10 s + 25 s; key-1 stays until 20 s + 25 s.
        XCTAssertEqual(p.jwks(at: 40 * s).kids, ["key-1", "key-2", "key-3", "key-4"])
    }

    func testIssueUsesRealmLifetimeAndCurrentKey() {
        let p = makeProvider(interval: 100 * s)
        let t = p.issue(sub: "svc-a", realm: .services, scope: ["read"], azp: "client-a", jti: "j9", at: 150 * s)!
        XCTAssertEqual(t.header, TokenHeader(kid: "key-1", alg: "ES256"))
        XCTAssertEqual(t.claims, TokenClaims(
            sub: "svc-a", realm: "services", scope: ["read"], iss: issuer, iat: 150 * s,
            exp: 150 * s + 8 * 3600 * s, azp: "client-a", jti: "j9"))
        XCTAssertEqual(t.raw, "tok-j9")
        XCTAssertTrue(scheme.verify(t, with: p.jwks(at: 150 * s).key(kid: "key-1")!))

        func lifetime(_ realm: Realm) -> Int64? {
            p.issue(sub: "u", realm: realm, scope: [], azp: nil, jti: "x", at: 7 * s).map { $0.claims.exp - 7 * s }
        }
        XCTAssertEqual(lifetime(.services), 8 * 3600 * s)
        XCTAssertEqual(lifetime(.employees), 8 * 3600 * s)
        XCTAssertEqual(lifetime(.customers), 30 * 24 * 3600 * s)
        XCTAssertEqual(lifetime(.guestCustomers), 30 * 60 * s)
        XCTAssertNil(lifetime(Realm("partners")))
        XCTAssertNil(RealmLifetimes.planB.lifetime(of: Realm("partners")))
        XCTAssertEqual(Realm.guestCustomers.rawValue, "guest-customers")
    }
}
