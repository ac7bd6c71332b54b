import Auth
import Crypto
import Synchronization

/// The live provider's private keys, one P-256 key per kid of the pure `TokenProvider`'s
/// schedule. The schedule (which kid signs when, which kids are published) stays in the Auth
/// core; this ring only supplies real key material for those kids.
///
/// Keys come from system randomness on first use, so they are new in every process. That is on
/// purpose: the model derives key secrets from the key number by a public formula, and real
/// keys derived that way could be recomputed — and tokens forged — by anyone. The price is that
/// tokens do not survive a provider restart, as with any provider that keeps keys in memory.
public final class ES256KeyRing: Sendable {
    private let keys = Mutex<[String: P256.Signing.PrivateKey]>([:])

    public init() {}

    /// The signing key for `kid`, created on first use. Creation under the lock, so two
    /// concurrent first uses cannot publish one key and sign with another.
    func privateKey(kid: String) -> P256.Signing.PrivateKey {
        keys.withLock { keys in
            if let key = keys[kid] { return key }
            let key = P256.Signing.PrivateKey()
            keys[kid] = key
            return key
        }
    }

    /// `key` with `encoded` set to the public point (65-byte uncompressed X9.63) of its kid.
    public func publicKey(_ key: PublicKey) -> PublicKey {
        var published = key
        published.material = 0
        published.encoded = Array(privateKey(kid: key.kid).publicKey.x963Representation)
        return published
    }

    /// The model JWKS with every key's real point: what the live JWKS endpoint serves.
    public func jwks(_ model: JWKS) -> JWKS {
        JWKS(keys: model.keys.map(publicKey))
    }

    /// Destroys the private keys of kids outside `kids` (retired ones), so a retired key cannot
    /// sign again. Asking for such a kid later creates a new, different key.
    public func forget(kidsNotIn kids: some Sequence<String>) {
        let keep = Set(kids)
        keys.withLock { keys in keys = keys.filter { keep.contains($0.key) } }
    }

    /// Kids that currently have a private key, sorted.
    public var kids: [String] { keys.withLock { $0.keys.sorted() } }
}
