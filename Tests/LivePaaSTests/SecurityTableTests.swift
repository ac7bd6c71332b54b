import Auth
import Crypto
import Foundation
import LiveAuth
import LiveHTTP
import LivePaaS
import XCTest

/// The issue's security table, sent to tokeninfo and to the mesh entry (local and central
/// strategies): every hostile or broken token is refused with 401 (400 when no token is
/// presented) — never 200, never 500 — and the servers keep serving valid tokens afterwards.
final class SecurityTableTests: XCTestCase {
    struct Case {
        var name: String
        /// The Authorization header (nil: none); or a query token.
        var header: String?
        var query: String? = nil
        var expected: Int
        /// Beyond the HTTP parser's limits (SwiftNIO: 80 KB of headers): the server may refuse
        /// the request itself (400/413/414/431) before any token logic — still refused.
        var oversized = false
    }

    func cases(_ h: PaaSHarness, valid: String) throws -> [Case] {
        let now = Int64(Date().timeIntervalSince1970) * 1_000_000_000
        let hour: Int64 = 3_600_000_000_000
        let issued = try XCTUnwrap(h.issuer.issue(sub: "client-1", realm: .services, scope: ["uid"], azp: "client-1", jti: "t-1", at: now))
        let kid = issued.header.kid
        let parts = valid.split(separator: ".").map(String.init)
        XCTAssertEqual(parts.count, 3)

        func b64(_ bytes: [UInt8]) -> String {
            Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        func b64(_ json: String) -> String { b64(Array(json.utf8)) }
        let claims = JWT.signingInput(header: issued.header, claims: issued.claims).split(separator: ".")[1]

        // Signed with the provider's real key, but invalid for another reason.
        func realSigned(_ mutate: (inout TokenClaims) -> Void) -> String {
            var c = issued.claims
            mutate(&c)
            let hd = issued.header
            let signature = h.issuer.scheme.sign(header: hd, claims: c, with: h.issuer.provider.signingKey(at: now))
            return JWT.compact(signingInput: JWT.signingInput(header: hd, claims: c), signature: signature)
        }
        let expired = try XCTUnwrap(h.issuer.issue(sub: "client-1", realm: .services, scope: ["uid"], azp: "client-1", jti: "t-2",
                                                   at: now - 2 * hour)).raw
        let future = try XCTUnwrap(h.issuer.issue(sub: "client-1", realm: .services, scope: ["uid"], azp: "client-1", jti: "t-3",
                                                  at: now + hour / 6)).raw
        let otherRealm = try XCTUnwrap(h.issuer.issue(sub: "client-1", realm: .customers, scope: ["uid"], azp: "client-1", jti: "t-4",
                                                      at: now)).raw
        // HS256 with the provider's *public* key as the HMAC secret (RFC 8725 §2.1 key confusion).
        let jwk = try XCTUnwrap(h.issuer.jwks(at: now).key(kid: kid))
        let hsInput = b64("{\"alg\":\"HS256\",\"kid\":\"\(kid)\",\"typ\":\"JWT\"}") + "." + claims
        let mac = HMAC<SHA256>.authenticationCode(for: Array(hsInput.utf8), using: SymmetricKey(data: jwk.encoded))
        let hs256 = hsInput + "." + b64(Array(mac))
        // A key the provider never published.
        let strangerRing = ES256KeyRing()
        let strangerHeader = TokenHeader(kid: "key-stranger", alg: "ES256")
        let stranger = JWT.compact(
            signingInput: JWT.signingInput(header: strangerHeader, claims: issued.claims),
            signature: ES256Scheme(keyRing: strangerRing).sign(header: strangerHeader, claims: issued.claims,
                                                               with: SigningKey(kid: "key-stranger", validFrom: 0, secret: 0)))
        let forged = JWT.compact(
            signingInput: JWT.signingInput(header: issued.header, claims: issued.claims),
            signature: ES256Scheme(keyRing: strangerRing).sign(header: issued.header, claims: issued.claims,
                                                               with: SigningKey(kid: kid, validFrom: 0, secret: 0)))
        // The payload changed (sub → admin, a wider scope) under the original signature.
        let tamperedClaims = String(decoding: Data(base64Encoded: Self.padded(parts[1].replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")))!, as: UTF8.self)
            .replacingOccurrences(of: "\"client-1\"", with: "\"admin\"")
        let tampered = parts[0] + "." + b64(tamperedClaims) + "." + parts[2]
        let oneMegabyte = String(repeating: "A", count: 1 << 20)

        return [
            Case(name: "valid (control)", header: "Bearer \(valid)", expected: 200),
            Case(name: "alg none", header: "Bearer " + b64("{\"alg\":\"none\",\"kid\":\"\(kid)\"}") + "." + claims + ".", expected: 401),
            Case(name: "HS256 signed with the public key", header: "Bearer \(hs256)", expected: 401),
            Case(name: "expired", header: "Bearer \(expired)", expected: 401),
            Case(name: "iat in the future", header: "Bearer \(future)", expected: 401),
            Case(name: "nbf in the future", header: "Bearer " + realSigned { $0.nbf = now + hour / 6 }, expected: 401),
            Case(name: "wrong iss", header: "Bearer " + realSigned { $0.iss = "https://evil.example" }, expected: 401),
            Case(name: "wrong realm (another account's)", header: "Bearer \(otherRealm)", expected: 401),
            Case(name: "unknown kid", header: "Bearer \(stranger)", expected: 401),
            Case(name: "forged signature (real kid, another key)", header: "Bearer \(forged)", expected: 401),
            Case(name: "tampered payload, original signature", header: "Bearer \(tampered)", expected: 401),
            Case(name: "truncated", header: "Bearer " + String(valid.dropLast(12)), expected: 401),
            Case(name: "signature removed", header: "Bearer " + parts[0] + "." + parts[1] + ".", expected: 401),
            Case(name: "garbage", header: "Bearer garbage", expected: 401),
            Case(name: "not base64url", header: "Bearer a$b.c%d.e!f", expected: 401),
            Case(name: "two parts", header: "Bearer " + parts[0] + "." + parts[1], expected: 401),
            Case(name: "1 MB token in the query", header: nil, query: oneMegabyte, expected: 401, oversized: true),
            Case(name: "64 KB token in the header", header: "Bearer " + String(oneMegabyte.prefix(64 * 1024)), expected: 401),
            Case(name: "1 MB token in the header", header: "Bearer " + oneMegabyte, expected: 401, oversized: true),
            Case(name: "missing header", header: nil, expected: 400),
            Case(name: "other scheme", header: "Basic Y2xpZW50OnNlY3JldA==", expected: 400),
            Case(name: "empty bearer", header: "Bearer ", expected: 400),
        ]
    }

    static func padded(_ s: String) -> String { s + String(repeating: "=", count: (4 - s.count % 4) % 4) }

    func runTable(strategy: String) async throws {
        let h = try await PaaSHarness(strategy: strategy)
        do {
            let valid = try await h.fetchToken()
            let table = try cases(h, valid: valid)
            for (target, port, path) in [("tokeninfo", h.tokeninfoPort, "/oauth2/tokeninfo"), ("mesh entry", h.meshPorts["api"]!, "/")] {
                for c in table {
                    var headers: [(String, String)] = []
                    if let header = c.header { headers.append(("Authorization", header)) }
                    let query = c.query.map { "?access_token=" + $0 } ?? ""
                    let status: Int
                    do {
                        status = try await h.get(port, path + query, headers: headers).status
                    } catch {
                        // Only an oversized request may be cut off by the HTTP parser; it must not be accepted.
                        XCTAssertTrue(c.oversized, "\(strategy) \(target) \(c.name): no answer (\(error))")
                        continue
                    }
                    if c.oversized && [400, 413, 414, 431].contains(status) {
                        continue  // the HTTP layer refused a 1 MB request: refused, never accepted
                    }
                    XCTAssertEqual(status, c.expected, "\(strategy) \(target): \(c.name)")
                }
                // Still serving.
                let after = try await h.get(port, path, headers: [("Authorization", "Bearer \(valid)")])
                XCTAssertEqual(after.status, 200, "\(strategy) \(target) stopped serving valid tokens")
            }
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    func testSecurityTableLocal() async throws { try await runTable(strategy: "local") }
    func testSecurityTableCentral() async throws { try await runTable(strategy: "central") }
    func testSecurityTableHybrid() async throws { try await runTable(strategy: "hybrid") }
}
