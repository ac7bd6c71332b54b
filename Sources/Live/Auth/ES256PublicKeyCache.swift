import Crypto
import Synchronization

/// Parsed P-256 public keys by their X9.63 bytes. Parsing a point (decompression-free, but with
/// an on-curve check) is a measurable part of one verify, and a validator verifies every
/// request against the same few published keys. Bounded because the keys come from JWKS
/// documents: after 64 distinct keys the cache starts over rather than grow without limit.
final class ES256PublicKeyCache: Sendable {
    static let capacity = 64

    private let keys = Mutex<[[UInt8]: P256.Signing.PublicKey]>([:])

    init() {}

    /// The parsed key, or nil when `encoded` is not a valid uncompressed P-256 point. Invalid
    /// points are not cached: they come only from a broken JWKS, never on the hot path.
    func key(_ encoded: [UInt8]) -> P256.Signing.PublicKey? {
        if let key = keys.withLock({ $0[encoded] }) { return key }
        guard encoded.count == 65, encoded[0] == 0x04,
              let key = try? P256.Signing.PublicKey(x963Representation: encoded)
        else { return nil }
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys[encoded] = key
        }
        return key
    }
}
