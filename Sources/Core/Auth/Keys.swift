/// The token provider's keys: a deterministic rotation schedule, the JWKS it publishes, and
/// token issuance. Rotation is the scenario where local validators go wrong (a new kid they
/// have not fetched yet, an old one retired too early), so the schedule is explicit and pure.

/// A private signing key. `validFrom` is when it starts signing.
public struct SigningKey: Sendable, Equatable {
    public var kid: String
    public var validFrom: Int64
    public var secret: UInt64

    public init(kid: String, validFrom: Int64, secret: UInt64) {
        self.kid = kid
        self.validFrom = validFrom
        self.secret = secret
    }

    /// The key as published in the JWKS (in the model, material == secret).
    public var publicKey: PublicKey { PublicKey(kid: kid, validFrom: validFrom, material: secret) }
}

/// A published verification key.
public struct PublicKey: Sendable, Equatable {
    public var kid: String
    public var validFrom: Int64
    /// The model scheme's key (equal to the signing secret); 0 for real keys.
    public var material: UInt64
    /// A real key's public point as published in the JWKS (ES256: the 65-byte uncompressed
    /// X9.63 form); empty in the model, whose schemes read `material`.
    public var encoded: [UInt8]

    public init(kid: String, validFrom: Int64, material: UInt64, encoded: [UInt8] = []) {
        self.kid = kid
        self.validFrom = validFrom
        self.material = material
        self.encoded = encoded
    }
}

/// A JSON Web Key Set: what validators fetch and cache. An array, ordered by `validFrom`.
public struct JWKS: Sendable, Equatable {
    public var keys: [PublicKey]

    public init(keys: [PublicKey]) { self.keys = keys }

    public func key(kid: String) -> PublicKey? { keys.first { $0.kid == kid } }

    public var kids: [String] { keys.map(\.kid) }
}

/// When keys change. Rotating safely needs both margins: validators cache the JWKS, so a key
/// must be published before it signs (`prePublish` ≥ the validators' refresh interval), and a
/// retired key must stay published while tokens it signed are alive (`retainAfter` ≥ the
/// longest token lifetime).
public struct KeyRotation: Sendable, Equatable {
    /// Time between rotations; nil (or ≤ 0) = one key forever.
    public var interval: Int64?
    /// A key appears in the JWKS this long before it becomes the signing key.
    public var prePublish: Int64
    /// An old key stays published this long after it stopped signing.
    public var retainAfter: Int64

    public init(interval: Int64?, prePublish: Int64, retainAfter: Int64) {
        self.interval = interval
        self.prePublish = prePublish
        self.retainAfter = retainAfter
    }

    /// A single key that never rotates.
    public static let never = KeyRotation(interval: nil, prePublish: 0, retainAfter: 0)
}

/// The OAuth2 token provider (Plan B style): signs tokens with the current key and publishes
/// its JWKS. Pure: every answer is a function of `now`, so a simulated provider and any number
/// of validators agree on the schedule without talking.
public struct TokenProvider: Sendable {
    public var issuer: String
    public var lifetimes: RealmLifetimes
    public var rotation: KeyRotation
    public var scheme: any SignatureScheme

    public init(
        issuer: String, lifetimes: RealmLifetimes, rotation: KeyRotation,
        scheme: any SignatureScheme = ModelSignatureScheme()
    ) {
        self.issuer = issuer
        self.lifetimes = lifetimes
        self.rotation = rotation
        self.scheme = scheme
    }

    private var interval: Int64? {
        guard let interval = rotation.interval, interval > 0 else { return nil }
        return interval
    }

    /// Key number `k`: kid "key-<k>", valid from k·interval, secret derived from k alone.
    public func key(number k: Int64) -> SigningKey {
        SigningKey(
            kid: "key-\(k)", validFrom: multiplySaturating(k, interval ?? 0),
            secret: splitMix64(UInt64(bitPattern: k) ^ 0x6b65_795f_7365_6564))
    }

    /// The newest key with validFrom ≤ now signs; before time 0, key-0 does.
    public func signingKey(at now: Int64) -> SigningKey {
        guard let interval, now > 0 else { return key(number: 0) }
        return key(number: now / interval)
    }

    /// The keys published at `now`, ordered by validFrom: key k is published from
    /// validFrom − prePublish until nextKey.validFrom + retainAfter. The current signing key is
    /// always published (so key-0 is, even before time −prePublish).
    public func jwks(at now: Int64) -> JWKS {
        jwks(numbers: publishedKeyNumbers(at: now))
    }

    /// The numbers of the keys `jwks(at:)` publishes at `now` (a caller asking often may keep
    /// the set it built while these stay the same: building it names every key anew).
    public func publishedKeyNumbers(at now: Int64) -> ClosedRange<Int64> {
        guard let interval else { return 0...0 }
        let prePublish = max(0, rotation.prePublish)
        let retainAfter = max(0, rotation.retainAfter)
        let current = max(0, floorDivide(now, interval))
        let newest = max(current, floorDivide(addSaturating(now, prePublish), interval))
        // Key k is retired once now ≥ (k+1)·interval + retainAfter.
        let oldest = max(0, floorDivide(subtractSaturating(now, retainAfter), interval))
        return oldest...newest
    }

    /// The published keys with these numbers, ordered by validFrom.
    public func jwks(numbers: ClosedRange<Int64>) -> JWKS {
        JWKS(keys: numbers.map { key(number: $0).publicKey })
    }

    /// A token for `sub` in `realm`, valid from `now` for the realm's lifetime; nil when the
    /// provider does not serve the realm.
    public func issue(
        sub: String, realm: Realm, scope: [String], azp: String?, jti: String, at now: Int64
    ) -> Token? {
        guard let lifetime = lifetimes.lifetime(of: realm) else { return nil }
        let key = signingKey(at: now)
        let header = TokenHeader(kid: key.kid, alg: "ES256")
        let claims = TokenClaims(
            sub: sub, realm: realm.rawValue, scope: scope, iss: issuer, iat: now,
            exp: addSaturating(now, lifetime), azp: azp, jti: jti)
        return Token(
            header: header, claims: claims, signature: scheme.sign(header: header, claims: claims, with: key),
            raw: "tok-" + jti)
    }
}

/// Division rounding towards −∞, so negative times fall into the right rotation slot.
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

func multiplySaturating(_ a: Int64, _ b: Int64) -> Int64 {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? ((a < 0) != (b < 0) ? .min : .max) : product
}
