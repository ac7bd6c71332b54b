import Auth
import Foundation
import LiveAuth
import LiveHTTP
import LivePaaS
import XCTest

/// The token provider over HTTP: the client-credentials grant and its refusals, discovery,
/// and key rotation on a schedule with old keys still published while their tokens live.
final class ProviderTests: XCTestCase {
    func testKeysRotateOnScheduleAndOldTokensStayValid() async throws {
        let started = Date()
        let h = try await PaaSHarness(strategy: "local", rotateEvery: 1, tokeninfoRefresh: 0.2)
        do {
            let first = try await h.fetchToken()
            let firstKid = try JWT.decode(first).get().header.kid
            // Wait for the next key to take over signing.
            var second = first
            for _ in 0..<40 where try JWT.decode(second).get().header.kid == firstKid {
                try await Task.sleep(nanoseconds: 100_000_000)
                second = try await h.fetchToken()
            }
            let secondKid = try JWT.decode(second).get().header.kid
            XCTAssertNotEqual(firstKid, secondKid, "the signing key did not rotate within 4 s")
            let jwks = try await h.get(h.providerPort, TokenProviderService.jwksPath)
            let kids = try JWKSDocument.decode(jwks.body).get().jwks.kids
            XCTAssertTrue(kids.contains(firstKid) && kids.contains(secondKid), "\(kids)")
            // Both tokens are good at tokeninfo and at the mesh, which refetches its JWKS for a
            // kid it has not seen — at most every 5 s (HopValidator's rate limit), so wait that out.
            let wait = 5.3 - Date().timeIntervalSince(started)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
            for token in [first, second] {
                let info = try await h.get(h.tokeninfoPort, "/oauth2/tokeninfo", headers: [("Authorization", "Bearer " + token)])
                XCTAssertEqual(info.status, 200, info.bodyText)
                let mesh = try await h.get(h.meshPorts["api"]!, "/", headers: [("Authorization", "Bearer " + token)])
                XCTAssertEqual(mesh.status, 200, mesh.bodyText)
            }
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    func testClientCredentialsGrantAndDiscovery() async throws {
        let h = try await PaaSHarness(strategy: "none")
        do {
            let pool = h.pool(h.providerPort)
            func post(_ body: String, auth: String? = nil, realm: String = "/services") async throws -> HTTPReply {
                var headers = [("Content-Type", "application/x-www-form-urlencoded")]
                if let auth { headers.append(("Authorization", "Basic " + Data(auth.utf8).base64EncodedString())) }
                return try await pool.send(.post("/oauth2/access_token?realm=\(realm)", headers: headers, body: Array(body.utf8)),
                                           timeout: .seconds(5))
            }
            let ok = try await post("grant_type=client_credentials&scope=uid", auth: "client-1:s3cret")
            XCTAssertEqual(ok.status, 200, ok.bodyText)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ok.body)) as? [String: Any])
            XCTAssertEqual(object["token_type"] as? String, "Bearer")
            XCTAssertEqual(object["realm"] as? String, "/services")
            XCTAssertTrue((3599...3600).contains(try XCTUnwrap(object["expires_in"] as? Int)), "\(object)")
            let token = try JWT.decode(try XCTUnwrap(object["access_token"] as? String)).get()
            XCTAssertEqual(token.header.alg, "ES256")
            XCTAssertEqual(token.claims.sub, "client-1")
            XCTAssertEqual(token.claims.scope, ["uid"])
            // Credentials in the form body work too.
            let form = try await post("grant_type=client_credentials&client_id=client-1&client_secret=s3cret")
            XCTAssertEqual(form.status, 200, form.bodyText)
            // Refusals: wrong secret, unknown client, no credentials, wrong grant, scope and realm not granted.
            let refusals: [(String, String?, String, Int, String)] = [
                ("grant_type=client_credentials", "client-1:wrong", "/services", 401, "invalid_client"),
                ("grant_type=client_credentials", "nobody:s3cret", "/services", 401, "invalid_client"),
                ("grant_type=client_credentials", nil, "/services", 401, "invalid_client"),
                ("grant_type=password", "client-1:s3cret", "/services", 400, "unsupported_grant_type"),
                ("grant_type=client_credentials&scope=admin", "client-1:s3cret", "/services", 400, "invalid_scope"),
                ("grant_type=client_credentials", "client-1:s3cret", "/employees", 400, "invalid_request"),
            ]
            for (body, auth, realm, status, error) in refusals {
                let reply = try await post(body, auth: auth, realm: realm)
                XCTAssertEqual(reply.status, status, "\(body) \(auth ?? "-") \(realm): \(reply.bodyText)")
                XCTAssertTrue(reply.bodyText.contains("\"\(error)\""), reply.bodyText)
            }
            let discovery = try await h.get(h.providerPort, "/.well-known/openid-configuration")
            let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(discovery.body)) as? [String: Any])
            XCTAssertEqual(doc["jwks_uri"] as? String, "http://127.0.0.1:\(h.providerPort)\(TokenProviderService.jwksPath)")
            XCTAssertEqual(doc["issuer"] as? String, "http://127.0.0.1:\(h.providerPort)")
            // /metrics counts what happened.
            let metrics = try await h.get(h.providerPort, "/metrics")
            XCTAssertTrue(metrics.bodyText.contains("faultline_paas_tokens_issued_total"), metrics.bodyText)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}

