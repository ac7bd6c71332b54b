import Auth
import Crypto
import LiveAuth
import XCTest

/// Issue → compact → decode → `TokenRules.check`, and the attacks a JWT validator must survive
/// (RFC 8725 §2), each judged the way tokeninfo judges a presented bearer string.
final class ES256SchemeTests: XCTestCase {
    let issuer = makeIssuer()
    var keys: JWKS { issuer.jwks(at: baseTime) }

    func testIssuedTokenDecodesToItselfAndPassesTheRules() throws {
        for azp in ["shop-client", nil] as [String?] {
            let token = try issue(issuer, azp: azp)
            XCTAssertEqual(token.header, TokenHeader(kid: "key-0", alg: "ES256"))
            XCTAssertEqual(token.claims.iat, 1_700_000_000 * nanos, "iat rounded down to a whole second")
            XCTAssertEqual(token.claims.exp, token.claims.iat + 8 * hours)
            XCTAssertEqual(token.claims.iss, issuerName)
            XCTAssertEqual(token.claims.azp, azp)
            XCTAssertEqual(token.signature.bytes.count, 64)
            XCTAssertEqual(parts(token.raw).count, 3)
            XCTAssertEqual(try decoded(token.raw), token)
            XCTAssertEqual(try judge(token.raw, keys: keys, at: baseTime), .success(token.claims))
        }
    }

    func testTheIssuedTokenItselfVerifiesWithoutDecoding() throws {
        let token = try issue(issuer)
        XCTAssertTrue(ES256Scheme().verify(token, with: try XCTUnwrap(keys.key(kid: "key-0"))))
    }

    func testSignaturesAreRandomisedButBothVerify() throws {
        // ECDSA signs with a fresh nonce; equal tokens differ only in the signature part.
        let first = try issue(issuer)
        let second = try issue(issuer)
        XCTAssertEqual(first.claims, second.claims)
        XCTAssertNotEqual(first.signature, second.signature)
        XCTAssertEqual(try judge(second.raw, keys: keys, at: baseTime), .success(second.claims))
    }

    func testSubSecondLifetimeIsFlooredSoDecodeGivesTheSameToken() throws {
        let provider = TokenProvider(
            issuer: issuerName, lifetimes: RealmLifetimes(["services": 1_500_000_000]), rotation: .never)
        let shortLived = LiveTokenIssuer(provider: provider)
        let token = try issue(shortLived)
        XCTAssertEqual(token.claims.exp - token.claims.iat, 1 * nanos)
        XCTAssertEqual(try decoded(token.raw), token)
        XCTAssertEqual(try judge(token.raw, keys: shortLived.jwks(at: baseTime), at: baseTime), .success(token.claims))
    }

    func testOneSchemeVerifiesAgainstManyKeys() throws {
        // More distinct keys than the parsed-key cache holds: it starts over, never goes wrong.
        let scheme = ES256Scheme()
        for round in 0..<2 {
            for _ in 0..<70 {
                let other = makeIssuer()
                let token = try issue(other)
                XCTAssertEqual(try judge(token.raw, keys: other.jwks(at: baseTime), at: baseTime, scheme: scheme),
                               .success(token.claims), "round \(round)")
            }
        }
    }

    func testUnservedRealmGetsNoToken() {
        XCTAssertNil(issuer.issue(sub: "s", realm: Realm("partners"), scope: [], azp: nil, jti: "j", at: baseTime))
    }

    // MARK: - Security table

