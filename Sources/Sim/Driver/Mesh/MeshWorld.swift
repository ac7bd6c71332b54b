import Auth
import Mesh
import Scenario
import SimCore
import Stations
import Stats

/// One attempt of one call: the client → entry service, or a service → a child service.
struct MeshCall: Sendable {
    var request: UInt64
    /// The calling call; -1 = the client.
    var parent: Int64
    /// The callee replica (global index) and the callee service.
    var replica: Int32
    var service: Int32
    var token: Int32
    /// Caller's incarnation when it called: a reply to a crashed-and-restarted caller is lost.
    var callerIncarnation: UInt32
    var calleeIncarnation: UInt32 = 0
    /// Which call of the caller's current stage this is, and which attempt of it.
    var edge: Int16
    var attempt: Int32
    var sentAt: VirtualTime
    var arrivedAt: VirtualTime = 0
    var decidedAt: VirtualTime = 0
    /// The request's way through this hop (verdict, work, stages, answer): the shared core.
    var hop = HopRequest()
    var verifyCost: Int64 = 0
    /// Time spent validating tokens on this call's critical path (own validation plus, per
    /// stage, that of the child that finished last).
    var authCritical: Int64 = 0
    var stageAuth: Int64 = 0
    /// The callee has answered (or died trying); later events about it are ignored.
    var answered = false
    /// The caller has stopped waiting for this attempt (answer, timeout or its own failure).
    var resolved = false
}

/// One call to the tokeninfo cluster, on behalf of one validation.
struct TokeninfoCall: Sendable {
    var replica: Int32
    var call: UInt64
    var attempt: Int32
    var token: Int32
    var incarnation: UInt32
    var node: Int32 = 0
    var arrivedAt: VirtualTime = 0
    var response: TokeninfoResponse?
    var done = false
}

/// The OAuth fan-out world: services of the call graph, their validators, the tokeninfo
/// cluster, the token provider and JWKS endpoint, the clients' tokens, and the bookkeeping
/// the metrics and checks read.
struct MeshWorld {
    let graph: CallGraph
    let auth: AuthSpec
    /// One-way call latency by where caller and callee sit.
    let latency: PlacementLatency
    /// `latency.client != nil`, known without copying the distribution out per call.
    let hasClientLatency: Bool
    let validatorConfig: HopValidatorConfig
    let scheme = ModelSignatureScheme()
    let rules: TokenRules

    // Replicas of the services, contiguous per service.
    var replicaNode: [NodeID] = []
    var replicaService: [Int32] = []
    var serviceFirstReplica: [Int] = []
    var validators: [HopValidator] = []
    /// A buffer validators step into (`stepValidator`); nil while one is in use.
    var spareHopEffects: [HopEffect]? = []
    var stations: [Station] = []
    var validatorTickAt: [VirtualTime?] = []
    /// Per service: the round-robin position over its replicas.
    var roundRobin: [UInt32] = []
    /// Callers skip replicas whose process is down (see `ServiceDefaults.healthChecks`).
    var healthChecks = false
    var workRngs: [SeededGenerator] = []
    /// Service-time factor per service; index `graph.services.count` is the tokeninfo cluster.
    var slowdown: [Double] = []
    /// node → replica index, or -1 (lookups by node id).
    var nodeReplica: [Int32] = []

    // The tokeninfo cluster.
    var tokeninfoNodes: [NodeID] = []
    var tokeninfoStations: [Station] = []
    var tokeninfoRng: SeededGenerator
    var tokeninfoRoundRobin: UInt32 = 0
    var tokeninfoCalls: [TokeninfoCall] = []
    var tokeninfoSojourn = LatencyHistogram()
    var tokeninfoSojournSum: Double = 0
    var tokeninfoMeasured: UInt64 = 0
    var tokeninfoServiceSum: Double = 0
    var tokeninfoServed: UInt64 = 0

    // Token provider and JWKS endpoint.
    var providerNode: NodeID = 0
    var jwksNode: NodeID = 0
    let provider: TokenProvider
    /// The key set last published, kept while the same keys are published (`jwks(at:)`).
    var publishedJWKS: (numbers: ClosedRange<Int64>, keys: JWKS)?
    /// The truth: what the provider has revoked, and when.
    var revoked = RevocationList()
    /// Per replica and kind (0 = JWKS, 1 = revocations): the fetch in flight, and what the
    /// endpoint answered.
    var keyFetchSeq: [[UInt32]] = []
    var keyAnswerJWKS: [JWKS?] = []
    var keyAnswerRevocations: [RevocationList?] = []

    // Clients and their tokens.
    var tokens: [Token] = []
    var tokenForged: [Bool] = []
    /// Each token's `exp`, read per hop decision without going through the token.
    var tokenExpiry: [Int64] = []
    var refreshers: [TokenRefresher] = []
    /// Each client's current token (index into `tokens`).
    var clientToken: [Int32] = []
    var clientInvalidated: [Bool] = []
    var refreshPending: [Bool] = []
    var revocations: UInt64 = 0
    var forgedPool: [Int32] = []
    var clientRng: SeededGenerator
    var entryRng: SeededGenerator
    var revocationRng: SeededGenerator

