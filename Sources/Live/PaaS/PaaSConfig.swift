import Auth
import LiveAuth
import Foundation
import Live

/// What the three PaaS servers are told at start (JSON files written by the launcher, or by
/// hand). Durations are seconds (JSON numbers), the unit operators write in config files.

/// One OAuth client of the token provider (client-credentials grant).
public struct ClientRegistration: Codable, Sendable, Equatable {
    public var clientID: String
    public var clientSecret: String
    /// Realms the client may ask tokens for, as the request names them: `services` or `/services`
    /// (Zalando writes realms with the slash; the leading slash is dropped when registered).
    public var realms: [String]
    /// Scopes it may ask for; a request for others is refused (`invalid_scope`).
    public var scopes: [String]
    /// The token's `sub`; default: the client id.
    public var subject: String?

    public init(clientID: String, clientSecret: String, realms: [String], scopes: [String], subject: String? = nil) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.realms = realms.map(Self.bareRealm)
        self.scopes = scopes
        self.subject = subject
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(clientID: try c.decode(String.self, forKey: .clientID), clientSecret: try c.decode(String.self, forKey: .clientSecret),
                  realms: try c.decode([String].self, forKey: .realms), scopes: try c.decode([String].self, forKey: .scopes),
                  subject: try c.decodeIfPresent(String.self, forKey: .subject))
    }

    /// `/services` → `services`.
    public static func bareRealm(_ realm: String) -> String { realm.hasPrefix("/") ? String(realm.dropFirst()) : realm }

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id", clientSecret = "client_secret", realms, scopes, subject
    }
}

/// The provider's clients file: `{"clients": [{"client_id": …, "client_secret": …, "realms": […], "scopes": […]}]}`.
public struct ClientsFile: Codable, Sendable, Equatable {
    public var clients: [ClientRegistration]

    public init(clients: [ClientRegistration]) { self.clients = clients }

    public static func load(_ path: String) throws -> ClientsFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw LiveError.badInput("cannot read clients file \(path)") }
        do { return try JSONDecoder().decode(ClientsFile.self, from: data) } catch {
            throw LiveError.badInput("\(path): not a clients file ({\"clients\": [{\"client_id\", \"client_secret\", \"realms\", \"scopes\"}]}): \(error)")
        }
    }
}

public struct ProviderConfig: Codable, Sendable, Equatable {
    public var port: Int
    /// `iss` of every token and the base of the discovery document's URLs.
    public var issuer: String
    /// Token lifetime per realm, seconds.
    public var lifetimes: [String: Double]
    /// Key rotation: a new signing key every `rotateEvery` seconds (nil = never), published
    /// `prePublish` seconds ahead and kept `retainAfter` seconds after it stops signing.
    public var rotateEvery: Double?
    public var prePublish: Double
    public var retainAfter: Double
    public var clientsFile: String
    /// Where the signing keys are kept across restarts (owner-only); nil: in memory, so a
    /// restart invalidates every token issued before it.
    public var keysFile: String?
    /// Test-only (`ProviderOutages`): the file naming the provider's faces a chaos run has
    /// taken down; nil in production.
    public var faultsFile: String?

    public init(port: Int, issuer: String, lifetimes: [String: Double], rotateEvery: Double? = nil, prePublish: Double = 0,
                retainAfter: Double = 0, clientsFile: String, keysFile: String? = nil, faultsFile: String? = nil) {
        self.port = port
        self.issuer = issuer
        self.lifetimes = lifetimes
        self.rotateEvery = rotateEvery
        self.prePublish = prePublish
        self.retainAfter = retainAfter
        self.clientsFile = clientsFile
        self.keysFile = keysFile
        self.faultsFile = faultsFile
    }

    enum CodingKeys: String, CodingKey {
        case port, issuer, lifetimes, rotateEvery = "rotate_every", prePublish = "pre_publish", retainAfter = "retain_after"
        case clientsFile = "clients_file", keysFile = "keys_file", faultsFile = "faults_file"
    }

    /// The issuer this config runs: the schedule with real keys, kept in `keysFile` if set.
    public func liveIssuer() throws -> LiveTokenIssuer {
        LiveTokenIssuer(provider: provider(scheme: ModelSignatureScheme()), keyRing: try keysFile.map { try ES256KeyRing(file: $0) } ?? ES256KeyRing())
    }

    /// The pure provider (schedule, lifetimes) this server runs.
    public func provider(scheme: any SignatureScheme = ModelSignatureScheme()) -> TokenProvider {
        let ns = { (s: Double) in Int64((s * 1e9).rounded()) }
        let rotation = rotateEvery.map { KeyRotation(interval: ns($0), prePublish: ns(prePublish), retainAfter: ns(retainAfter)) } ?? .never
        return TokenProvider(issuer: issuer, lifetimes: RealmLifetimes(lifetimes.mapValues(ns)), rotation: rotation, scheme: scheme)
    }
}

public struct TokeninfoConfig: Codable, Sendable, Equatable {
    public var port: Int
    public var issuer: String
    /// Where the provider publishes its JWKS and its revocation list.
    public var jwksURL: String
    public var revocationsURL: String?
    /// Realms accepted; nil = any realm the provider signs.
    public var realms: [String]?
    public var leeway: Double
    /// JWKS refresh interval, seconds (Zalando's tokeninfo: 30 s).
    public var refresh: Double

    public init(port: Int, issuer: String, jwksURL: String, revocationsURL: String? = nil, realms: [String]? = nil,
                leeway: Double = 0, refresh: Double = 30) {
        self.port = port
        self.issuer = issuer
        self.jwksURL = jwksURL
        self.revocationsURL = revocationsURL
        self.realms = realms
        self.leeway = leeway
        self.refresh = refresh
    }

    enum CodingKeys: String, CodingKey {
        case port, issuer, jwksURL = "jwks_url", revocationsURL = "revocations_url", realms, leeway, refresh
    }
}

/// Where the mesh's replicas listen and whom they ask: written by the launcher.
public struct MeshLayout: Codable, Sendable, Equatable {
    public struct Replica: Codable, Sendable, Equatable {
        /// `<service>-r<k>`, as the simulator names its processes.
        public var name: String
        public var service: String
        public var port: Int

        public init(name: String, service: String, port: Int) {
            self.name = name
            self.service = service
            self.port = port
        }
    }

    public var replicas: [Replica]
    public var tokeninfoURLs: [String]
    public var providerURL: String
    public var issuer: String
    /// The strategy to run, overriding the scenario's `auth.strategy`.
    public var strategy: String?
    /// Seed of the generated call graph (layered / random-dag shapes) and of the work samples.
    public var seed: UInt64

    public init(replicas: [Replica], tokeninfoURLs: [String], providerURL: String, issuer: String, strategy: String? = nil,
                seed: UInt64 = 1) {
        self.replicas = replicas
        self.tokeninfoURLs = tokeninfoURLs
        self.providerURL = providerURL
        self.issuer = issuer
        self.strategy = strategy
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case replicas, tokeninfoURLs = "tokeninfo_urls", providerURL = "provider_url", issuer, strategy, seed
    }
}

/// Reads a JSON config file, naming the file in every error.
public func loadConfig<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else { throw LiveError.badInput("cannot read \(path)") }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw LiveError.badInput("\(path): not a valid \(T.self): \(error)")
    }
}

/// Wall-clock nanoseconds since the Unix epoch: what token `iat`/`exp` are judged against.
@inline(__always)
func wallClockNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Monotonic nanoseconds: what timers, caches and latencies run on.
@inline(__always)
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
