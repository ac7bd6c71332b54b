/// A client's refresh schedule.
import Auth
import XCTest

final class TokenRefresherTests: XCTestCase {
    func testRefreshesAtFractionOfLifetimeAndRetriesAfterFailure() {
        var r = TokenRefresher(retryAfter: 5 * s)
        XCTAssertNil(r.current)
        XCTAssertNil(r.nextRefresh)
        XCTAssertTrue(r.needsToken(now: 0))

        let token = signed(claims(iat: 10 * s, exp: 110 * s))
        r.issued(token, now: 12 * s)
        XCTAssertEqual(r.current, token)
        XCTAssertEqual(r.nextRefresh, 90 * s, "iat + 0.8 × lifetime, on the token's timestamps")
        XCTAssertFalse(r.needsToken(now: 90 * s - 1))
        XCTAssertTrue(r.needsToken(now: 90 * s))

        r.refreshFailed(now: 91 * s)
        XCTAssertEqual(r.nextRefresh, 96 * s)
        XCTAssertEqual(r.current, token, "the old token stays usable while retrying")
        XCTAssertFalse(r.needsToken(now: 95 * s))
        XCTAssertTrue(r.needsToken(now: 96 * s))

        r.invalidate()
        XCTAssertNil(r.current)
        XCTAssertTrue(r.needsToken(now: 0))
    }

    func testCustomFraction() {
        var r = TokenRefresher(refreshAt: 0.5, retryAfter: s)
        r.issued(signed(claims(iat: 0, exp: 30 * 60 * s)), now: 0)
        XCTAssertEqual(r.nextRefresh, 15 * 60 * s)
    }
}
