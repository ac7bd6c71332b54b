import Foundation
import Live
import LiveHTTP
import LivePaaS
import NIOCore
import XCTest

/// The provider's two faces go down apart, as the simulator's `jwks` and `token-provider`
/// processes do: a JWKS partition leaves issuance alone; a request to a face that is down is
/// held unanswered (the caller's timeout fires, as behind a partition) and answered once it is
/// back.
final class ProviderOutageTests: XCTestCase {
    func testAJWKSOutageHoldsKeyFetchesAndLeavesIssuanceAlone() async throws {
        let h = try await PaaSHarness(strategy: "local", providerOutages: true)
        let outages = ProviderOutages(file: h.folder + "/outages.json")
        let pool = h.pool(h.providerPort)
        let jwks = HTTPRequestSpec.get(TokenProviderService.jwksPath)
        let revocations = HTTPRequestSpec.get(TokenProviderService.revocationsPath)
        let before = try await pool.send(jwks, timeout: .seconds(2))
        XCTAssertEqual(before.status, 200)

        try outages.set(ProviderOutages.jwks, down: true)
        XCTAssertEqual(outages.down(), [ProviderOutages.jwks])
        do {
            _ = try await pool.send(jwks, timeout: .milliseconds(300))
            XCTFail("the JWKS answered during its outage")
        } catch {}
        do {
            _ = try await pool.send(revocations, timeout: .milliseconds(300))
            XCTFail("the revocation list answered during the JWKS outage")
        } catch {}
        // Issuance is another face: it still answers.
        let token = try await h.fetchToken()
        XCTAssertFalse(token.isEmpty)

        // A fetch held by the outage is answered once the face is back.
        let held = Task { try await pool.send(jwks, timeout: .seconds(5)) }
        try await Task.sleep(nanoseconds: 200_000_000)
        try outages.set(ProviderOutages.jwks, down: false)
        let answer = try await held.value
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(outages.down(), [])
        await h.stop()
    }

    func testATokenEndpointOutageLeavesTheJWKSAlone() async throws {
        let h = try await PaaSHarness(strategy: "local", providerOutages: true)
        let outages = ProviderOutages(file: h.folder + "/outages.json")
        try outages.set(ProviderOutages.tokenEndpoint, down: true)
        do {
            _ = try await TokenClient.fetch(h.pool(h.providerPort), client: h.client, realm: PaaSHarness.realm, timeout: .milliseconds(300))
            XCTFail("a token was issued during the token endpoint's outage")
        } catch {}
        let keys = try await h.pool(h.providerPort).send(.get(TokenProviderService.jwksPath), timeout: .seconds(2))
        XCTAssertEqual(keys.status, 200)
        try outages.set(ProviderOutages.tokenEndpoint, down: false)
        let token = try await h.fetchToken()
        XCTAssertFalse(token.isEmpty)
        await h.stop()
    }
}
