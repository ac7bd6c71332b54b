import Auth
import Crypto

/// ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4) behind the core's `SignatureScheme` seam, so
/// tokeninfo and the per-hop validator judge live tokens with the same `TokenRules` the
/// simulator runs on the model scheme.
///
/// Verification reads the signed bytes from `token.raw` — everything before its last "." — not
/// from re-encoded claims: the signature covers what was presented on the wire, and a token
/// from another issuer may order its JSON members differently. Tokens passed to `verify` must
/// therefore come from `JWT.decode`, whose claims are parsed from that same `raw`.
public struct ES256Scheme: SignatureScheme {
    public static let algorithm = "ES256"

    /// Private keys for signing; nil for a scheme that only verifies (validators, tokeninfo).
    public let keyRing: ES256KeyRing?
    private let publicKeys = ES256PublicKeyCache()

    public init(keyRing: ES256KeyRing? = nil) {
        self.keyRing = keyRing
    }

    /// The 64-byte r‖s signature over `JWT.signingInput(header, claims)` with the ring's key for
    /// `key.kid` (only the kid of the model key is used). Without a ring, or if signing fails,
    /// the signature is empty — which every verifier rejects — rather than a crash.
    public func sign(header: TokenHeader, claims: TokenClaims, with key: SigningKey) -> Signature {
        guard let keyRing else { return Signature(bytes: []) }
        let input = JWT.signingInput(header: header, claims: claims)
        guard let signature = try? keyRing.privateKey(kid: key.kid).signature(for: Array(input.utf8)) else {
            return Signature(bytes: [])
        }
        return Signature(bytes: Array(signature.rawRepresentation))
    }

    /// True only for a header alg of "ES256", a 64-byte raw signature (JWS form; DER is
    /// rejected), a valid P-256 point in `key.encoded`, and an ECDSA signature that verifies over
    /// the raw token's signing input. The alg check repeats `TokenRules`' allow list on purpose:
    /// even a service that allows another alg must not have it judged by this scheme.
    public func verify(_ token: Token, with key: PublicKey) -> Bool {
        guard token.header.alg == Self.algorithm, token.signature.bytes.count == 64,
              let publicKey = publicKeys.key(key.encoded),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: token.signature.bytes)
        else { return false }
        let raw = token.raw.utf8
        guard let dot = raw.lastIndex(of: UInt8(ascii: ".")) else { return false }
        let length = raw.distance(from: raw.startIndex, to: dot)
        // Hashing the string's own storage: no copy of the token per verify.
        let digest = raw.withContiguousStorageIfAvailable { buffer in
            SHA256.hash(data: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[..<length])))
        } ?? SHA256.hash(data: Array(raw[..<dot]))
        return publicKey.isValidSignature(signature, for: digest)
    }
}
