import Synchronization

/// An access token as the protocol core sees it: already decoded. The simulator builds these
/// directly; the live server's JWT codec turns a compact JWT into one (converting NumericDate
/// seconds to the nanoseconds used here) and keeps the original string in `raw`.

/// The JOSE header fields validation looks at.
public struct TokenHeader: Sendable, Equatable, Hashable {
    /// Which published key signed the token; selects the key in the JWKS.
    public var kid: String
    /// Signature algorithm as named in the header, normally "ES256". Checked against an allow
    /// list before anything else, so "alg: none" style downgrades never reach verification.
    public var alg: String

    public init(kid: String, alg: String = "ES256") {
        self.kid = kid
        self.alg = alg
    }
}

/// The claims of a token. `iat`/`exp` are nanoseconds on the issuer's clock; validators compare
/// them with their own clock, so skew between the two shows up exactly as it would live.
/// Empty `sub`, `realm`, `iss` or `jti` stand for a missing claim.
public struct TokenClaims: Sendable, Equatable, Hashable {
    /// The claims' values, stored once and shared (copy on write, as `Token` is): a validated
    /// request carries its claims through every hop's decision and effect, and as a plain struct
    /// of six strings and an array each copy retained and released them all — 4% of a simulated
    /// fan-out run (`Token.claims` alone was copied 790,000 times in one seed).
    struct Values: Sendable, Equatable, Hashable {
        var sub: String
        var realm: String
        var scope: [String]
        var iss: String
        var iat: Int64
        var exp: Int64
        var azp: String?
        var jti: String
        var nbf: Int64?
    }

    final class Storage: Sendable {
        let values: Values
        init(_ values: Values) { self.values = values }
    }

    private var storage: Storage

    public var sub: String { get { storage.values.sub } set { change { $0.sub = newValue } } }
    public var realm: String { get { storage.values.realm } set { change { $0.realm = newValue } } }
    public var scope: [String] { get { storage.values.scope } set { change { $0.scope = newValue } } }
    public var iss: String { get { storage.values.iss } set { change { $0.iss = newValue } } }
    public var iat: Int64 { get { storage.values.iat } set { change { $0.iat = newValue } } }
    public var exp: Int64 { get { storage.values.exp } set { change { $0.exp = newValue } } }
    /// The OAuth client the token was issued to; tokeninfo reports it as `client_id`.
    public var azp: String? { get { storage.values.azp } set { change { $0.azp = newValue } } }
    /// Unique token id: the handle revocation works on.
    public var jti: String { get { storage.values.jti } set { change { $0.jti = newValue } } }
    /// "Not before" (RFC 7519 §4.1.5), nanoseconds; nil when absent (the simulator's tokens).
    public var nbf: Int64? { get { storage.values.nbf } set { change { $0.nbf = newValue } } }

    /// Changed claims get storage of their own; copies sharing the old one keep it.
    private mutating func change(_ edit: (inout Values) -> Void) {
        var values = storage.values
        edit(&values)
        storage = Storage(values)
    }

    public init(
        sub: String, realm: String, scope: [String], iss: String, iat: Int64, exp: Int64,
        azp: String? = nil, jti: String, nbf: Int64? = nil
    ) {
        storage = Storage(Values(sub: sub, realm: realm, scope: scope, iss: iss, iat: iat, exp: exp, azp: azp, jti: jti, nbf: nbf))
    }

    public static func == (lhs: TokenClaims, rhs: TokenClaims) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.values == rhs.storage.values
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(storage.values) }

    /// What a validator running with strategy `.none` accepts a request without a token as:
    /// nobody, no scopes. Every claim is "missing", so nothing downstream can mistake it for a
    /// real principal.
    public static let anonymous = TokenClaims(sub: "", realm: "", scope: [], iss: "", iat: 0, exp: 0, jti: "")
}

/// Signature bytes over header and claims (8 bytes under the model scheme, 64 under ES256).
public struct Signature: Sendable, Equatable, Hashable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
}

/// A bearer token: a value, stored once and shared (copy on write). A request carries its token
/// through every hop, queue, cache and tokeninfo call; as a plain struct of a dozen strings each
/// copy retained and released them all (4% of a simulated fan-out run), now it is one reference.
public struct Token: Sendable, Equatable, Hashable {
    final class Storage: Sendable {
        let header: TokenHeader
        let claims: TokenClaims
        let signature: Signature
        let raw: String
        /// The model scheme's MAC of this header and these claims under the key it was last
        /// verified with. Safe to keep: the contents above never change (a changed token gets
        /// storage of its own). A request's token is verified at every hop with the same key,
        /// and recomputing the MAC each time — every claim hashed byte by byte, the claims
        /// copied out — was 9% of a simulated fan-out run.
        let verifiedMAC = Mutex<(key: UInt64, mac: UInt64)?>(nil)

        init(header: TokenHeader, claims: TokenClaims, signature: Signature, raw: String) {
            self.header = header
            self.claims = claims
            self.signature = signature
            self.raw = raw
        }
    }

    private var storage: Storage

    public var header: TokenHeader { get { storage.header } set { replace(header: newValue) } }
    public var claims: TokenClaims { get { storage.claims } set { replace(claims: newValue) } }
    public var signature: Signature { get { storage.signature } set { replace(signature: newValue) } }
    /// The bearer string as presented on the wire (sim: "tok-<jti>", live: compact JWT) –
    /// echoed by tokeninfo as access_token, and the key of the central validator's cache.
    public var raw: String { get { storage.raw } set { replace(raw: newValue) } }

    /// A changed token gets storage of its own; copies sharing the old one keep it.
    private mutating func replace(header: TokenHeader? = nil, claims: TokenClaims? = nil, signature: Signature? = nil, raw: String? = nil) {
        storage = Storage(header: header ?? storage.header, claims: claims ?? storage.claims,
                          signature: signature ?? storage.signature, raw: raw ?? storage.raw)
    }

    public init(header: TokenHeader, claims: TokenClaims, signature: Signature, raw: String) {
        storage = Storage(header: header, claims: claims, signature: signature, raw: raw)
    }

    /// The model scheme's MAC under `key`: remembered from the last verification with that key,
    /// else `compute`d from the header and claims (and remembered).
    func modelMAC(key: UInt64, _ compute: (TokenHeader, TokenClaims) -> UInt64) -> UInt64 {
        if let memo = storage.verifiedMAC.withLock({ $0 }), memo.key == key { return memo.mac }
        let mac = compute(storage.header, storage.claims)
        storage.verifiedMAC.withLock { $0 = (key, mac) }
        return mac
    }

    public static func == (lhs: Token, rhs: Token) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.raw == rhs.raw && lhs.header == rhs.header && lhs.claims == rhs.claims && lhs.signature == rhs.signature)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(claims)
        hasher.combine(signature)
        hasher.combine(raw)
    }
}
