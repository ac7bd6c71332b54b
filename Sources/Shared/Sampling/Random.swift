/// Seeded, splittable randomness for the simulation path.
///
/// Every run owns one root seed. Components never share a generator: each asks for a
/// *named sub-stream* (`"network"`, `"station.tokeninfo"`, `"nemesis"`…) whose seed is
/// derived from the root seed and the name, so adding a component (or drawing more numbers
/// in one) never perturbs the numbers another component sees.

/// SplitMix64 (Steele, Lea, Flood 2014): used only to expand seeds, as xoshiro's authors advise.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna): fast, 256-bit state, passes BigCrush.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// The seed this generator was created from (root seed or derived sub-stream seed).
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is a fixed point
    }

    // Always inlined, with `nextUnit`/`nextOpenUnit`: as calls (the optimiser left them out of
    // line inside `Distribution.sample`) they cost an OAuth fan-out run 1.1% of its instructions.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 &<< 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Masking shifts (k is 7 or 45): the checked `<<`/`>>` kept this out of line, a call per
    /// draw (0.8% of a simulated swarm seed under callgrind).
    @inlinable @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x &<< k) | (x &>> (64 &- k)) }

    /// An independent generator for the component called `name`. Depends only on this
    /// generator's seed and the name — not on how many numbers were drawn so far.
    public func stream(_ name: String) -> SeededGenerator {
        var mixer = SplitMix64(seed: seed ^ stableHash(name))
        return SeededGenerator(seed: mixer.next())
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    @inlinable @inline(__always)
    public mutating func nextOpenUnit() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }

    /// `true` with probability `p`.
    @inlinable
    public mutating func chance(_ p: Double) -> Bool {
        p > 0 && (p >= 1 || nextUnit() < p)
    }

    /// Uniform integer in `0..<n` (Lemire's unbiased method via the standard library).
    @inlinable
    public mutating func index(below n: Int) -> Int {
        precondition(n > 0)
        return Int(UInt64.random(in: 0..<UInt64(n), using: &self))
    }
}

/// FNV-1a 64 over UTF-8: stable across processes and platforms, unlike `Hasher`,
/// which Swift seeds randomly per process.
public func stableHash(_ string: String) -> UInt64 {
    stableHash(bytes: string.utf8)
}

/// FNV-1a 64 over bytes (a file's content: the scenario hash results record).
@inlinable
public func stableHash<Bytes: Sequence>(bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}

extension SeededGenerator {
    /// Sets the raw state, for checking the generator against published reference outputs.
    public mutating func setStateForTesting(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) {
        s0 = a; s1 = b; s2 = c; s3 = d
    }
}
