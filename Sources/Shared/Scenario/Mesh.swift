import Sampling

/// `services:` — a call graph of services that validate a bearer token at every hop
/// (the OAuth fan-out model). Absent when a scenario runs only stations or a broker.
public struct MeshSpec: Sendable {
    public var graph: GraphSpec
    /// Applied to every generated service, and to explicit ones for the keys they omit.
    public var defaults: ServiceDefaults
    /// One-way latency of a call by the relation between caller and callee.
    public var latency: PlacementLatency
    /// Requests slower than this count as slow (`slow_request_fraction`), e.g. to measure the
    /// tail-at-scale probability 1 − (1 − p)^n.
    public var slowThreshold: Int64?

    public init(graph: GraphSpec, defaults: ServiceDefaults = ServiceDefaults(), latency: PlacementLatency = PlacementLatency()) {
        self.graph = graph
        self.defaults = defaults
        self.latency = latency
    }
}

/// The shape of the call graph: written out, or generated (per seed, from the run's generator).
public enum GraphSpec: Sendable {
    case explicit([ServiceSpec])
    /// A root calling `fanout` children, each calling `fanout` more, `depth` levels below the root.
    case tree(depth: Int, fanout: Int)
    /// `layers` layers of `width` services; each service calls `edges` distinct random services
    /// of the next layer (fewer when the layer is narrower). The entry is the first service of layer 0.
    case layered(layers: Int, width: Int, edges: Int)
    /// `services` services in a random topological order; an edge i→j (i < j) exists with
    /// `edgeProbability`. Service 0 is the entry; services nobody reaches are still placed (idle).
    case randomDAG(services: Int, edgeProbability: Double)

    /// The YAML keyword.
    public var keyword: String {
        switch self {
        case .explicit: return "explicit"
        case .tree: return "tree"
        case .layered: return "layered"
        case .randomDAG: return "random-dag"
        }
    }
}

/// How a service's calls are issued. Calls run in list order: consecutive `parallel` calls
/// start together; a `sequential` call waits for everything before it, and later calls wait for it.
public enum CallMode: String, Sendable, CaseIterable {
    case parallel, sequential
}

public struct CallSpec: Sendable, Equatable {
    public var to: String
    public var mode: CallMode
    /// The caller gives up on one attempt after this long (ns); `nil` = waits forever.
    public var timeout: Int64?
    /// Extra attempts after a timeout or a 5xx answer.
    public var retries: Int
    /// How many such calls are made (to replicas in turn): a scatter-gather over shards.
    public var copies: Int = 1
    /// A soft dependency: when the call fails for good the caller falls back and answers 200
    /// (degraded) instead of failing the request.
    public var soft = false

    public init(to: String, mode: CallMode = .parallel, timeout: Int64? = nil, retries: Int = 0) {
        self.to = to
        self.mode = mode
        self.timeout = timeout
        self.retries = retries
    }
}

public struct ServiceSpec: Sendable {
    public var name: String
    /// Zones its replicas are spread over, round-robin; `nil` = every zone of the cluster, starting
    /// at the service's position so that services spread.
    public var zones: [String]?
    public var replicas: Int
    /// Concurrent requests one replica works on (its threads); more wait in its queue.
    public var servers: Int
    /// Own work per request (ns), after validating the token and before calling children.
    public var work: Distribution
    public var queueLimit: Int?
    public var calls: [CallSpec]
    /// Cloud account and region (the accounts model); `nil` = the default of the scenario.
    public var account: String?
    public var region: String?

    public init(name: String, zones: [String]? = nil, replicas: Int = 1, servers: Int = 8, work: Distribution = .constant(1_000_000),
                queueLimit: Int? = nil, calls: [CallSpec] = [], account: String? = nil, region: String? = nil) {
        self.name = name
        self.zones = zones
        self.replicas = replicas
        self.servers = servers
        self.work = work
        self.queueLimit = queueLimit
        self.calls = calls
        self.account = account
        self.region = region
    }
}

/// Settings every generated service gets (and explicit services inherit).
public struct ServiceDefaults: Sendable {
    public var replicas: Int
    public var servers: Int
    public var work: Distribution
    public var queueLimit: Int?
    public var callMode: CallMode
    public var callTimeout: Int64?
    public var callRetries: Int
    /// Callers skip replicas whose process is down (a health-checked load balancer that notices
    /// at once — the optimistic end); off = plain round-robin, dead replicas found by timeouts.
    public var healthChecks = false

