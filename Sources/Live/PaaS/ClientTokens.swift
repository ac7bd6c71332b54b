import Auth
import Foundation
import Live
import LiveAuth
import LiveHTTP
import NIOConcurrencyHelpers
import Sampling

/// The live load's clients and their tokens, each kept fresh by the Auth core's
/// `TokenRefresher` — the simulator's client lifecycle: refresh at `refresh_at` of the token's
/// lifetime, retry `refresh_retry` after a refresh that failed or got no answer in that time,
/// keep using the current token meanwhile (even once it expired: its requests are then
/// rightly refused, which the client's users see as unavailability). As the simulator spreads
/// its clients' tokens over the refresh interval, each client's first refresh is drawn
/// uniformly within it (seeded), so the clients do not all refresh at once.
final class ClientTokens: Sendable {
    struct Current: Sendable {
        var raw: String
        /// Wall-clock ns.
        var expiresAt: Int64
    }

    private let clients: [ClientRegistration]
    private let realm: String
    private let refreshAt: Double
    private let retryAfter: Int64
    private let state: NIOLockedValueBox<[(refresher: TokenRefresher, current: Current?, refused: Bool)]>
    let refreshes = NIOLockedValueBox((done: 0, failed: 0))

    init(clients: [ClientRegistration], realm: String, refreshAt: Double, retryAfter: Int64) {
        self.clients = clients
        self.realm = realm
        self.refreshAt = refreshAt
        self.retryAfter = retryAfter
        state = NIOLockedValueBox(clients.map { _ in (TokenRefresher(refreshAt: refreshAt, retryAfter: retryAfter), nil, false) })
    }

    var count: Int { clients.count }

    /// Client `k`'s token now (nil before its first).
    func current(_ k: Int) -> Current? { state.withLockedValue { $0[k].current } }

    /// A service refused client `k`'s token (401): it re-authenticates at once, as the
    /// simulator's client does, keeping the token it has until the new one arrives.
    func refused(_ k: Int) { state.withLockedValue { $0[k].refused = true } }

    /// Every client's first token (before the load starts; a failure here fails the run).
    func fetchAll(_ pool: HTTPConnectionPool) async throws {
        for k in clients.indices {
            let raw = try await TokenClient.fetch(pool, client: clients[k], realm: realm)
            try issued(k, raw)
        }
    }

    /// Keeps every client's token fresh until `stop` (wall-clock ns) or cancellation.
    func keepFresh(_ pool: HTTPConnectionPool, until stop: Int64, seed: UInt64) async {
        await withTaskGroup(of: Void.self) { group in
            for k in clients.indices {
                var rng = SeededGenerator(seed: seed).stream("live.token.refresh.\(k)")
                let lifetime = state.withLockedValue { s in s[k].current.map { Double($0.expiresAt - wallClockNanos()) } } ?? 0
                let first = wallClockNanos() + Int64(rng.nextUnit() * refreshAt * max(0, lifetime))
                group.addTask { await self.refreshLoop(k, pool, first: first, stop: stop) }
            }
        }
    }

    private func refreshLoop(_ k: Int, _ pool: HTTPConnectionPool, first: Int64, stop: Int64) async {
        var due = first
        while !Task.isCancelled {
            let now = wallClockNanos()
            if due >= stop { return }
            let refused = state.withLockedValue { $0[k].refused }
            if due > now && !refused { try? await Task.sleep(nanoseconds: UInt64(min(due - now, 20_000_000))); continue }
            do {
                let raw = try await TokenClient.fetch(pool, client: clients[k], realm: realm, timeout: .nanoseconds(retryAfter))
                try issued(k, raw)
                refreshes.withLockedValue { $0.done += 1 }
            } catch {
                state.withLockedValue { $0[k].refresher.refreshFailed(now: wallClockNanos()) }
                refreshes.withLockedValue { $0.failed += 1 }
            }
            due = state.withLockedValue { $0[k].refresher.nextRefresh } ?? wallClockNanos() + retryAfter
        }
    }

    private func issued(_ k: Int, _ raw: String) throws {
        guard case .success(let token) = JWT.decode(raw) else {
            throw LiveError.failed("the token provider issued \(clients[k].clientID) a token that does not decode")
        }
        let now = wallClockNanos()
        state.withLockedValue { s in
            s[k].refresher.issued(token, now: now)
            s[k].current = Current(raw: raw, expiresAt: token.claims.exp)
            s[k].refused = false
        }
    }
}
