/// Signing and verification behind one seam, so the same validator runs on the simulator's
/// cheap keyed hash and on real ES256 (jwt-kit) in the live server.
public protocol SignatureScheme: Sendable {
    func sign(header: TokenHeader, claims: TokenClaims, with key: SigningKey) -> Signature
    func verify(_ token: Token, with key: PublicKey) -> Bool
}

/// The simulator's scheme: a keyed 64-bit hash (FNV-1a over the key, the header and every
/// claim, sealed with the key again and a SplitMix64 finaliser). Deterministic and cheap, and
/// tamper-evident: changing any claim, the kid or the alg, or verifying with another key, makes
/// verification fail. It is not cryptography: public key `material` equals the signing
/// `secret` in this model. The simulator charges the CPU cost of an ES256 verify separately
/// (`HopEffect.decided(verifiedLocally:)`), so cheapness here does not flatter local validation.
public struct ModelSignatureScheme: SignatureScheme {
    public init() {}

    public func sign(header: TokenHeader, claims: TokenClaims, with key: SigningKey) -> Signature {
        Signature(bytes: Self.bytes(of: Self.mac(header: header, claims: claims, key: key.secret)))
    }

    public func verify(_ token: Token, with key: PublicKey) -> Bool {
        // Compared as a number: no array per verification (a hop's hot path in the simulator).
        let bytes = token.signature.bytes
        guard bytes.count == 8 else { return false }
        let presented = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let key = key.material
        return presented == token.modelMAC(key: key) { Self.mac(header: $0, claims: $1, key: key) }
    }

    static func mac(header: TokenHeader, claims: TokenClaims, key: UInt64) -> UInt64 {
        var h = ModelHasher()
        h.add(key)
        h.add(header.kid)
        h.add(header.alg)
        h.add(claims.sub)
        h.add(claims.realm)
        h.add(UInt64(claims.scope.count))
        for scope in claims.scope { h.add(scope) }
        h.add(claims.iss)
        h.add(UInt64(bitPattern: claims.iat))
        h.add(UInt64(bitPattern: claims.exp))
        if let azp = claims.azp {
            h.add(UInt8(1))
            h.add(azp)
        } else {
            h.add(UInt8(0))
        }
        h.add(claims.jti)
        // Only when present, so the simulator's tokens (no nbf) keep their MACs and traces.
        if let nbf = claims.nbf {
            h.add(UInt8(2))
            h.add(UInt64(bitPattern: nbf))
        }
        h.add(key)
        return splitMix64(h.state)
    }

    static func bytes(of value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}

/// FNV-1a, 64 bit. Strings are length-prefixed so field boundaries cannot be shifted
/// ("ab"+"c" and "a"+"bc" hash differently).
struct ModelHasher {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ byte: UInt8) {
        state ^= UInt64(byte)
        state &*= 0x0000_0100_0000_01b3
    }

    mutating func add(_ value: UInt64) {
        var rest = value
        for _ in 0..<8 {
            add(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
    }

    mutating func add(_ string: String) {
        add(UInt64(string.utf8.count))
        // Over the contiguous UTF-8 (native and small strings have it): the same bytes in the
        // same order, at a third of the cost of the UTF8View iterator (the simulated mesh
        // verifies every token at every hop: 11% of a fan-out run).
        let done: Bool? = string.utf8.withContiguousStorageIfAvailable { bytes in
            var state = self.state
            for byte in bytes {
                state ^= UInt64(byte)
                state &*= 0x0000_0100_0000_01b3
            }
            self.state = state
            return true
        }
        if done == nil {
            for byte in string.utf8 { add(byte) }
        }
    }
}

/// SplitMix64's output function (Steele et al. 2014): full avalanche for the final MAC and for
/// deriving key secrets from key numbers.
func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9e37_79b9_7f4a_7c15
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}
