import Auth
import Foundation
import LiveAuth
import XCTest

final class JWKSDocumentTests: XCTestCase {
    let issuer = makeIssuer(rotation: KeyRotation(interval: 10 * minutes, prePublish: 5 * minutes, retainAfter: hours))

    func testRoundTripAndVerificationWithTheFetchedKeys() throws {
        let now = baseTime
        let published = issuer.jwks(at: now)
        XCTAssertGreaterThan(published.keys.count, 1)
        let document = try JWKSDocument.decode(JWKSDocument.encode(published)).get()
        XCTAssertEqual(document.skipped, 0)
        XCTAssertEqual(document.jwks.kids, published.kids)
        XCTAssertEqual(document.jwks.keys.map(\.encoded), published.keys.map(\.encoded))
        XCTAssertEqual(document.jwks.keys.map(\.validFrom), Array(repeating: 0, count: published.keys.count))

        let token = try issue(issuer, at: now)
        XCTAssertEqual(try judge(token.raw, keys: document.jwks, at: now), .success(token.claims))
    }

    func testDocumentShape() throws {
        let published = issuer.jwks(at: baseTime)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(JWKSDocument.encode(published))) as? [String: Any])
        let keys = try XCTUnwrap(object["keys"] as? [[String: Any]])
        XCTAssertEqual(keys.count, published.keys.count)
        let first = keys[0]
        XCTAssertEqual(first["kty"] as? String, "EC")
        XCTAssertEqual(first["crv"] as? String, "P-256")
        XCTAssertEqual(first["use"] as? String, "sig")
        XCTAssertEqual(first["alg"] as? String, "ES256")
        XCTAssertEqual(first["kid"] as? String, published.keys[0].kid)
        let x = try XCTUnwrap(Base64URL.decode(try XCTUnwrap(first["x"] as? String)))
        let y = try XCTUnwrap(Base64URL.decode(try XCTUnwrap(first["y"] as? String)))
        XCTAssertEqual([0x04] + x + y, published.keys[0].encoded)
    }

    func testModelKeysAreLeftOut() {
        let model = issuer.provider.jwks(at: baseTime)
        XCTAssertEqual(String(decoding: JWKSDocument.encode(model), as: UTF8.self), #"{"keys":[]}"#)
    }

    func testUnusableKeysAreSkippedAndCounted() throws {
        let good = try XCTUnwrap(issuer.jwks(at: baseTime).keys.first)
        let x = Base64URL.encode(good.encoded[1..<33])
        let y = Base64URL.encode(good.encoded[33..<65])
        let offCurve = Base64URL.encode([UInt8](repeating: 1, count: 32))
        let json = """
            {"keys":[
              {"kty":"RSA","kid":"rsa","n":"AQAB","e":"AQAB"},
              {"kty":"EC","crv":"P-384","kid":"p384","x":"\(x)","y":"\(y)"},
              {"kty":"EC","crv":"P-256","kid":"short","x":"\(x.dropLast(2))","y":"\(y)"},
              {"kty":"EC","crv":"P-256","kid":"off-curve","x":"\(offCurve)","y":"\(offCurve)"},
              {"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":"\(x)","y":"\(y)"},
              {"kty":"EC","crv":"P-256","kid":"es384","alg":"ES384","x":"\(x)","y":"\(y)"},
              {"kty":"EC","crv":"P-256","x":"\(x)","y":"\(y)"},
              "not an object",
              {"kty":"EC","crv":"P-256","kid":"\(good.kid)","x":"\(x)","y":"\(y)","extra":[1,2]}
            ]}
            """
        let document = try JWKSDocument.decode(Array(json.utf8)).get()
        XCTAssertEqual(document.skipped, 8)
        XCTAssertEqual(document.jwks.kids, [good.kid])
        XCTAssertEqual(document.jwks.keys.first?.encoded, good.encoded)
    }

    func testUnreadableDocumentsAreErrors() {
        XCTAssertEqual(JWKSDocument.decode(Array("<html>".utf8)), .failure(.notJSON))
        XCTAssertEqual(JWKSDocument.decode([]), .failure(.notJSON))
        XCTAssertEqual(JWKSDocument.decode(Array(#"{"foo":[]}"#.utf8)), .failure(.noKeysArray))
        XCTAssertEqual(JWKSDocument.decode(Array(#"{"keys":{}}"#.utf8)), .failure(.noKeysArray))
        XCTAssertEqual(JWKSDocument.decode(Array("[]".utf8)), .failure(.noKeysArray))
        XCTAssertEqual(JWKSDocument.decode(Array(#"{"keys":[]}"#.utf8)), .success(JWKSDocument(jwks: JWKS(keys: []))))
    }

    func testOpenIDConfiguration() throws {
        let configuration = OpenIDConfiguration(issuer: issuerName, baseURL: "http://127.0.0.1:8080/")
        XCTAssertEqual(configuration.jwksURI, "http://127.0.0.1:8080/oauth2/connect/keys")
        XCTAssertEqual(configuration.tokenEndpoint, "http://127.0.0.1:8080/oauth2/access_token")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(configuration.json)) as? [String: Any])
        XCTAssertEqual(object["issuer"] as? String, issuerName)
        XCTAssertEqual(object["jwks_uri"] as? String, configuration.jwksURI)
        XCTAssertEqual(object["token_endpoint"] as? String, configuration.tokenEndpoint)
        XCTAssertEqual(object["id_token_signing_alg_values_supported"] as? [String], ["ES256"])
        XCTAssertEqual(object["grant_types_supported"] as? [String], ["client_credentials"])
        XCTAssertEqual(object["response_types_supported"] as? [String], ["token"])
        XCTAssertEqual(object.count, 6)
    }
}
