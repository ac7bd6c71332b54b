/// Every rejection of the one validity function, its boundaries, and the order of checks.
import Auth
import XCTest

final class TokenRulesTests: XCTestCase {
    private func check(
        _ token: Token, now: Int64 = 50 * s, rules: TokenRules = rules, keys: JWKS = jwks(0),
        revoked: RevocationList = RevocationList()
    ) -> Result<TokenClaims, TokenRejection> {
        rules.check(token, keys: keys, revoked: revoked, now: now, scheme: scheme)
    }

    func testValidTokenYieldsItsClaims() {
        let token = signed(claims())
        XCTAssertEqual(check(token), .success(token.claims))
    }

    func testEachRejection() {
        XCTAssertEqual(check(signed(claims(), alg: "none")), .failure(.unsupportedAlgorithm("none")))
        XCTAssertEqual(
            check(signed(claims(), alg: "HS256"), rules: TokenRules(issuer: issuer, acceptedAlgorithms: ["HS256"])),
            .success(claims()))
        XCTAssertEqual(check(signed(claims(sub: ""))), .failure(.missingClaim("sub")))
        XCTAssertEqual(check(signed(claims(realm: ""))), .failure(.missingClaim("realm")))
        XCTAssertEqual(check(signed(claims(iss: ""))), .failure(.missingClaim("iss")))
        XCTAssertEqual(check(signed(claims(jti: ""))), .failure(.missingClaim("jti")))
        XCTAssertEqual(check(signed(claims(), keyNumber: 3)), .failure(.unknownKey(kid: "key-3")))
        var forged = signed(claims())
        forged.claims.scope = ["admin"]
        XCTAssertEqual(check(forged), .failure(.badSignature))
        XCTAssertEqual(check(signed(claims(iss: "https://other"))), .failure(.wrongIssuer("https://other")))
        let onlyEmployees = TokenRules(issuer: issuer, acceptedRealms: ["employees"])
        XCTAssertEqual(check(signed(claims()), rules: onlyEmployees), .failure(.wrongRealm("services")))
        XCTAssertEqual(check(signed(claims(realm: "employees")), rules: onlyEmployees), .success(claims(realm: "employees")))
        XCTAssertEqual(check(signed(claims(iat: 51 * s))), .failure(.notYetValid))
        XCTAssertEqual(check(signed(claims()), now: 100 * s + 1), .failure(.expired))
        var revoked = RevocationList()
        revoked.revoke(jti: "j1", at: 40 * s)
        XCTAssertEqual(check(signed(claims()), revoked: revoked), .failure(.revoked))
    }

    func testTimeBoundariesAndLeeway() {
        let token = signed(claims(iat: 10 * s, exp: 100 * s))
        XCTAssertEqual(check(token, now: 10 * s), .success(token.claims))
        XCTAssertEqual(check(token, now: 10 * s - 1), .failure(.notYetValid))
        XCTAssertEqual(check(token, now: 100 * s), .success(token.claims), "valid up to and including exp")
        XCTAssertEqual(check(token, now: 100 * s + 1), .failure(.expired))
        let lenient = TokenRules(issuer: issuer, leeway: 2 * s)
        XCTAssertEqual(check(token, now: 8 * s, rules: lenient), .success(token.claims))
        XCTAssertEqual(check(token, now: 8 * s - 1, rules: lenient), .failure(.notYetValid))
        XCTAssertEqual(check(token, now: 102 * s, rules: lenient), .success(token.claims))
        XCTAssertEqual(check(token, now: 102 * s + 1, rules: lenient), .failure(.expired))
    }

    func testRevocationAppliesFromItsTimeAndKeepsEarliest() {
        var list = RevocationList()
        list.revoke(jti: "j1", at: 40 * s)
        list.revoke(jti: "j1", at: 60 * s)
        XCTAssertEqual(list.revoked["j1"], 40 * s)
        XCTAssertFalse(list.isRevoked(jti: "j1", at: 40 * s - 1))
        XCTAssertTrue(list.isRevoked(jti: "j1", at: 40 * s))
        XCTAssertFalse(list.isRevoked(jti: "j2", at: 40 * s))
        XCTAssertEqual(check(signed(claims()), now: 39 * s, revoked: list), .success(claims()))
    }

    func testCheckOrder() {
        var revoked = RevocationList()
        revoked.revoke(jti: "j1", at: 0)
        let strict = TokenRules(issuer: issuer, acceptedRealms: ["employees"])
        func first(_ token: Token, now: Int64 = 50 * s) -> TokenRejection? {
            if case .failure(let r) = check(token, now: now, rules: strict, revoked: revoked) { return r }
            return nil
        }
        // Every defect at once, then remove them one by one in the documented order.
        let all = claims(sub: "", iss: "https://other", iat: 60 * s, exp: 10 * s)
        XCTAssertEqual(first(signed(all, keyNumber: 3, alg: "none")), .unsupportedAlgorithm("none"))
        XCTAssertEqual(first(signed(all, keyNumber: 3)), .missingClaim("sub"))
        let claimsPresent = claims(iss: "https://other", iat: 60 * s, exp: 10 * s)
        XCTAssertEqual(first(signed(claimsPresent, keyNumber: 3)), .unknownKey(kid: "key-3"))
        var forged = signed(claimsPresent)
        forged.claims.sub = "root"
        XCTAssertEqual(first(forged), .badSignature)
        XCTAssertEqual(first(signed(claimsPresent)), .wrongIssuer("https://other"))
        XCTAssertEqual(first(signed(claims(iat: 60 * s, exp: 10 * s))), .wrongRealm("services"))
        XCTAssertEqual(first(signed(claims(realm: "employees", iat: 60 * s, exp: 10 * s))), .notYetValid)
        XCTAssertEqual(first(signed(claims(realm: "employees", iat: 0, exp: 10 * s))), .expired)
        XCTAssertEqual(first(signed(claims(realm: "employees", iat: 0, exp: 100 * s))), .revoked)
    }

    func testRejectionDescriptionsSayWhatIsWrong() {
        XCTAssertEqual(TokenRejection.expired.description, "Access Token not valid: token expired")
        XCTAssertTrue(TokenRejection.unknownKey(kid: "key-7").description.contains("key-7"))
        XCTAssertTrue(TokenRejection.missingClaim("jti").description.contains("jti"))
        XCTAssertEqual(TokenRejection.wrongRealm("x").reason, "wrong_realm")
    }
}
