/// The hybrid strategy: local first, tokeninfo only when local cannot decide.
import Auth
import XCTest

final class HybridValidationTests: XCTestCase {
    private func hybrid(refetch: Bool = false, breaker: CircuitBreakerConfig? = nil) -> HopValidator {
        HopValidator(config: HopValidatorConfig(
            strategy: .hybrid, rules: rules, retries: 0, breaker: breaker, refetchOnUnknownKid: refetch,
            refetchMinInterval: 5 * s))
    }

    private let token = signed(claims())

    private func call(_ request: UInt64, _ token: Token) -> HopEffect {
        .callTokeninfo(request: request, attempt: 0, token: token, after: 0)
    }

    func testFallsBackToTokeninfoBeforeFirstKeys() {
        var v = hybrid()
        _ = v.start(now: 0)
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 0), [call(1, token)])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 0),
                       [.decided(request: 1, .accept(token.claims), verifiedLocally: false, cacheHit: false)])
        XCTAssertEqual(v.counters.centralFallbacks, 1)
    }

    func testFallbackUsesBreaker() {
        var v = hybrid(breaker: CircuitBreakerConfig(failureThreshold: 1, openFor: 10 * s))
        _ = v.start(now: 0)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 0)
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 1 * s),
                       [.decided(request: 2, .circuitOpen, verifiedLocally: false, cacheHit: false)])
        XCTAssertEqual(v.nextTimer, 10 * s, "breaker half-open time (fetches still in flight)")
    }

    func testUnknownKidFallsBackWhenNotRefetching() {
        var v = hybrid(refetch: false)
        _ = v.start(now: 0)
        _ = v.step(.jwksFetched(jwks(0)), now: 0)
        let rotated = signed(claims(), keyNumber: 1)
        XCTAssertEqual(v.step(.validate(request: 1, token: rotated), now: 1 * s), [call(1, rotated)])
    }

    func testUnknownKidFallsBackWhenRefetchFails() {
        var v = hybrid(refetch: true)
        _ = v.start(now: 0)
        _ = v.step(.jwksFetched(jwks(0)), now: 0)
        let rotated = signed(claims(), keyNumber: 1)
        XCTAssertEqual(v.step(.validate(request: 1, token: rotated), now: 10 * s), [.fetchJWKS])
        XCTAssertEqual(v.step(.jwksFetchFailed, now: 11 * s), [call(1, rotated)])
        // Rate-limited refetch: straight to tokeninfo.
        XCTAssertEqual(v.step(.validate(request: 2, token: rotated), now: 12 * s), [call(2, rotated)])
    }

    func testUnknownKidResolvedByRefetchStaysLocal() {
        var v = hybrid(refetch: true)
        _ = v.start(now: 0)
        _ = v.step(.jwksFetched(jwks(0)), now: 0)
        let rotated = signed(claims(), keyNumber: 1)
        _ = v.step(.validate(request: 1, token: rotated), now: 10 * s)
        XCTAssertEqual(v.step(.jwksFetched(jwks(0, 1)), now: 11 * s),
                       [.decided(request: 1, .accept(rotated.claims), verifiedLocally: true, cacheHit: false)])
        XCTAssertEqual(v.counters.tokeninfoCalls, 0)
    }

    func testDefiniteLocalVerdictIsFinal() {
        var v = hybrid(refetch: true)
        _ = v.start(now: 0)
        _ = v.step(.jwksFetched(jwks(0)), now: 0)
        var revoked = RevocationList()
        revoked.revoke(jti: "j-revoked", at: 0)
        _ = v.step(.revocationsFetched(revoked), now: 0)
        var forged = token
        forged.claims.sub = "root"
        let cases: [(Token, Int64, Decision)] = [
            (token, 50 * s, .accept(token.claims)),
            (token, 100 * s + 1, .reject(.expired)),
            (forged, 50 * s, .reject(.badSignature)),
            (signed(claims(jti: "j-revoked")), 50 * s, .reject(.revoked)),
            (signed(claims(), alg: "none"), 50 * s, .reject(.unsupportedAlgorithm("none"))),
        ]
        for (i, (token, now, decision)) in cases.enumerated() {
            XCTAssertEqual(v.step(.validate(request: UInt64(i), token: token), now: now),
                           [.decided(request: UInt64(i), decision, verifiedLocally: true, cacheHit: false)])
        }
        XCTAssertEqual(v.counters.tokeninfoCalls, 0)
        XCTAssertEqual(v.counters.centralFallbacks, 0)
    }
}
