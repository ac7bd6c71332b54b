import Auth
import LiveAuth
import XCTest

final class JWTCodecTests: XCTestCase {
    let claims = TokenClaims(
        sub: "alice", realm: "employees", scope: ["uid", "read"], iss: "iss", iat: 1_700_000_000 * nanos + 999,
        exp: 1_700_003_600 * nanos, azp: "client", jti: "j1", nbf: 1_700_000_000 * nanos)

    func testSigningInputIsFixedOrderJSONInWholeSeconds() throws {
        let input = JWT.signingInput(header: TokenHeader(kid: "key-3"), claims: claims)
        let encoded = input.split(separator: ".").map(String.init)
        XCTAssertEqual(encoded.count, 2)
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(Base64URL.decode(encoded[0])), as: UTF8.self),
            #"{"alg":"ES256","kid":"key-3","typ":"JWT"}"#)
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(Base64URL.decode(encoded[1])), as: UTF8.self),
            #"{"sub":"alice","realm":"employees","scope":["uid","read"],"iss":"iss","iat":1700000000,"#
                + #""exp":1700003600,"azp":"client","jti":"j1","nbf":1700000000}"#)
    }

    func testOptionalClaimsAreOmittedAndNegativeTimesRoundDown() throws {
        var bare = claims
        bare.azp = nil
        bare.nbf = nil
        bare.iat = -1  // one nanosecond before the epoch is second −1
        let payload = try XCTUnwrap(Base64URL.decode(parts(JWT.signingInput(header: TokenHeader(kid: "k"), claims: bare))[1]))
        let json = String(decoding: payload, as: UTF8.self)
        XCTAssertFalse(json.contains("azp"))
        XCTAssertFalse(json.contains("nbf"))
        XCTAssertTrue(json.contains(#""iat":-1,"#), json)
    }

    func testDecodeInvertsEncodeForWholeSecondClaimsIncludingEscapes() throws {
        var tricky = claims
        tricky.iat = 1_700_000_000 * nanos
        tricky.sub = "quote\" backslash\\ newline\n tab\t nul\u{0} émoji 🎟 slash/"
        tricky.scope = ["a b", "", "ü"]
        let header = TokenHeader(kid: "kid \"x\"", alg: "ES256")
        let raw = JWT.compact(
            signingInput: JWT.signingInput(header: header, claims: tricky), signature: Signature(bytes: [1, 2, 3]))
        let token = try decoded(raw)
        XCTAssertEqual(token.header, header)
        XCTAssertEqual(token.claims, tricky)
        XCTAssertEqual(token.signature, Signature(bytes: [1, 2, 3]))
        XCTAssertEqual(token.raw, raw)
    }

    func testScopeMayBeASpaceSeparatedStringAndTimesMayBeFractional() throws {
        let token = try decoded(rawToken(
            header: #"{"alg":"ES256","kid":"key-0"}"#,
            payload: #"{"sub":"s","realm":"services","scope":"uid  cn read","iss":"i","iat":1700000000.5,"#
                + #""exp":1.7000036E9,"jti":"j"}"#))
        XCTAssertEqual(token.claims.scope, ["uid", "cn", "read"])
        XCTAssertEqual(token.claims.iat, 1_700_000_000 * nanos + 500_000_000)
        XCTAssertEqual(token.claims.exp, 1_700_003_600 * nanos)
        XCTAssertNil(token.claims.azp)
        XCTAssertNil(token.claims.nbf)
    }

    func testFarFutureSaturatesAndImpossibleTimesAreErrors() throws {
        func payload(exp: String) -> String {
            rawToken(header: #"{"alg":"ES256","kid":"k"}"#, payload: #"{"iat":0,"exp":\#(exp)}"#)
        }
        XCTAssertEqual(try decoded(payload(exp: "1e300")).claims.exp, .max)
        XCTAssertEqual(try decoded(payload(exp: "99999999999999999999")).claims.exp, .max)
        XCTAssertEqual(try decoded(payload(exp: "9300000000")).claims.exp, .max)
        XCTAssertEqual(try decoded(payload(exp: "-5")).claims.exp, -5 * nanos)
        XCTAssertEqual(decodeError(payload(exp: "-1e300")), .outOfRange("exp"))
        XCTAssertEqual(decodeError(payload(exp: "-9300000000")), .outOfRange("exp"))
        XCTAssertEqual(decodeError(payload(exp: "1e400")), .outOfRange("exp"))
    }

    func testMissingStringClaimsDecodeEmptySoTheRulesNameThem() throws {
        let issuer = makeIssuer()
        let raw = rawToken(header: #"{"alg":"ES256","kid":"key-0"}"#, payload: #"{"realm":"services","iat":0,"exp":1}"#)
        let token = try decoded(raw)
        XCTAssertEqual(token.claims.sub, "")
        XCTAssertEqual(token.claims.scope, [])
        XCTAssertEqual(
            rejection(try judge(raw, keys: issuer.jwks(at: baseTime), at: baseTime)), .missingClaim("sub"))
    }

    func testMissingKidDecodesEmptyAndIsAnUnknownKey() throws {
        let issuer = makeIssuer()
        let raw = rawToken(
            header: #"{"alg":"ES256"}"#,
            payload: #"{"sub":"s","realm":"services","iss":"\#(issuerName)","jti":"j","iat":0,"exp":1}"#)
        XCTAssertEqual(try decoded(raw).header.kid, "")
        XCTAssertEqual(rejection(try judge(raw, keys: issuer.jwks(at: baseTime), at: baseTime)), .unknownKey(kid: ""))
    }

    func testStructuralDecodeErrors() {
        let header = #"{"alg":"ES256","kid":"k"}"#
        let cases: [(String, JWTDecodeError)] = [
            ("", .notThreeParts),
            ("garbage", .notThreeParts),
            ("a.b", .notThreeParts),
            ("a.b.c.d", .notThreeParts),
            ("..", .badJSON(.header)),
            ("a.b.c", .badBase64URL(.header)),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1}"#) + "=", .badBase64URL(.signature)),
            (rawToken(header: "[]", payload: "{}"), .notAnObject(.header)),
            (rawToken(header: "{\"alg\":1}", payload: "{}"), .wrongType(.header, "alg")),
            (rawToken(header: #"{"kid":"k"}"#, payload: "{}"), .missingMember(.header, "alg")),
            (rawToken(header: #"{"alg":"ES256","kid":7}"#, payload: "{}"), .wrongType(.header, "kid")),
            (rawToken(header: #"{"alg":"ES256","crit":["exp"]}"#, payload: #"{"iat":0,"exp":1}"#), .unsupportedCritical),
            (rawToken(header: header, payload: "\"text\""), .notAnObject(.payload)),
            (rawToken(header: header, payload: #"{"iat":0}"#), .missingMember(.payload, "exp")),
            (rawToken(header: header, payload: #"{"exp":0}"#), .missingMember(.payload, "iat")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":true}"#), .wrongType(.payload, "exp")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":"1"}"#), .wrongType(.payload, "exp")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"nbf":null}"#), .wrongType(.payload, "nbf")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"sub":42}"#), .wrongType(.payload, "sub")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"azp":false}"#), .wrongType(.payload, "azp")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"scope":["a",1]}"#), .wrongType(.payload, "scope")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"scope":{}}"#), .wrongType(.payload, "scope")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"sub":"a","sub":"b"}"#), .duplicateMember(.payload, "sub")),
            (rawToken(header: #"{"alg":"none","alg":"ES256"}"#, payload: "{}"), .duplicateMember(.header, "alg")),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,}"#), .badJSON(.payload)),
            (rawToken(header: header, payload: #"{"iat":0,"exp":01}"#), .badJSON(.payload)),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1} x"#), .badJSON(.payload)),
            (rawToken(header: header, payload: #"{"iat":0,"exp":1,"sub":"\ud800"}"#), .badJSON(.payload)),
            (rawToken(header: header, payload: String(repeating: "[", count: 40) + String(repeating: "]", count: 40)),
             .badJSON(.payload)),
        ]
        for (raw, expected) in cases {
            XCTAssertEqual(decodeError(raw), expected, raw)
        }
    }

    func testInvalidUTF8InAStringIsRejected() {
        let payload = Array(#"{"iat":0,"exp":1,"sub":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let raw = Base64URL.encode(Array(#"{"alg":"ES256","kid":"k"}"#.utf8)) + "." + Base64URL.encode(payload) + "."
        XCTAssertEqual(decodeError(raw), .badJSON(.payload))
    }

    func testLengthLimitComesFirstAndIsConfigurable() {
        let megabyte = String(repeating: "A", count: 1 << 20)
        XCTAssertEqual(decodeError(megabyte + "." + megabyte + "." + megabyte), .tooLong(maxLength: 8192))
        let small = rawToken(header: #"{"alg":"ES256","kid":"k"}"#, payload: #"{"iat":0,"exp":1}"#)
        XCTAssertNil(decodeError(small))
        XCTAssertEqual(decodeError(small, maxLength: small.utf8.count - 1), .tooLong(maxLength: small.utf8.count - 1))
        XCTAssertNil(decodeError(small, maxLength: small.utf8.count))
    }

    func testReasonsAreShortAndSayWhatIsWrong() {
        XCTAssertEqual(JWTDecodeError.notThreeParts.description, "not three parts")
        XCTAssertEqual(JWTDecodeError.badBase64URL(.payload).description, "bad base64url in payload")
        XCTAssertEqual(JWTDecodeError.tooLong(maxLength: 8192).description, "token longer than 8192 bytes")
        XCTAssertEqual(JWTDecodeError.missingMember(.payload, "exp").description, "missing exp in payload")
    }
}
