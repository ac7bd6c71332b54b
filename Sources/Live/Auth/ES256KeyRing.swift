import Auth
import Crypto
import Foundation
import Synchronization

/// The live provider's private keys, one P-256 key per kid of the pure `TokenProvider`'s
/// schedule. The schedule (which kid signs when, which kids are published) stays in the Auth
/// core; this ring only supplies real key material for those kids.
///
/// Keys come from system randomness on first use. That is on purpose: the model derives key
/// secrets from the key number by a public formula, and real keys derived that way could be
/// recomputed — and tokens forged — by anyone. With a key file (`init(file:)`, the provider's
/// `keys_file`) the ring keeps its keys there (owner-only, 0600), so a restarted provider signs
/// and publishes the keys it had and the tokens it issued stay valid; without one, keys live
/// in memory and die with the process.
public final class ES256KeyRing: Sendable {
    private let keys = Mutex<[String: P256.Signing.PrivateKey]>([:])
    /// Where the keys are kept (nil: memory only).
    public let file: String?

    public init() { file = nil }

    /// A ring kept in `file`: the keys already there are loaded; every key created or forgotten
    /// later rewrites it (a temporary file written 0600, fsynced, renamed over it). A file that
    /// is not a key file is an error, never overwritten.
    public init(file: String) throws {
        self.file = file
        guard FileManager.default.fileExists(atPath: file) else { return }
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        guard let stored = try? JSONDecoder().decode([String: String].self, from: data) else {
            throw KeyFileError(path: file, problem: "expected a JSON object of kid → base64url private key")
        }
        var loaded: [String: P256.Signing.PrivateKey] = [:]
        for (kid, encoded) in stored {
            guard let raw = Base64URL.decode(encoded), let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) else {
                throw KeyFileError(path: file, problem: "key '\(kid)' is not a P-256 private key")
            }
            loaded[kid] = key
        }
        keys.withLock { $0 = loaded }
    }

    public struct KeyFileError: Error, CustomStringConvertible {
        public var path: String
        public var problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// The signing key for `kid`, created on first use. Creation under the lock, so two
    /// concurrent first uses cannot publish one key and sign with another (and the file is
    /// written before the key signs anything: a restart cannot lose a key a token names).
    func privateKey(kid: String) -> P256.Signing.PrivateKey {
        keys.withLock { keys in
            if let key = keys[kid] { return key }
            let key = P256.Signing.PrivateKey()
            keys[kid] = key
            save(keys)
            return key
        }
    }

    /// Writes the ring to its file (under the ring's lock). Best effort: a key that cannot be
    /// kept still signs — the provider stays up — but would not survive a restart.
    private func save(_ keys: [String: P256.Signing.PrivateKey]) {
        guard let file else { return }
        let stored = keys.mapValues { Base64URL.encode(Array($0.rawRepresentation)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(stored) else { return }
        let temporary = file + ".tmp"
        let fd = open(temporary, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        if written == data.count && synced { rename(temporary, file) } else { unlink(temporary) }
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
        keys.withLock { keys in
            let kept = keys.filter { keep.contains($0.key) }
            guard kept.count < keys.count else { return }
            keys = kept
            save(keys)
        }
    }

    /// Kids that currently have a private key, sorted.
    public var kids: [String] { keys.withLock { $0.keys.sorted() } }
}