/// `POST /oauth2/revoke` (RFC 7009): the client authenticates, may revoke only its own tokens, and
/// a token that is not genuine revokes nothing.
final class RevocationTests: XCTestCase {
    func testOnlyTheAuthenticatedClientThatHoldsATokenCanRevokeIt() async throws {
        let h = try await PaaSHarness(strategy: "none")
        do {
            let pool = h.pool(h.providerPort)
            func post(_ path: String, _ body: String, auth: String?) async throws -> HTTPReply {
                var headers = [("Content-Type", "application/x-www-form-urlencoded")]
                if let auth { headers.append(("Authorization", "Basic " + Data(auth.utf8).base64EncodedString())) }
                return try await pool.send(.post(path, headers: headers, body: Array(body.utf8)), timeout: .seconds(5))
            }
            func token(_ auth: String) async throws -> String {
                let reply = try await post("/oauth2/access_token?realm=/services", "grant_type=client_credentials", auth: auth)
                XCTAssertEqual(reply.status, 200, reply.bodyText)
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
                return try XCTUnwrap(object["access_token"] as? String)
            }
            func revoked() async throws -> [String] {
                let list = try await h.get(h.providerPort, TokenProviderService.revocationsPath)
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.body)) as? [String: Any])
                return (object["revoked"] as? [[String: Any]] ?? []).compactMap { $0["jti"] as? String }
            }
            let mine = try await token("client-1:s3cret")
            let theirs = try await token("client-2:other")  // registered as "/services": accepted as "services"
            let mineID = try JWT.decode(mine).get().claims.jti

            // No credentials, wrong secret: 401, nothing revoked.
            var reply = try await post("/oauth2/revoke", "token=\(mine)", auth: nil)
            XCTAssertEqual(reply.status, 401, reply.bodyText)
            reply = try await post("/oauth2/revoke", "token=\(mine)", auth: "client-1:wrong")
            XCTAssertEqual(reply.status, 401, reply.bodyText)
            // Another client's genuine token: refused.
            reply = try await post("/oauth2/revoke", "token=\(mine)", auth: "client-2:other")
            XCTAssertEqual(reply.status, 400, reply.bodyText)
            XCTAssertTrue(reply.bodyText.contains("unauthorized_client"), reply.bodyText)
            // A forged token around the victim's jti (signature broken): 200 by RFC 7009 §2.2, revokes nothing.
            reply = try await post("/oauth2/revoke", "token=\(OAuthLoadRun.forge(mine))", auth: "client-1:s3cret")
            XCTAssertEqual(reply.status, 200, reply.bodyText)
            let afterRefusals = try await revoked()
            XCTAssertEqual(afterRefusals, [])
            // Its own token: revoked; tokeninfo then refuses it and still accepts the other client's.
            reply = try await post("/oauth2/revoke", "token=\(mine)", auth: "client-1:s3cret")
            XCTAssertEqual(reply.status, 200, reply.bodyText)
            let afterRevoke = try await revoked()
            XCTAssertEqual(afterRevoke, [mineID])
            let info = try await h.get(h.tokeninfoPort, "/oauth2/tokeninfo", headers: [("Authorization", "Bearer " + theirs)])
            XCTAssertEqual(info.status, 200, info.bodyText)
            XCTAssertTrue(info.bodyText.contains("\"realm\":\"/services\""), info.bodyText)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }
}

/// The load run's forged tokens must never be the genuine ones (an earlier version rewrote the
/// last two base64url characters, which left a token ending in "BA" unchanged).
final class ForgedTokenTests: XCTestCase {
    func testForgedTokensAlwaysFailTheSignatureCheck() throws {
        let issuer = LiveTokenIssuer(provider: TokenProvider(issuer: "t", lifetimes: RealmLifetimes(["services": 3_600_000_000_000]),
                                                             rotation: .never))
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000_000
        let keys = issuer.jwks(at: now)
        for i in 0..<300 {
            let genuine = try XCTUnwrap(issuer.issue(sub: "c", realm: .services, scope: [], azp: nil, jti: "j\(i)", at: now))
            let forged = OAuthLoadRun.forge(genuine.raw)
            XCTAssertNotEqual(forged, genuine.raw)
            let token = try JWT.decode(forged).get()
            XCTAssertEqual(TokenRules(issuer: "t").check(token, keys: keys, revoked: RevocationList(), now: now, scheme: ES256Scheme()),
                           .failure(.badSignature))
        }
    }
}