    public init(replicas: Int = 1, servers: Int = 8, work: Distribution = .constant(1_000_000), queueLimit: Int? = nil,
                callMode: CallMode = .parallel, callTimeout: Int64? = nil, callRetries: Int = 0) {
        self.replicas = replicas
        self.servers = servers
        self.work = work
        self.queueLimit = queueLimit
        self.callMode = callMode
        self.callTimeout = callTimeout
        self.callRetries = callRetries
    }
}

/// One-way network latency by where caller and callee sit (the most specific relation wins:
/// region, then account, then zone, then host).
public struct PlacementLatency: Sendable {
    public var sameHost: Distribution
    public var sameZone: Distribution
    public var crossZone: Distribution
    public var crossAccount: Distribution
    public var crossRegion: Distribution
    /// Between the load generator (`client`) and the services it calls, whatever their
    /// placement; nil = by placement like any other call. Live, the client's side of a hop is
    /// the load driver (its send timer, a cold connection's wake-up), which costs more than a
    /// warm service-to-service hop, and `faultline calibrate` measures the two apart.
    public var client: Distribution?

    public init(sameHost: Distribution = .constant(20_000), sameZone: Distribution = .constant(250_000),
                crossZone: Distribution = .constant(750_000), crossAccount: Distribution = .constant(1_000_000),
                crossRegion: Distribution = .constant(30_000_000)) {
        self.sameHost = sameHost
        self.sameZone = sameZone
        self.crossZone = crossZone
        self.crossAccount = crossAccount
        self.crossRegion = crossRegion
    }
}

/// Token validation strategy at every hop.
public enum AuthStrategySetting: String, Sendable, CaseIterable {
    case central, local, hybrid, none
}

/// `auth:` — how tokens are issued, rotated, revoked and validated.
public struct AuthSpec: Sendable {
    public var strategy: AuthStrategySetting
    /// The central tokeninfo cluster (a service station per node).
    public var tokeninfo: TokeninfoSpec
    /// Central: cache answers per token this long; `nil` = no cache.
    public var cacheTTL: Int64?
    /// Central: one tokeninfo call gives up after this long.
    public var tokeninfoTimeout: Int64
    public var tokeninfoRetries: Int
    public var retryBackoff: Int64
    /// Central: consecutive failures that open the circuit breaker, and how long it stays open.
    public var breakerFailures: Int?
    public var breakerOpenFor: Int64
    /// Local: JWKS refresh interval, retry after a failed fetch, refetch on unknown `kid`.
    public var jwksRefresh: Int64
    public var jwksRetry: Int64
    public var refetchOnUnknownKid: Bool
    /// Local: revocation-list poll interval; `nil` = never polled.
    public var revocationPoll: Int64?
    /// CPU time of one signature verification (ns).
    public var verifyCost: Distribution
    /// Clock-skew tolerance on `exp`/`iat`.
    public var leeway: Int64
    /// Token lifetime per realm (ns); the defaults are Plan B's.
    public var lifetimes: [String: Int64]
    /// The realm the calling clients' tokens are issued in.
    public var clientRealm: String
    /// Distinct client identities (each with its own token, refreshed before expiry).
    public var clients: Int
    /// A client refreshes its token at this fraction of the lifetime.
    public var refreshAt: Double
    /// After a failed refresh, the client retries this soon.
    public var refreshRetry: Int64
    /// Signing-key rotation: a new key every `interval`, published `prePublish` ahead.
    public var rotationInterval: Int64?
    public var rotationPrePublish: Int64
    /// Fraction of requests that carry a forged token (bad signature) — must all be rejected.
    public var forgedFraction: Double
    /// Tokens revoked per second (a random client's current token); the client re-authenticates.
    public var revocationsPerSecond: Double

