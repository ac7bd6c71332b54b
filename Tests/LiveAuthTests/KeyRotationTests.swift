import Auth
import LiveAuth
import XCTest

/// Rotation with real keys: the pure schedule decides which kids are published, the ring makes
/// those kids real, and a token outlives its key's signing period exactly while the key is
/// retained.
final class KeyRotationTests: XCTestCase {
    let rotation = KeyRotation(interval: 10 * minutes, prePublish: 1 * minutes, retainAfter: 1 * hours)
    /// The start of rotation slot k.
    let k: Int64 = 2_833_333
    var slotStart: Int64 { k * 10 * minutes }

    func testPreviousKeyVerifiesWhileRetainedAndNotAfterRetirement() throws {
        let issuer = makeIssuer(rotation: rotation)
        let issuedAt = slotStart + 3 * minutes
        let old = try issue(issuer, at: issuedAt)
        XCTAssertEqual(old.header.kid, "key-\(k)")

        // Next slot: key k+1 signs, key k is still published.
        let later = slotStart + 10 * minutes + 1
        let fresh = try issue(issuer, at: later, jti: "jti-2")
        XCTAssertEqual(fresh.header.kid, "key-\(k + 1)")
        XCTAssertEqual(try judge(old.raw, keys: issuer.jwks(at: later), at: later), .success(old.claims))
        XCTAssertEqual(try judge(fresh.raw, keys: issuer.jwks(at: later), at: later), .success(fresh.claims))

        // Key k retires at (k+1)·interval + retainAfter; the token (8 h) has not expired yet.
        let retirement = slotStart + 10 * minutes + 1 * hours
        XCTAssertLessThan(retirement, old.claims.exp)
        XCTAssertEqual(try judge(old.raw, keys: issuer.jwks(at: retirement - 1), at: retirement - 1), .success(old.claims))
        XCTAssertEqual(
            rejection(try judge(old.raw, keys: issuer.jwks(at: retirement), at: retirement)), .unknownKey(kid: "key-\(k)"))
    }

    func testNextKeyIsPublishedBeforeItSigns() throws {
        let issuer = makeIssuer(rotation: rotation)
        let nextSlot = slotStart + 10 * minutes
        XCTAssertFalse(issuer.jwks(at: nextSlot - 1 * minutes - 1).kids.contains("key-\(k + 1)"))
        let early = issuer.jwks(at: nextSlot - 1 * minutes)
        XCTAssertTrue(early.kids.contains("key-\(k + 1)"))
        // A validator that fetched the JWKS a minute early accepts the new key's first token.
        let first = try issue(issuer, at: nextSlot)
        XCTAssertEqual(try judge(first.raw, keys: early, at: nextSlot), .success(first.claims))
    }

    func testPublishedPointsAreStableAcrossFetches() {
        let issuer = makeIssuer(rotation: rotation)
        let a = issuer.jwks(at: slotStart + 30 * minutes)
        let b = issuer.jwks(at: slotStart + 35 * minutes)
        XCTAssertEqual(a.key(kid: "key-\(k + 1)")?.encoded, b.key(kid: "key-\(k + 1)")?.encoded)
        XCTAssertEqual(a.key(kid: "key-\(k + 1)")?.encoded.count, 65)
        XCTAssertEqual(a.key(kid: "key-\(k + 1)")?.material, 0)
    }

    func testForgettingRetiredKeysDestroysThem() throws {
        let issuer = makeIssuer(rotation: rotation)
        let old = try issue(issuer, at: slotStart)
        let retirement = slotStart + 10 * minutes + 1 * hours
        _ = issuer.jwks(at: retirement)
        XCTAssertTrue(issuer.keyRing.kids.contains("key-\(k)"))
        issuer.forgetRetiredKeys(at: retirement)
        XCTAssertFalse(issuer.keyRing.kids.contains("key-\(k)"))
        XCTAssertTrue(issuer.keyRing.kids.contains("key-\(k + 7)"))
        // Republishing the kid now would mean a new key: the old token no longer verifies.
        let republished = issuer.keyRing.jwks(JWKS(keys: [PublicKey(kid: "key-\(k)", validFrom: 0, material: 0)]))
        XCTAssertEqual(rejection(try judge(old.raw, keys: republished, at: slotStart)), .badSignature)
    }
}
