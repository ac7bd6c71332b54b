import Auth
import XCTest

/// `nbf` under the simulator's model scheme: the rules refuse a token before its nbf, and the
/// model MAC covers nbf, so moving or removing it is a forgery.
final class ModelNotBeforeTests: XCTestCase {
    let provider = TokenProvider(issuer: issuerName, lifetimes: .planB, rotation: .never)
    let rules = TokenRules(issuer: issuerName, leeway: 0)
    let now: Int64 = 50 * minutes

    func signedWithNotBefore(_ nbf: Int64) throws -> Token {
        var token = try XCTUnwrap(
            provider.issue(sub: "s", realm: .services, scope: ["uid"], azp: nil, jti: "j", at: now))
        token.claims.nbf = nbf
        token.signature = ModelSignatureScheme().sign(
            header: token.header, claims: token.claims, with: provider.signingKey(at: now))
        return token
    }

    func check(_ token: Token, at time: Int64) -> Result<TokenClaims, TokenRejection> {
        rules.check(token, keys: provider.jwks(at: time), revoked: RevocationList(), now: time, scheme: ModelSignatureScheme())
    }

    func testFutureNotBeforeIsNotYetValid() throws {
        let token = try signedWithNotBefore(now + 1 * minutes)
        XCTAssertEqual(rejection(check(token, at: now)), .notYetValid)
        XCTAssertEqual(rejection(check(token, at: now + 1 * minutes - 1)), .notYetValid)
        XCTAssertEqual(check(token, at: now + 1 * minutes), .success(token.claims))
    }

    func testTamperedOrRemovedNotBeforeIsABadSignature() throws {
        let token = try signedWithNotBefore(now + 1 * minutes)
        var moved = token
        moved.claims.nbf = now
        XCTAssertEqual(rejection(check(moved, at: now + 2 * minutes)), .badSignature)
        var removed = token
        removed.claims.nbf = nil
        XCTAssertEqual(rejection(check(removed, at: now + 2 * minutes)), .badSignature)
    }
}