    public init(strategy: AuthStrategySetting = .local, tokeninfo: TokeninfoSpec = TokeninfoSpec(), cacheTTL: Int64? = nil,
                tokeninfoTimeout: Int64 = 100 * Nanos.millisecond, tokeninfoRetries: Int = 1,
                retryBackoff: Int64 = 10 * Nanos.millisecond, breakerFailures: Int? = nil,
                breakerOpenFor: Int64 = 5 * Nanos.second, jwksRefresh: Int64 = 30 * Nanos.second,
                jwksRetry: Int64 = 5 * Nanos.second, refetchOnUnknownKid: Bool = false,
                revocationPoll: Int64? = 10 * Nanos.second, verifyCost: Distribution = .constant(60_000),
                leeway: Int64 = 0, lifetimes: [String: Int64] = AuthSpec.planBLifetimes, clientRealm: String = "services",
                clients: Int = 50, refreshAt: Double = 0.8, refreshRetry: Int64 = 2 * Nanos.second,
                rotationInterval: Int64? = nil, rotationPrePublish: Int64 = 0, forgedFraction: Double = 0,
                revocationsPerSecond: Double = 0) {
        self.strategy = strategy
        self.tokeninfo = tokeninfo
        self.cacheTTL = cacheTTL
        self.tokeninfoTimeout = tokeninfoTimeout
        self.tokeninfoRetries = tokeninfoRetries
        self.retryBackoff = retryBackoff
        self.breakerFailures = breakerFailures
        self.breakerOpenFor = breakerOpenFor
        self.jwksRefresh = jwksRefresh
        self.jwksRetry = jwksRetry
        self.refetchOnUnknownKid = refetchOnUnknownKid
        self.revocationPoll = revocationPoll
        self.verifyCost = verifyCost
        self.leeway = leeway
        self.lifetimes = lifetimes
        self.clientRealm = clientRealm
        self.clients = clients
        self.refreshAt = refreshAt
        self.refreshRetry = refreshRetry
        self.rotationInterval = rotationInterval
        self.rotationPrePublish = rotationPrePublish
        self.forgedFraction = forgedFraction
        self.revocationsPerSecond = revocationsPerSecond
    }

    /// Plan B's token lifetimes: services and employees 8 h, customers 30 days, guests 30 min.
    public static let planBLifetimes: [String: Int64] = [
        "services": 8 * 3600 * Nanos.second,
        "employees": 8 * 3600 * Nanos.second,
        "customers": 30 * 24 * 3600 * Nanos.second,
        "guest-customers": 30 * 60 * Nanos.second,
    ]
}

/// The central tokeninfo cluster: `nodes` nodes, each a station of `servers` servers.
public struct TokeninfoSpec: Sendable {
    public var nodes: Int
    public var servers: Int
    public var service: Distribution
    public var queueLimit: Int?
    /// Zones its nodes are spread over; `nil` = every zone.
    public var zones: [String]?

    public init(nodes: Int = 2, servers: Int = 4, service: Distribution = .constant(1_000_000), queueLimit: Int? = nil,
                zones: [String]? = nil) {
        self.nodes = nodes
        self.servers = servers
        self.service = service
        self.queueLimit = queueLimit
        self.zones = zones
    }
}

/// `- calls:` — an open-loop stream of requests from the client into the mesh's entry service.
public struct MeshWorkload: Sendable {
    /// The service that receives the requests; `nil` = the graph's entry (its first service).
    public var entry: String?
    public var arrivals: ArrivalProcess
    /// The client gives up after this long (ns); `nil` = waits forever.
    public var timeout: Int64?
    public var start: Int64
    public var stop: Int64?

    public init(entry: String? = nil, arrivals: ArrivalProcess, timeout: Int64? = nil, start: Int64 = 0, stop: Int64? = nil) {
        self.entry = entry
        self.arrivals = arrivals
        self.timeout = timeout
        self.start = start
        self.stop = stop
    }
}

extension GraphSpec {
    /// Service names, fixed by the shape alone (generated shapes draw their edges per seed, but
    /// their names are known when the file is read, so faults and selectors can name them):
    /// tree `s<level>-<index>`, layered `l<layer>-<index>`, random-dag `d<index>`. The first is the entry.
    public var serviceNames: [String] {
        switch self {
        case .explicit(let services):
            return services.map(\.name)
        case .tree(let depth, let fanout):
            var names: [String] = []
            var width = 1
            for level in 0...max(0, depth) {
                names += (0..<width).map { "s\(level)-\($0)" }
                width *= max(1, fanout)
            }
            return names
        case .layered(let layers, let width, _):
            return (0..<layers).flatMap { layer in (0..<width).map { "l\(layer)-\($0)" } }
        case .randomDAG(let services, _):
            return (0..<services).map { "d\($0)" }
        }
    }
}

/// Names of the processes the OAuth model adds to the cluster.
public enum MeshNaming {
    /// The central token-validation cluster, as a service name (`service(tokeninfo)`).
    public static let tokeninfo = "tokeninfo"
    /// Issues and refreshes the clients' tokens.
    public static let tokenProvider = "token-provider"
    /// Serves the JWKS document and the revocation list to local validators.
    public static let jwks = "jwks"

    /// The process of replica `index` (1-based) of `service`, e.g. `api-r1`, `tokeninfo-r2`.
    public static func replica(_ service: String, _ index: Int) -> String { "\(service)-r\(index)" }
}