    func testAlgNoneWithEmptySignatureIsUnsupported() throws {
        let token = try issue(issuer)
        var header = token.header
        header.alg = "none"
        let raw = JWT.signingInput(header: header, claims: token.claims) + "."
        XCTAssertEqual(try decoded(raw).signature.bytes, [])
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime)), .unsupportedAlgorithm("none"))
        // Even a misconfigured allow list does not let ES256Scheme accept it.
        let lax = TokenRules(issuer: issuerName, acceptedAlgorithms: ["ES256", "none"])
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime, rules: lax)), .badSignature)
    }

    func testHS256SignedWithThePublicKeyIsRejected() throws {
        let token = try issue(issuer)
        var header = token.header
        header.alg = "HS256"
        let input = JWT.signingInput(header: header, claims: token.claims)
        let published = try XCTUnwrap(keys.key(kid: "key-0"))
        // The classic key confusion: the attacker MACs with bytes the provider publishes.
        for secret in [published.encoded, JWKSDocument.encode(keys)] {
            let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: secret))
            let raw = JWT.compact(signingInput: input, signature: Signature(bytes: Array(mac)))
            XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime)), .unsupportedAlgorithm("HS256"))
            let lax = TokenRules(issuer: issuerName, acceptedAlgorithms: ["ES256", "HS256"])
            XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime, rules: lax)), .badSignature)
        }
    }

    func testSchemeJudgesOnlyES256EvenWhenTheSignatureIsGood() throws {
        // A P-256 signature by the right key under another alg name: a service that allows that
        // name must still not have ES256Scheme vouch for it.
        let token = try issue(issuer)
        var header = token.header
        header.alg = "ES256K"
        let raw = signedRaw(header: header, claims: token.claims, ring: issuer.keyRing)
        XCTAssertEqual(try decoded(raw).signature.bytes.count, 64)
        let lax = TokenRules(issuer: issuerName, acceptedAlgorithms: ["ES256", "ES256K"])
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime, rules: lax)), .badSignature)
    }

    func testExpiredAfterExpPlusLeeway() throws {
        let token = try issue(issuer)
        let leeway = 30 * nanos
        XCTAssertEqual(try judge(token.raw, keys: keys, at: token.claims.exp + leeway), .success(token.claims))
        XCTAssertEqual(rejection(try judge(token.raw, keys: keys, at: token.claims.exp + leeway + 1)), .expired)
    }

    func testIssuedInTheFutureBeyondLeeway() throws {
        let token = try issue(issuer)
        let leeway = 30 * nanos
        XCTAssertEqual(try judge(token.raw, keys: keys, at: token.claims.iat - leeway), .success(token.claims))
        XCTAssertEqual(rejection(try judge(token.raw, keys: keys, at: token.claims.iat - leeway - 1)), .notYetValid)
    }

    func testNotBeforeInTheFuture() throws {
        let token = try issue(issuer)
        var claims = token.claims
        claims.nbf = claims.iat + 5 * minutes
        let raw = signedRaw(header: token.header, claims: claims, ring: issuer.keyRing)
        XCTAssertEqual(try decoded(raw).claims, claims)
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: claims.iat)), .notYetValid)
        XCTAssertEqual(try judge(raw, keys: keys, at: claims.nbf! - 30 * nanos), .success(claims))
    }

    func testWrongIssuer() throws {
        let token = try issue(issuer)
        let rules = TokenRules(issuer: "https://other.test")
        XCTAssertEqual(rejection(try judge(token.raw, keys: keys, at: baseTime, rules: rules)), .wrongIssuer(issuerName))
    }

    func testWrongRealm() throws {
        let token = try issue(issuer, realm: .services)
        let rules = TokenRules(issuer: issuerName, acceptedRealms: ["employees"])
        XCTAssertEqual(rejection(try judge(token.raw, keys: keys, at: baseTime, rules: rules)), .wrongRealm("services"))
        let open = TokenRules(issuer: issuerName, acceptedRealms: ["employees", "services"])
        XCTAssertEqual(try judge(token.raw, keys: keys, at: baseTime, rules: open), .success(token.claims))
    }

    func testUnknownKid() throws {
        let token = try issue(issuer)
        var header = token.header
        header.kid = "key-99"
        let raw = signedRaw(header: header, claims: token.claims, ring: issuer.keyRing)
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime)), .unknownKey(kid: "key-99"))
    }

    func testTamperedPayloadWithOriginalSignature() throws {
        let token = try issue(issuer)
        var claims = token.claims
        claims.scope.append("admin")
        let forged = JWT.signingInput(header: token.header, claims: claims) + "." + parts(token.raw)[2]
        XCTAssertEqual(try decoded(forged).claims, claims)
        XCTAssertEqual(rejection(try judge(forged, keys: keys, at: baseTime)), .badSignature)
    }

    func testTamperedHeaderKidWithOriginalSignature() throws {
        // Both kids published, signature made by key-0, header now claims key-1.
        let rotating = makeIssuer(
            rotation: KeyRotation(interval: 10 * minutes, prePublish: 10 * minutes, retainAfter: hours))
        let now = 600 * nanos * 2_833_333 + 5 * minutes
        let token = try issue(rotating, at: now)
        var header = token.header
        header.kid = "key-2833334"
        let jwks = rotating.jwks(at: now)
        XCTAssertNotNil(jwks.key(kid: header.kid))
        let forged = JWT.signingInput(header: header, claims: token.claims) + "." + parts(token.raw)[2]
        XCTAssertEqual(rejection(try judge(forged, keys: jwks, at: now)), .badSignature)
    }

    func testSameKidFromAnotherRingIsABadSignature() throws {
        let impostor = makeIssuer()  // same schedule, same kids, its own random keys
        let token = try issue(impostor)
        XCTAssertEqual(rejection(try judge(token.raw, keys: keys, at: baseTime)), .badSignature)
    }

    func testModelKeyWithoutAPointNeverVerifies() throws {
        let token = try issue(issuer)
        let modelKeys = issuer.provider.jwks(at: baseTime)
        XCTAssertEqual(rejection(try judge(token.raw, keys: modelKeys, at: baseTime)), .badSignature)
    }

    func testMalformedBearerStringsAreDecodeErrors() throws {
        let raw = try issue(issuer).raw
        let piece = parts(raw)
        XCTAssertEqual(decodeError(piece[0] + "." + piece[1]), .notThreeParts)
        XCTAssertEqual(decodeError(String(raw.dropLast())), .badBase64URL(.signature))
        XCTAssertEqual(decodeError(String(raw.prefix(20))), .notThreeParts)
        XCTAssertEqual(decodeError("definitely not a token"), .notThreeParts)
        XCTAssertEqual(decodeError(""), .notThreeParts)
        XCTAssertEqual(decodeError(piece[0] + "." + "+" + piece[1].dropFirst() + "." + piece[2]),
                       .badBase64URL(.payload))
        XCTAssertEqual(decodeError(piece[0] + "=." + piece[1] + "." + piece[2]), .badBase64URL(.header))
        XCTAssertEqual(decodeError(raw + String(repeating: "A", count: 1 << 20)), .tooLong(maxLength: 8192))
        XCTAssertEqual(decodeError(raw + "." + piece[2]), .notThreeParts)
    }

    func testSignatureOfWrongLengthIsABadSignature() throws {
        let token = try issue(issuer)
        let piece = parts(token.raw)
        let genuine = token.signature.bytes
        for bytes in [[], Array(genuine.prefix(63)), genuine + [0], genuine + genuine] {
            let raw = piece[0] + "." + piece[1] + "." + Base64URL.encode(bytes)
            XCTAssertEqual(try decoded(raw).signature.bytes.count, bytes.count)
            XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime)), .badSignature, "\(bytes.count) bytes")
        }
    }

    func testDEREncodedSignatureIsRejected() throws {
        let token = try issue(issuer)
        let der = try P256.Signing.ECDSASignature(rawRepresentation: token.signature.bytes).derRepresentation
        XCTAssertNotEqual(der.count, 64)
        let piece = parts(token.raw)
        let raw = piece[0] + "." + piece[1] + "." + Base64URL.encode(Array(der))
        XCTAssertEqual(rejection(try judge(raw, keys: keys, at: baseTime)), .badSignature)
    }

    /// Deterministic mutations of a genuine token: every one is refused, by the decoder or by
    /// the rules, and none crashes either.
    func testEveryMutationOfAGenuineTokenIsRefused() throws {
        let raw = Array(try issue(issuer).raw.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \"{}".utf8)
        var state: UInt64 = 0x5eed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var decodeRefusals = 0
        var ruleRefusals = 0
        for _ in 0..<400 {
            var mutated = raw
            switch next(3) {
            case 0: mutated[next(mutated.count)] = alphabet[next(alphabet.count)]
            case 1: mutated.remove(at: next(mutated.count))
            default: mutated.insert(alphabet[next(alphabet.count)], at: next(mutated.count + 1))
            }
            guard mutated != raw else { continue }
            switch JWT.decode(String(decoding: mutated, as: UTF8.self)) {
            case .failure: decodeRefusals += 1
            case .success(let token):
                let verdict = TokenRules(issuer: issuerName).check(
                    token, keys: keys, revoked: RevocationList(), now: baseTime, scheme: ES256Scheme())
                XCTAssertNotNil(rejection(verdict), String(decoding: mutated, as: UTF8.self))
                ruleRefusals += 1
            }
        }
        XCTAssertGreaterThan(decodeRefusals, 0)
        XCTAssertGreaterThan(ruleRefusals, 0)
    }
}
