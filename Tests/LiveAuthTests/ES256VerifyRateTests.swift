import Auth
import LiveAuth
import XCTest

/// Prints the ES256 verify rate — the per-hop CPU cost that local validation pays and the
/// simulator charges. Informational: asserts only that every verify succeeded, not a time.
final class ES256VerifyRateTests: XCTestCase {
    func testPrintES256VerifyRate() throws {
        let issuer = makeIssuer()
        let token = try decoded(try issue(issuer).raw)
        let key = try XCTUnwrap(issuer.jwks(at: baseTime).key(kid: token.header.kid))
        let scheme = ES256Scheme()
        XCTAssertTrue(scheme.verify(token, with: key))  // warms the parsed-key cache

        // At most 2000 verifies or 1.5 s, whichever comes first, so a slow debug build stays quick.
        let clock = ContinuousClock()
        let start = clock.now
        var verified = 0
        var failed = 0
        while verified + failed < 2000, clock.now - start < .milliseconds(1500) {
            if scheme.verify(token, with: key) { verified += 1 } else { failed += 1 }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        XCTAssertEqual(failed, 0)
        print(String(format: "ES256 verify: %d in %.3f s = %.0f verifies/s", verified, seconds, Double(verified) / seconds))
    }
}
