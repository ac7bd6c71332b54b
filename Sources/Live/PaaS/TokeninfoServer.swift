import Auth
import Hummingbird
import LiveAuth
import Logging
import NIOCore
import Prometheus
import Synchronization

/// Zalando's tokeninfo over HTTP: `GET /oauth2/tokeninfo` with `Authorization: Bearer` or
/// `?access_token=`. The verdict is `Tokeninfo.respond` — the function the simulated tokeninfo
/// station calls — against a JWKS cache refreshed every `refresh` seconds and the provider's
/// revocation list. `/health` answers 503 until the first JWKS has been loaded.
public final class TokeninfoService: Sendable {
    public let config: TokeninfoConfig
    let rules: TokenRules
    let scheme = ES256Scheme()
    let source: KeySource
    let state = Mutex(KeyState())
    let metrics: PaaSMetrics
    let responses: ResponseCounters
    let verifications: Counter
    let refetches: Counter
    let jwksFailures: Counter
    let logger: Logger

    struct KeyState: Sendable {
        var jwks: JWKS?
        var revoked = RevocationList()
        /// Monotonic time of the last JWKS fetch, to rate-limit refetches on unknown kids; nil
        /// before the first (a request can beat the refresh loop's first fetch after a start —
        /// `now - Int64.min` here once trapped and took the server down).
        var lastFetch: Int64?
    }

    /// A forged kid may ask for a refetch at most this often.
    static let refetchMinInterval: Int64 = 1_000_000_000

    public init(config: TokeninfoConfig, group: any EventLoopGroup, logger: Logger, process: String = "tokeninfo") throws {
        self.config = config
        rules = TokenRules(issuer: config.issuer, leeway: Int64((config.leeway * 1e9).rounded()), acceptedRealms: config.realms)
        source = KeySource(jwks: try HTTPEndpoint(config.jwksURL), revocations: try config.revocationsURL.map(HTTPEndpoint.init),
                           group: group)
        metrics = PaaSMetrics(process: process)
        responses = ResponseCounters(metrics, route: "tokeninfo")
        verifications = metrics.counter("signature_verifications_total", "Tokens whose signature was checked")
        refetches = metrics.counter("jwks_refetches_total", "JWKS fetched early for an unknown kid")
        jwksFailures = metrics.counter("jwks_fetch_failures_total", "JWKS fetches that failed")
        self.logger = logger
    }

    public var ready: Bool { state.withLock { $0.jwks != nil } }

    /// Fetches keys (and revocations) now; true when the JWKS arrived.
    @discardableResult
    func refresh() async -> Bool {
        state.withLock { $0.lastFetch = monotonicNanos() }
        let keys = await source.fetchJWKS()
        let revoked = await source.fetchRevocations()
        state.withLock { s in
            if let keys { s.jwks = keys }
            if let revoked { s.revoked = revoked }
        }
        if keys == nil {
            jwksFailures.increment()
            logger.warning("JWKS fetch failed", metadata: ["url": "\(source.jwks)"])
        }
        return keys != nil
    }

    /// Refreshes every `refresh` seconds (every second until the first success) until cancelled.
    public func runRefreshLoop() async {
        while !Task.isCancelled {
            let ok = await refresh()
            let wait = ok ? config.refresh : 1
            try? await Task.sleep(nanoseconds: UInt64(max(0.05, wait) * 1e9))
        }
    }

    public func respond(to presented: String?) async -> TokeninfoResponse {
        let request = BearerToken.tokeninfoRequest(presented)
        var response = answer(request)
        if case .unknownKey? = response.rejection,
           state.withLock({ s in s.lastFetch.map { monotonicNanos() - $0 >= Self.refetchMinInterval } ?? true }) {
            // A kid we have not seen: the provider may have rotated since our last refresh.
            refetches.increment()
            await refresh()
            response = answer(request)
        }
        if !ready, case .presented = request {
            // Started without reaching the provider yet (a restart during an outage): no keys to
            // judge by. Found by the live tokeninfo-outage chaos run, where the restarted node's
            // 401s made the mesh refuse valid tokens.
            response = Tokeninfo.unavailable("no signing keys loaded yet")
        }
        responses.count(response.status)
        return response
    }

    private func answer(_ request: TokeninfoRequest) -> TokeninfoResponse {
        let (keys, revoked) = state.withLock { ($0.jwks ?? JWKS(keys: []), $0.revoked) }
        if case .presented = request { verifications.increment() }
        return Tokeninfo.respond(to: request, keys: keys, revoked: revoked, rules: rules, now: wallClockNanos(), scheme: scheme)
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/oauth2/tokeninfo") { request, _ -> Response in
            let response = await self.respond(to: BearerToken.extract(request))
            var headers: HTTPFields = [:]
            if response.status == 401 { headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\"" }
            return Response.json(response.status, bytes: JSONWriter.object(response.body), headers: headers)
        }
        router.get("/health") { _, _ -> Response in
            self.ready ? Response.json(200, "{\"status\":\"ok\"}") : Response.json(503, "{\"status\":\"no keys yet\"}")
        }
        metrics.addRoute(to: router)
        return router
    }

    public func shutdown() async { await source.shutdown() }
}
