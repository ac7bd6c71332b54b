import Auth
import Crypto

/// Why a JWKS document could not be read at all. Single unusable keys are not errors: they are
/// skipped and counted, so one foreign key in a provider's set does not take the others down.
public enum JWKSDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSON
    case noKeysArray

    public var description: String {
        switch self {
        case .notJSON: "JWKS document is not JSON"
        case .noKeysArray: "JWKS document has no \"keys\" array"
        }
    }
}

/// The JWKS endpoint's body (RFC 7517) for ES256 keys: `{"keys":[{"kty":"EC","crv":"P-256",
/// "kid":…,"use":"sig","alg":"ES256","x":…,"y":…}]}`. Validators fetch it, decode it into the
/// core's `JWKS` and verify with `ES256Scheme`.
public struct JWKSDocument: Sendable, Equatable {
    public var jwks: JWKS
    /// Keys in the document that were not usable ES256 signing keys.
    public var skipped: Int

    public init(jwks: JWKS, skipped: Int = 0) {
        self.jwks = jwks
        self.skipped = skipped
    }

    /// The document for `jwks`, keys in order. Keys without a valid uncompressed P-256 point
    /// (model keys, whose `encoded` is empty) are left out: they cannot be expressed as a JWK.
    public static func encode(_ jwks: JWKS) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("keys")
        json.beginArray()
        for key in jwks.keys where key.encoded.count == 65 && key.encoded[0] == 0x04 {
            json.beginObject()
            json.key("kty")
            json.string("EC")
            json.key("crv")
            json.string("P-256")
            json.key("kid")
            json.string(key.kid)
            json.key("use")
            json.string("sig")
            json.key("alg")
            json.string(ES256Scheme.algorithm)
            json.key("x")
            json.string(Base64URL.encode(key.encoded[1..<33]))
            json.key("y")
            json.string(Base64URL.encode(key.encoded[33..<65]))
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// The usable keys of a document, in document order, as `PublicKey(kid, validFrom: 0,
    /// material: 0, encoded: 04‖x‖y)`. A key is skipped unless it is kty "EC", crv "P-256",
    /// has a string kid, `use` (if present) "sig", `alg` (if present) "ES256", and x and y of
    /// 32 bytes each that form a point on the curve — checked here, once per fetch, so a bad key
    /// is counted instead of failing every verify that selects it.
    public static func decode(_ bytes: [UInt8]) -> Result<JWKSDocument, JWKSDocumentError> {
        guard let node = try? JSONReader.parse(bytes) else { return .failure(.notJSON) }
        guard case .object(let members) = node, case .array(let entries)? = members["keys"] else {
            return .failure(.noKeysArray)
        }
        var keys: [PublicKey] = []
        var skipped = 0
        for entry in entries {
            if let key = publicKey(entry) { keys.append(key) } else { skipped += 1 }
        }
        return .success(JWKSDocument(jwks: JWKS(keys: keys), skipped: skipped))
    }

    private static func publicKey(_ entry: JSONNode) -> PublicKey? {
        guard case .object(let jwk) = entry,
              case .string("EC")? = jwk["kty"],
              case .string("P-256")? = jwk["crv"],
              case .string(let kid)? = jwk["kid"],
              case .string(let x)? = jwk["x"],
              case .string(let y)? = jwk["y"],
              let xBytes = Base64URL.decode(x), xBytes.count == 32,
              let yBytes = Base64URL.decode(y), yBytes.count == 32
        else { return nil }
        switch jwk["use"] {
        case nil, .string("sig")?: break
        default: return nil
        }
        switch jwk["alg"] {
        case nil, .string(ES256Scheme.algorithm)?: break
        default: return nil
        }
        let encoded = [0x04] + xBytes + yBytes
        guard (try? P256.Signing.PublicKey(x963Representation: encoded)) != nil else { return nil }
        return PublicKey(kid: kid, validFrom: 0, material: 0, encoded: encoded)
    }
}
