/// The central strategy and `none`: tokeninfo calls, cache, retries, stale answers, breaker.
import Auth
import XCTest

final class CentralValidationTests: XCTestCase {
    private func central(
        cacheTTL: Int64? = nil, retries: Int = 1, breaker: CircuitBreakerConfig? = nil
    ) -> HopValidator {
        HopValidator(config: HopValidatorConfig(
            strategy: .central, rules: rules, cacheTTL: cacheTTL, retries: retries, retryBackoff: 100 * ms,
            breaker: breaker))
    }

    private let token = signed(claims())

    private func call(_ request: UInt64, attempt: Int = 0, after: Int64 = 0, token: Token? = nil) -> HopEffect {
        .callTokeninfo(request: request, attempt: attempt, token: token ?? self.token, after: after)
    }

    private func decided(_ request: UInt64, _ decision: Decision, cacheHit: Bool = false) -> HopEffect {
        .decided(request: request, decision, verifiedLocally: false, cacheHit: cacheHit)
    }

    // MARK: none

    func testNoneAcceptsEverythingWithoutContactingAnything() {
        var v = HopValidator(config: HopValidatorConfig(strategy: .none, rules: rules))
        XCTAssertEqual(v.start(now: 0), [])
        var expired = signed(claims(exp: 1))
        expired.claims.sub = "forged"
        XCTAssertEqual(v.step(.validate(request: 1, token: expired), now: 50 * s), [decided(1, .accept(expired.claims))])
        XCTAssertEqual(v.step(.validate(request: 2, token: nil), now: 50 * s), [decided(2, .accept(.anonymous))])
        XCTAssertNil(v.nextTimer)
        XCTAssertEqual(v.counters.tokeninfoCalls, 0)
        XCTAssertEqual(v.counters.accepted, 2)
    }

    func testMissingTokenIsBadRequestUnderEveryValidatingStrategy() {
        for strategy in [ValidationStrategy.central, .local, .hybrid] {
            var v = HopValidator(config: HopValidatorConfig(strategy: strategy, rules: rules))
            _ = v.start(now: 0)
            _ = v.step(.jwksFetched(jwks(0)), now: 0)
            XCTAssertEqual(v.step(.validate(request: 1, token: nil), now: 0), [decided(1, .badRequest)], "\(strategy)")
        }
    }

    // MARK: calls and cache

