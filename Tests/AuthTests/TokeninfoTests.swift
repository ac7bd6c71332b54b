/// Zalando tokeninfo semantics: field names and values of a 200, 400 for no token, 401 for
/// anything invalid.
import Auth
import XCTest

final class TokeninfoTests: XCTestCase {
    private func respond(_ request: TokeninfoRequest, now: Int64 = 50 * s, revoked: RevocationList = RevocationList())
        -> TokeninfoResponse
    {
        Tokeninfo.respond(to: request, keys: jwks(0), revoked: revoked, rules: rules, now: now, scheme: scheme)
    }

    func testValidTokenAnswers200WithZalandoFields() {
        let token = signed(claims())
        let response = respond(.presented(token), now: 100 * s - 700 * ms)
        XCTAssertEqual(response.status, 200)
        XCTAssertNil(response.rejection)
        XCTAssertEqual(response.body, [
            .init("access_token", .string("tok-j1")),
            .init("uid", .string("svc-a")),
            .init("scope", .strings(["read"])),
            .init("realm", .string("/services")),
            .init("token_type", .string("Bearer")),
            .init("expires_in", .int(0)),
            .init("client_id", .string("client-a")),
        ])
        XCTAssertEqual(respond(.presented(token), now: 10 * s - 1).field("expires_in"), .int(90), "whole seconds, rounded down")
        XCTAssertEqual(respond(.presented(token), now: 10 * s).field("expires_in"), .int(90))
        XCTAssertEqual(respond(.presented(token), now: 10 * s).field("uid"), .string("svc-a"))
        XCTAssertNil(respond(.presented(token)).field("error"))
    }

    func testClientIDOmittedWithoutAzp() {
        let response = respond(.presented(signed(claims(azp: nil))))
        XCTAssertEqual(response.status, 200)
        XCTAssertNil(response.field("client_id"))
        XCTAssertEqual(response.body.map(\.name), ["access_token", "uid", "scope", "realm", "token_type", "expires_in"])
    }

    func testExpiresInNeverNegativeInsideLeeway() {
        let lenient = TokenRules(issuer: issuer, leeway: 5 * s)
        let response = Tokeninfo.respond(
            to: .presented(signed(claims())), keys: jwks(0), revoked: RevocationList(), rules: lenient,
            now: 103 * s, scheme: scheme)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.field("expires_in"), .int(0))
    }

    func testMissingTokenIs400InvalidRequest() {
        let response = respond(.missing)
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.body.map(\.name), ["error", "error_description"])
        XCTAssertEqual(response.field("error"), .string("invalid_request"))
        XCTAssertNil(response.rejection)
    }

    func testMalformedTokenIs401InvalidToken() {
        let response = respond(.malformed("not a JWT"))
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.field("error"), .string("invalid_token"))
        guard case .string(let text)? = response.field("error_description") else { return XCTFail("no description") }
        XCTAssertTrue(text.contains("not a JWT"))
        XCTAssertNil(response.rejection)
    }

    func testEveryInvalidKindIs401WithItsReason() {
        var revoked = RevocationList()
        revoked.revoke(jti: "j-revoked", at: 0)
        var forged = signed(claims())
        forged.claims.sub = "root"
        let cases: [(Token, TokenRejection)] = [
            (signed(claims(), alg: "none"), .unsupportedAlgorithm("none")),
            (signed(claims(jti: "")), .missingClaim("jti")),
            (signed(claims(), keyNumber: 5), .unknownKey(kid: "key-5")),
            (forged, .badSignature),
            (signed(claims(iss: "x")), .wrongIssuer("x")),
            (signed(claims(iat: 60 * s)), .notYetValid),
            (signed(claims(exp: 40 * s)), .expired),
            (signed(claims(jti: "j-revoked")), .revoked),
        ]
        for (token, rejection) in cases {
            let response = respond(.presented(token), revoked: revoked)
            XCTAssertEqual(response.status, 401, "\(rejection)")
            XCTAssertEqual(response.rejection, rejection)
            XCTAssertEqual(response.body, [
                .init("error", .string("invalid_token")),
                .init("error_description", .string(rejection.description)),
            ])
        }
        let realmRules = TokenRules(issuer: issuer, acceptedRealms: ["employees"])
        let response = Tokeninfo.respond(
            to: .presented(signed(claims())), keys: jwks(0), revoked: RevocationList(), rules: realmRules, now: 0,
            scheme: scheme)
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.rejection, .wrongRealm("services"))
    }
}
