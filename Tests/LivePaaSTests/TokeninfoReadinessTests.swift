import Auth
import Foundation
import Live
import LivePaaS
import Logging
import XCTest

/// A tokeninfo node that has not loaded the provider's keys (just restarted while the provider
/// is out of reach) cannot judge a token: it answers 503, never 401 — a 401 would make every
/// central validator refuse valid tokens. Found by `Scenarios/chaos/tokeninfo-outage.yaml`.
final class TokeninfoReadinessTests: XCTestCase {
    func testTokeninfoWithoutKeysAnswersUnavailableNotInvalid() async throws {
        let h = try await PaaSHarness(strategy: "central")
        let genuine = try await h.fetchToken()
        // A second tokeninfo whose provider address answers nobody: it never gets keys.
        let nowhere = "http://127.0.0.1:\(try Ports.free(1)[0])"
        let cold = try TokeninfoService(
            config: TokeninfoConfig(port: try Ports.free(1)[0], issuer: "http://127.0.0.1:\(h.providerPort)",
                                    jwksURL: nowhere + TokenProviderService.jwksPath, realms: [PaaSHarness.realm], refresh: 30),
            group: h.group, logger: Logger(label: "test"))
        XCTAssertFalse(cold.ready)
        let answer = await cold.respond(to: genuine)
        XCTAssertEqual(answer.status, 503)
        XCTAssertEqual(answer.field("error"), .string("temporarily_unavailable"))
        // A request without a token is still the caller's fault (400), ready or not.
        let missing = await cold.respond(to: nil)
        XCTAssertEqual(missing.status, 400)
        // The warm node judges the same token valid.
        let warm = await h.tokeninfo.respond(to: genuine)
        XCTAssertEqual(warm.status, 200)
        await cold.shutdown()
        await h.stop()
    }
}
