/// The local strategy: cached JWKS, polled revocations, unknown-kid refetch, timers.
import Auth
import XCTest

final class LocalValidationTests: XCTestCase {
    private func local(
        rules: TokenRules = rules, refetch: Bool = false, revocationPoll: Int64? = 10 * s
    ) -> HopValidator {
        HopValidator(config: HopValidatorConfig(
            strategy: .local, rules: rules, jwksRefresh: 30 * s, jwksRetry: 5 * s, refetchOnUnknownKid: refetch,
            refetchMinInterval: 5 * s, revocationPoll: revocationPoll))
    }

    /// Started at 0 with key-0 fetched at 0 (revocation poll still in flight).
    private func ready(_ v: inout HopValidator) {
        _ = v.start(now: 0)
        _ = v.step(.jwksFetched(jwks(0)), now: 0)
    }

    private func local(_ request: UInt64, _ decision: Decision) -> HopEffect {
        .decided(request: request, decision, verifiedLocally: true, cacheHit: false)
    }

    private let token = signed(claims())

    func testStartFetchesKeysAndRevocationsOnce() {
        var v = local()
        XCTAssertEqual(v.start(now: 0), [.fetchJWKS, .fetchRevocations])
        XCTAssertEqual(v.start(now: 0), [])
        var quiet = local(revocationPoll: nil)
        XCTAssertEqual(quiet.start(now: 0), [.fetchJWKS])
    }