    func testCallsTokeninfoAndAcceptsOn200() {
        var v = central()
        XCTAssertEqual(v.start(now: 0), [])
        XCTAssertEqual(v.step(.validate(request: 1, token: token), now: 0), [call(1)])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 0), [decided(1, .accept(token.claims))])
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 0), [call(2)], "no cache configured")
        XCTAssertEqual(v.counters.tokeninfoCalls, 2)
    }

    func testPositiveAnswerIsCachedUntilTTL() {
        var v = central(cacheTTL: 10 * s)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 1 * s)
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 11 * s - 1), [decided(2, .accept(token.claims), cacheHit: true)])
        XCTAssertEqual(v.step(.validate(request: 3, token: token), now: 11 * s), [call(3)], "ttl counts from the answer")
        XCTAssertEqual(v.counters.cacheHits, 1)
    }

    func testCacheNeverOutlivesTheToken() {
        var v = central(cacheTTL: 60 * s)
        _ = v.step(.validate(request: 1, token: token), now: 95 * s)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 95 * s)
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 100 * s - 1), [decided(2, .accept(token.claims), cacheHit: true)])
        XCTAssertEqual(v.step(.validate(request: 3, token: token), now: 100 * s), [call(3)], "token exp bounds the entry")
    }

    func testNegativeAnswerIsCachedAnd400IsNot() {
        var v = central(cacheTTL: 10 * s)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, unauthorized(.revoked)), now: 0), [decided(1, .reject(.revoked))])
        XCTAssertEqual(v.step(.validate(request: 2, token: token), now: 5 * s), [decided(2, .reject(.revoked), cacheHit: true)])

        let other = signed(claims(jti: "j2"))
        _ = v.step(.validate(request: 3, token: other), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 3, attempt: 0, unauthorized(nil)), now: 0), [decided(3, .reject(.badSignature))],
                       "a 401 without a typed reason")

        let third = signed(claims(jti: "j3"))
        _ = v.step(.validate(request: 4, token: third), now: 0)
        let badRequest = TokeninfoResponse(status: 400, body: [.init("error", .string("invalid_request"))])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 4, attempt: 0, .response(badRequest)), now: 0), [decided(4, .badRequest)])
        XCTAssertEqual(v.step(.validate(request: 5, token: third), now: 0), [call(5, token: third)])
    }

    func testTamperedTokenWithSameRawIsNotServedFromCache() {
        var v = central(cacheTTL: 10 * s)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 0)
        var forged = token
        forged.claims.scope = ["admin"]
        XCTAssertEqual(forged.raw, token.raw)
        XCTAssertEqual(v.step(.validate(request: 2, token: forged), now: 0), [call(2, token: forged)])
    }

    func testCacheSweepDropsOnlyExpiredEntries() {
        var v = central(cacheTTL: 10 * s)
        func answer(_ jti: String, at now: Int64, request: UInt64) {
            let t = signed(claims(jti: jti))
            _ = v.step(.validate(request: request, token: t), now: now)
            _ = v.step(.tokeninfoAnswered(request: request, attempt: 0, ok(t)), now: now)
        }
        for i in 0..<30 { answer("old-\(i)", at: 0, request: UInt64(i)) }
        for i in 0..<30 { answer("new-\(i)", at: 5 * s, request: UInt64(100 + i)) }
        XCTAssertEqual(v.cacheSize, 60)
        for i in 0..<4 { answer("late-\(i)", at: 12 * s, request: UInt64(200 + i)) }
        XCTAssertEqual(v.cacheSize, 34, "the 64th entry swept the 30 expired ones")
        let kept = signed(claims(jti: "new-0"))
        XCTAssertEqual(v.step(.validate(request: 999, token: kept), now: 12 * s),
                       [decided(999, .accept(kept.claims), cacheHit: true)])
        let expired = signed(claims(jti: "old-0"))
        XCTAssertEqual(v.step(.validate(request: 998, token: expired), now: 12 * s), [call(998, token: expired)])
    }

    // MARK: failures

    func testRetriesWithBackoffThenUnavailable() {
        var v = central(retries: 2)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 1 * s), [call(1, attempt: 1, after: 100 * ms)])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 1, .failed), now: 2 * s), [call(1, attempt: 2, after: 100 * ms)])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 2, .failed), now: 3 * s), [decided(1, .unavailable("tokeninfo unavailable"))])
        XCTAssertEqual(v.counters.tokeninfoCalls, 3)
        XCTAssertEqual(v.counters.tokeninfoRetries, 2)
        XCTAssertEqual(v.counters.tokeninfoFailures, 3)
    }

    func testRetrySucceeds() {
        var v = central()
        _ = v.step(.validate(request: 1, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 1, ok(token)), now: 0), [decided(1, .accept(token.claims))])
    }

    func testNoRetriesMeansFirstFailureIsFinalAnd5xxCountsAsFailure() {
        var v = central(retries: 0)
        _ = v.step(.validate(request: 1, token: token), now: 0)
        let serverError = TokeninfoResponse(status: 503, body: [])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, .response(serverError)), now: 0), [decided(1, .tokeninfoUnavailable)])
    }

    func testStaleAnswersAreIgnored() {
        var v = central()
        _ = v.step(.validate(request: 1, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(token)), now: 0), [], "superseded attempt")
        XCTAssertEqual(v.pendingTokeninfoCalls, 1)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 1, ok(token)), now: 0), [decided(1, .accept(token.claims))])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 1, ok(token)), now: 0), [], "already decided")
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 9, attempt: 0, .failed), now: 0), [], "never asked")
        XCTAssertEqual(v.counters.staleAnswers, 3)
        XCTAssertEqual(v.counters.tokeninfoFailures, 1)
        XCTAssertEqual(v.counters.accepted, 1)
    }

    // MARK: breaker

    func testBreakerOpensFailsFastThenHalfOpensWithOneTrialAndCloses() {
        var v = central(retries: 0, breaker: CircuitBreakerConfig(failureThreshold: 2, openFor: 10 * s))
        for r: UInt64 in 1...2 { _ = v.step(.validate(request: r, token: token), now: 0) }
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 1 * s), [decided(1, .tokeninfoUnavailable)])
        XCTAssertEqual(v.breakerState, .closed(consecutiveFailures: 1))
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 2, attempt: 0, .failed), now: 2 * s), [decided(2, .tokeninfoUnavailable)])
        XCTAssertEqual(v.breakerState, .open(until: 12 * s))
        XCTAssertEqual(v.counters.breakerOpens, 1)
        XCTAssertEqual(v.nextTimer, 12 * s)

        XCTAssertEqual(v.step(.validate(request: 3, token: token), now: 12 * s - 1), [decided(3, .unavailable("circuit open"))])
        XCTAssertEqual(v.counters.breakerFastFails, 1)

        XCTAssertEqual(v.step(.tick, now: 12 * s), [])
        XCTAssertEqual(v.breakerState, .halfOpen(trialInFlight: false))
        XCTAssertNil(v.nextTimer)
        XCTAssertEqual(v.step(.validate(request: 4, token: token), now: 12 * s), [call(4)], "the trial")
        XCTAssertEqual(v.step(.validate(request: 5, token: token), now: 12 * s), [decided(5, .circuitOpen)], "trial in flight")
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 4, attempt: 0, ok(token)), now: 13 * s), [decided(4, .accept(token.claims))])
        XCTAssertEqual(v.breakerState, .closed(consecutiveFailures: 0))
        XCTAssertEqual(v.step(.validate(request: 6, token: token), now: 13 * s), [call(6)])
    }

    func testFailedTrialReopensAndSuccessResetsCount() {
        var v = central(retries: 0, breaker: CircuitBreakerConfig(failureThreshold: 2, openFor: 10 * s))
        // A success between failures resets the consecutive count.
        for r: UInt64 in 1...3 { _ = v.step(.validate(request: r, token: token), now: 0) }
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, .failed), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 2, attempt: 0, ok(token)), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 3, attempt: 0, .failed), now: 0)
        XCTAssertEqual(v.breakerState, .closed(consecutiveFailures: 1))
        _ = v.step(.validate(request: 4, token: token), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 4, attempt: 0, .failed), now: 0)
        XCTAssertEqual(v.breakerState, .open(until: 10 * s))

        // Without a tick, the next validation after the cool-down is the trial.
        XCTAssertEqual(v.step(.validate(request: 5, token: token), now: 10 * s), [call(5)])
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 5, attempt: 0, .failed), now: 11 * s), [decided(5, .tokeninfoUnavailable)])
        XCTAssertEqual(v.breakerState, .open(until: 21 * s))
        XCTAssertEqual(v.counters.breakerOpens, 2)
        XCTAssertEqual(v.step(.validate(request: 6, token: token), now: 20 * s), [decided(6, .circuitOpen)])
    }

    func testOpenBreakerCancelsPendingRetryButServesCache() {
        var v = central(cacheTTL: 60 * s, retries: 3, breaker: CircuitBreakerConfig(failureThreshold: 1, openFor: 10 * s))
        let cached = signed(claims(jti: "cached"))
        _ = v.step(.validate(request: 1, token: cached), now: 0)
        _ = v.step(.tokeninfoAnswered(request: 1, attempt: 0, ok(cached)), now: 0)

        _ = v.step(.validate(request: 2, token: token), now: 0)
        XCTAssertEqual(v.step(.tokeninfoAnswered(request: 2, attempt: 0, .failed), now: 1 * s), [decided(2, .circuitOpen)], "no retry")
        XCTAssertEqual(v.counters.tokeninfoRetries, 0)
        XCTAssertEqual(v.step(.validate(request: 3, token: cached), now: 2 * s), [decided(3, .accept(cached.claims), cacheHit: true)])
    }
}