    // Calls and requests.
    var calls: [MeshCall] = []
    /// Per workload: the entry service, or -1 = drawn by traffic share from `entryWeights`
    /// (cumulative share, service), ascending.
    var workloadEntry: [Int] = []
    var entryWeights: [(cumulative: Double, service: Int)] = []
    var crossAccountCalls: UInt64 = 0
    var degradedCalls: UInt64 = 0
    var workloadArrivals: [ArrivalProcess] = []
    var workloadTimeout: [Int64?] = []
    var workloadStop: [VirtualTime] = []
    var arrivalRngs: [SeededGenerator] = []
    var verifyRng: SeededGenerator
    var latencyRng: SeededGenerator
    /// Per request id: whose token it carried (-1: a forged one, nobody's; -2: not a mesh
    /// request, e.g. a station request of the same scenario).
    var requestClient: [Int32] = []
    /// Per node: its cloud account and region (nil = the scenario's default), for latency.
    var nodeAccount: [String?] = []
    var nodeRegion: [String?] = []
    /// The same as small numbers (equal exactly when the names are; -1 for nil): compared per
    /// message, the names cost 0.5% of a fan-out run.
    var nodeAccountID: [Int32] = []
    var nodeRegionID: [Int32] = []

    // What the metrics and checks read.
    var authLatency = LatencyHistogram()
    var authShareSum: Double = 0
    var authShareCount: UInt64 = 0
    var hopDecisions: UInt64 = 0
    var acceptedForged: UInt64 = 0
    var acceptedExpired: UInt64 = 0
    var acceptedRevoked: UInt64 = 0
    var rejectedValid: UInt64 = 0
    var rejectedInvalid: UInt64 = 0
    var unavailableDecisions: UInt64 = 0
    var localVerifications: UInt64 = 0
    var cacheHits: UInt64 = 0
    var tokenRefreshes: UInt64 = 0
    var tokenRefreshFailures: UInt64 = 0
    var crossZoneCalls: UInt64 = 0
    var serviceCalls: UInt64 = 0
    /// The first few accepted invalid tokens, for the check's report.
    var acceptedInvalidExamples: [(time: VirtualTime, description: String)] = []

    init(graph: CallGraph, auth: AuthSpec, latency: PlacementLatency, root: SeededGenerator) {
        self.graph = graph
        self.auth = auth
        self.latency = latency
        hasClientLatency = latency.client != nil
        let issuer = "https://identity.faultline.test"
        rules = TokenRules(issuer: issuer, leeway: auth.leeway)
        validatorConfig = auth.validatorConfig(rules: rules)
        let longest = auth.lifetimes.values.max() ?? 0
        provider = TokenProvider(
            issuer: issuer, lifetimes: RealmLifetimes(auth.lifetimes),
            rotation: KeyRotation(interval: auth.rotationInterval, prePublish: auth.rotationPrePublish, retainAfter: longest))
        tokeninfoRng = root.stream("mesh.tokeninfo")
        entryRng = root.stream("mesh.entries")
        clientRng = root.stream("mesh.clients")
        revocationRng = root.stream("mesh.revocations")
        verifyRng = root.stream("mesh.verify")
        latencyRng = root.stream("mesh.latency")
    }

    /// The first replica of `service`; its replicas are `first ..< first + replicas`.
    func replicas(of service: Int) -> Range<Int> {
        let first = serviceFirstReplica[service]
        return first..<(first + graph.services[service].replicas)
    }

    func newValidator() -> HopValidator { HopValidator(config: validatorConfig, scheme: scheme) }

    /// Why a token is in truth invalid (what a validator that accepts it got wrong).
    enum TokenProblem: String, Sendable {
        case forged, expired, revoked
    }

    /// Ground truth for a token at virtual time `now`: nil when valid, else what is wrong.
    func truthProblem(_ token: Int32, at now: VirtualTime) -> TokenProblem? {
        // Asked at every hop decision: the claims (and the id's hashing) are read only when
        // something was revoked (reading them per call was 2% of a multi-account run).
        if tokenForged[Int(token)] { return .forged }
        if now > tokenExpiry[Int(token)] { return .expired }
        if revoked.count > 0, revoked.isRevoked(jti: tokens[Int(token)].claims.jti, at: now) { return .revoked }
        return nil
    }

    /// The provider's published keys at `now`. Rebuilt only when the published key numbers
    /// change: building the set names every key anew, which cost 0.8% of a simulated
    /// central-validation run when tokeninfo did it for every answer.
    mutating func jwks(at now: Int64) -> JWKS {
        let numbers = provider.publishedKeyNumbers(at: now)
        if let published = publishedJWKS, published.numbers == numbers { return published.keys }
        let keys = provider.jwks(numbers: numbers)
        publishedJWKS = (numbers, keys)
        return keys
    }
}

/// The OAuth fan-out model: requests enter the call graph and every hop validates, works and
/// calls its children through the shared `Mesh` cores (`HopValidator`, `HopRequest`,
/// `CallRules`). It owns `MeshEvent`s and its world; the virtual cluster it runs on is lent to
/// each handler.
struct MeshModel {
    var world: MeshWorld
}