    func testUnavailableBeforeFirstKeys() {
        var v = local()
        _ = v.start(now: 0)
        XCTAssertEqual(
            v.step(.validate(request: 1, token: token), now: 0),
            [.decided(request: 1, .unavailable("no signing keys yet"), verifiedLocally: false, cacheHit: false)])
        _ = v.step(.jwksFetchFailed, now: 1 * s)
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 1 * s).first, .decided(request: 2, .noSigningKeys, verifiedLocally: false, cacheHit: false))
    }

    func testVerifiesLocallyWithoutCallingTokeninfo() {
        var v = local()
        ready(&v)
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 50 * s), [local(1, .accept(token.claims))])
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 100 * s + 1), [local(2, .reject(.expired))])
        var forged = token
        forged.claims.sub = "root"
        XCTAssertEqual(v.step(.validate(request: 3, token: forged), now: 50 * s), [local(3, .reject(.badSignature))])
        XCTAssertEqual(v.counters.localVerifications, 3)
        XCTAssertEqual(v.counters.tokeninfoCalls, 0)
    }

    func testWallClockJudgesExpiryButTimersRunOnTheMonotonicClock() {
        var v = local()
        ready(&v)
        XCTAssertEqual(v.nextTimer, 30 * s, "the revocation poll is still in flight; the JWKS refresh is due at 30 s")
        // The node's wall clock is 5 minutes ahead: a token valid until 100 s looks expired…
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 20 * s, wallClock: 320 * s),
                       [local(1, .reject(.expired))])
        // …but its timers still follow monotonic time: the next poll is 10 s after this answer.
        _ = v.step(.revocationsFetched(RevocationList()), now: 20 * s, wallClock: 320 * s)
        XCTAssertEqual(v.nextTimer, 30 * s)
        _ = v.step(.jwksFetchFailed, now: 21 * s, wallClock: 321 * s)
        XCTAssertEqual(v.nextTimer, 26 * s, "retry 5 s after the failed fetch, by the monotonic clock")
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 21 * s), [local(2, .accept(token.claims))])
    }

    func testLeewayToleratesSkewedClock() {
        var v = local(rules: TokenRules(issuer: issuer, leeway: 2 * s))
        ready(&v)
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 102 * s), [local(1, .accept(token.claims))])
        let early = signed(claims(iat: 10 * s))
        XCTAssertEqual(v.step(.validate(request: 2, token: early), now: 8 * s), [local(2, .accept(early.claims))])
        XCTAssertEqual(v.step(.validate(request: 3, token: early), now: 8 * s - 1), [local(3, .reject(.notYetValid))])
    }

    func testRevocationSeenOnlyAfterPoll() {
        var v = local()
        ready(&v)
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 5 * s), [local(1, .accept(token.claims))])
        var list = RevocationList()
        list.revoke(jti: "j1", at: 1 * s)
        _ = v.step(.revocationsFetched(list), now: 6 * s)
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 6 * s), [local(2, .reject(.revoked))])
        // A failed poll keeps the list.
        XCTAssertEqual(v.step(.tick, now: 16 * s), [.fetchRevocations])
        _ = v.step(.revocationsFetchFailed, now: 16 * s)
        XCTAssertEqual(v.step(.validate(request: 3, token: token), now: 17 * s), [local(3, .reject(.revoked))])
        XCTAssertEqual(v.counters.revocationFailures, 1)
    }

    func testUnknownKidRejectedWithoutRefetch() {
        var v = local(refetch: false)
        ready(&v)
        let rotated = signed(claims(), keyNumber: 1)
        XCTAssertEqual(v.step(.validate(request: 1, token: rotated), now: 50 * s), [local(1, .reject(.unknownKey(kid: "key-1")))])
    }

    func testUnknownKidRefetchesOnceParksAndResolves() {
        var v = local(refetch: true)
        ready(&v)
        let rotated = signed(claims(), keyNumber: 1)
        let forgedKid = signed(claims(jti: "j2"), keyNumber: 9)
        XCTAssertEqual(v.step(.validate(request: 1, token: rotated), now: 10 * s), [.fetchJWKS])
        XCTAssertEqual(v.step(.validate(request: 2, token: rotated), now: 10 * s), [], "one fetch for many parked")
        XCTAssertEqual(v.step(.validate(request: 3, token: forgedKid), now: 10 * s), [])
        XCTAssertEqual(v.parkedCount, 3)
        XCTAssertEqual(v.step(.validate(request: 4, token: token), now: 10 * s), [local(4, .accept(token.claims))], "known kids are not held up")
        XCTAssertEqual(v.step(.jwksFetched(jwks(0, 1)), now: 11 * s), [
            local(1, .accept(rotated.claims)),
            local(2, .accept(rotated.claims)),
            local(3, .reject(.unknownKey(kid: "key-9"))),
        ])
        XCTAssertEqual(v.parkedCount, 0)
        XCTAssertEqual(v.counters.parkedRequests, 3)
        XCTAssertEqual(v.counters.jwksFetches, 2)
        XCTAssertEqual(v.nextTimer, 41 * s, "the refetch restarts the refresh period (revocation poll in flight)")
    }

    func testRefetchIsRateLimited() {
        var v = local(refetch: true)
        ready(&v)
        let rotated = signed(claims(), keyNumber: 1)
        XCTAssertEqual(v.step(.validate(request: 1, token: rotated), now: 5 * s - 1), [local(1, .reject(.unknownKey(kid: "key-1")))])
        XCTAssertEqual(v.step(.validate(request: 2, token: rotated), now: 5 * s), [.fetchJWKS])
    }

    func testFailedRefetchRejectsParkedAndKeepsOldKeys() {
        var v = local(refetch: true)
        ready(&v)
        let rotated = signed(claims(), keyNumber: 1)
        _ = v.step(.validate(request: 1, token: rotated), now: 10 * s)
        XCTAssertEqual(v.step(.jwksFetchFailed, now: 11 * s), [
            .decided(request: 1, .reject(.unknownKey(kid: "key-1")), verifiedLocally: false, cacheHit: false),
        ])
        XCTAssertEqual(v.jwks, jwks(0))
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 12 * s), [local(2, .accept(token.claims))])
        XCTAssertEqual(v.nextTimer, 16 * s, "jwksRetry after a failure")
        XCTAssertEqual(v.counters.jwksFailures, 1)
    }

    func testStaleKeysStayInUseWhenRefreshFails() {
        var v = local(refetch: false, revocationPoll: nil)
        ready(&v)
        XCTAssertEqual(v.step(.tick, now: 30 * s), [.fetchJWKS])
        XCTAssertNil(v.nextTimer, "no second fetch while one is in flight")
        XCTAssertEqual(v.step(.tick, now: 31 * s), [])
        _ = v.step(.jwksFetchFailed, now: 32 * s)
        // The provider rotated to key-1 meanwhile; this node still only knows key-0.
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 33 * s), [local(1, .accept(token.claims))])
        XCTAssertEqual(v.step(.validate(request: 2, token: signed(claims(), keyNumber: 1)), now: 33 * s),
                       [local(2, .reject(.unknownKey(kid: "key-1")))])
        XCTAssertEqual(v.nextTimer, 37 * s)
        XCTAssertEqual(v.step(.tick, now: 37 * s), [.fetchJWKS])
        _ = v.step(.jwksFetched(jwks(1)), now: 38 * s)
        XCTAssertEqual(v.step(.validate(request: 3, token: token), now: 39 * s), [local(3, .reject(.unknownKey(kid: "key-0")))],
                       "a successful fetch replaces the key set")
    }

    func testNextTimerFollowsRefreshAndPoll() {
        var v = local()
        XCTAssertNil(v.nextTimer, "not started")
        _ = v.start(now: 0)
        XCTAssertNil(v.nextTimer, "both fetches in flight")
        _ = v.step(.jwksFetched(jwks(0)), now: 1 * s)
        XCTAssertEqual(v.nextTimer, 31 * s)
        _ = v.step(.revocationsFetched(RevocationList()), now: 2 * s)
        XCTAssertEqual(v.nextTimer, 12 * s)
        XCTAssertEqual(v.step(.tick, now: 11 * s), [], "early tick does nothing")
        XCTAssertEqual(v.step(.tick, now: 12 * s), [.fetchRevocations])
        XCTAssertEqual(v.nextTimer, 31 * s)
        _ = v.step(.revocationsFetched(RevocationList()), now: 13 * s)
        XCTAssertEqual(v.nextTimer, 23 * s)
        XCTAssertEqual(v.step(.tick, now: 40 * s), [.fetchJWKS, .fetchRevocations], "a late tick fires everything due")
        XCTAssertEqual(v.counters.jwksFetches, 2)
        XCTAssertEqual(v.counters.revocationFetches, 3)
    }
}
