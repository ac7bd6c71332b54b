import Auth
import Foundation
import Live
import LiveHTTP
@testable import LivePaaS
import Scenario
import XCTest

/// The live load's clients keep their tokens fresh with the Auth core's `TokenRefresher`, as the
/// simulator's do, re-authenticate at once when a service refuses their token, and availability
/// is counted per request as the simulator counts it.
final class ClientTokensTests: XCTestCase {
    func testTokensAreRefreshedOnScheduleAndAtOnceWhenRefused() async throws {
        let h = try await PaaSHarness(strategy: "local")
        // Tokens live an hour; refreshing at 0.02% of it means every ~0.7 s.
        let tokens = ClientTokens(clients: [h.client], realm: PaaSHarness.realm, refreshAt: 0.0002, retryAfter: 500_000_000)
        let pool = h.pool(h.providerPort)
        try await tokens.fetchAll(pool)
        let first = try XCTUnwrap(tokens.current(0))
        XCTAssertGreaterThan(first.expiresAt, wallClockNanos() + 3_000_000_000_000, "an hour's token")
        let keeping = Task { await tokens.keepFresh(pool, until: wallClockNanos() + 3_000_000_000, seed: 1) }
        var waited = 0
        while tokens.current(0)?.raw == first.raw && waited < 200 {
            try await Task.sleep(nanoseconds: 20_000_000)
            waited += 1
        }
        XCTAssertNotEqual(tokens.current(0)?.raw, first.raw, "refreshed on schedule")
        let scheduled = tokens.refreshes.withLockedValue { $0.done }
        XCTAssertGreaterThanOrEqual(scheduled, 1)

        // A refusal: a new token within a few polls, long before the next scheduled refresh.
        let second = try XCTUnwrap(tokens.current(0)).raw
        tokens.refused(0)
        waited = 0
        while tokens.current(0)?.raw == second && waited < 15 {
            try await Task.sleep(nanoseconds: 20_000_000)
            waited += 1
        }
        XCTAssertNotEqual(tokens.current(0)?.raw, second, "re-authenticated after the refusal")
        keeping.cancel()
        await keeping.value
        await h.stop()
    }

    func testAvailabilityCountsEveryRequestByWhenItWasSent() throws {
        let scenario = try ScenarioLoader.parse(yaml: """
            name: a
            duration: 10s
            cluster: { zones: [a] }
            services: { list: [{ name: api }] }
            workload: [{ calls: { rate: 10/s } }]
            faults: [{ at: 4s, crash: service(tokeninfo), for: 2s }]
            """, file: "a.yaml")
        let ledger = AvailabilityLedger()
        let s: Int64 = 1_000_000_000
        // Before the warm-up (1 s): not counted. In the fault's window [4 s, 6 s): one ok, one
        // unanswered (a timeout), one with an expired token. Outside: two ok.
        ledger.sent(0, at: s / 2, expiredToken: false)
        ledger.sent(1, at: 4 * s, expiredToken: false); ledger.answeredOK(1)
        ledger.sent(2, at: 5 * s, expiredToken: false)
        ledger.sent(3, at: 5 * s, expiredToken: true)
        ledger.sent(4, at: 2 * s, expiredToken: false); ledger.answeredOK(4)
        ledger.sent(5, at: 6 * s, expiredToken: false); ledger.answeredOK(5)
        XCTAssertTrue(ledger.hadExpiredToken(3))
        let m = ledger.metrics(faults: scenario.faults, warmup: s)
        XCTAssertEqual(m["availability"], 3.0 / 5)
        XCTAssertEqual(m["availability_during_fault1_crash"], 1.0 / 3)
        XCTAssertEqual(m["availability_outside_faults"], 1.0)
        XCTAssertEqual(m["requests_with_expired_token"], 1)
    }
}
