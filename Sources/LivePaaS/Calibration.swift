import Auth
import Foundation
import Live
import LiveAuth
import LiveHTTP
import NIOCore
import Results
import Stats

/// `faultline calibrate`: what this machine's live services cost, measured, so the simulator
/// can be told. Three quantities, each a distribution (p50 and p99 of `samples` measurements):
/// - **verify cost**: one local validation in-process — decode the compact JWT and run
///   `TokenRules.check` with ES256 (what a `local` hop spends before its work);
/// - **hop latency**: half the round trip of a trivial request over a warm keep-alive
///   connection to a mesh replica (HTTP parsing, the event loops, loopback), plus half the
///   overshoot of the event-loop timer a live service sleeps its modelled work on;
/// - **tokeninfo service time**: a tokeninfo round trip minus the trivial round trip to the
///   same server.
/// The profile states them as `--set` overrides of the scenario's own keys.
public struct CalibrationResult: Sendable {
    public var verify = LatencyHistogram()
    public var hopRoundTrip = LatencyHistogram()
    public var tokeninfoRoundTrip = LatencyHistogram()
    public var tokeninfoBaseRoundTrip = LatencyHistogram()
    public var timerOvershoot = LatencyHistogram()
    public var samples: Int

    public init(samples: Int) { self.samples = samples }

    func us(_ h: LatencyHistogram, _ p: Double) -> Double { h.percentile(p) / 1e3 }

    /// Service time of tokeninfo: its round trip less the trivial round trip, per percentile.
    public var tokeninfoService: (p50: Double, p99: Double) {
        let base = us(tokeninfoBaseRoundTrip, 50)
        return (max(1, us(tokeninfoRoundTrip, 50) - base), max(2, us(tokeninfoRoundTrip, 99) - base))
    }

    /// One-way hop latency in µs.
    public var hop: (p50: Double, p99: Double) {
        ((us(hopRoundTrip, 50) + us(timerOvershoot, 50)) / 2, (us(hopRoundTrip, 99) + us(timerOvershoot, 99)) / 2)
    }

    /// A lognormal given its median and p99 (the scenario format's own form); p99 is kept above
    /// the median, as the format requires.
    static func lognormal(_ p50: Double, _ p99: Double) -> String {
        let median = max(1, p50.rounded())
        let tail = max(median + 1, p99.rounded())
        return "{lognormal: {median: \(Int(median))us, p99: \(Int(tail))us}}"
    }

    /// The scenario profile (YAML): what was measured, and the overrides to apply.
    public func profile(host: String, date: String) -> String {
        func line(_ name: String, _ h: LatencyHistogram) -> String {
            "  \(name): {p50_us: \(formatNumber(us(h, 50))), p99_us: \(formatNumber(us(h, 99))), samples: \(h.count)}"
        }
        let service = tokeninfoService
        let hop = hop
        return """
            # Faultline calibration profile, written by `faultline calibrate` on \(host) at \(date).
            # Apply it with `faultline run|load SCENARIO --profile THIS_FILE`: every `set` entry is a
            # `--set` override (the user's own --set options still win). Re-run calibrate on another
            # machine: these numbers belong to this one.
            calibration:
              host: \(host)
              measured_at: \(date)
            \(line("verify", verify))
            \(line("hop_round_trip", hopRoundTrip))
            \(line("timer_overshoot", timerOvershoot))
            \(line("tokeninfo_round_trip", tokeninfoRoundTrip))
            \(line("tokeninfo_base_round_trip", tokeninfoBaseRoundTrip))
              tokeninfo_service: {p50_us: \(formatNumber(service.p50)), p99_us: \(formatNumber(service.p99))}
              hop_one_way: {p50_us: \(formatNumber(hop.p50)), p99_us: \(formatNumber(hop.p99))}
            set:
              - "auth.verify_cost=\(Self.lognormal(us(verify, 50), us(verify, 99)))"
              - "auth.tokeninfo.service=\(Self.lognormal(service.p50, service.p99))"
              - "services.latency.same_host=\(Self.lognormal(hop.p50, hop.p99))"
              - "services.latency.same_zone=\(Self.lognormal(hop.p50, hop.p99))"

            """
    }
}

public enum Calibration {
    /// Local validations in this process: decode + `TokenRules.check` with ES256, one at a time.
    public static func measureVerify(samples: Int, into result: inout CalibrationResult) {
        let lifetimes = RealmLifetimes(["services": 3600 * 1_000_000_000])
        let issuer = LiveTokenIssuer(provider: TokenProvider(issuer: "calibration", lifetimes: lifetimes, rotation: .never))
        let now = wallClockNanos()
        let tokens = (0..<16).compactMap {
            issuer.issue(sub: "client-\($0)", realm: .services, scope: ["uid"], azp: "client-\($0)", jti: "cal-\($0)", at: now)
        }
        let keys = issuer.jwks(at: now)
        let rules = TokenRules(issuer: "calibration", acceptedRealms: ["services"])
        let scheme = ES256Scheme()
        let revoked = RevocationList()
        for i in 0..<(samples + samples / 10) {
            let raw = tokens[i % tokens.count].raw
            let start = monotonicNanos()
            guard case .success(let token) = JWT.decode(raw),
                  case .success = rules.check(token, keys: keys, revoked: revoked, now: wallClockNanos(), scheme: scheme)
            else { continue }
            let elapsed = monotonicNanos() - start
            if i >= samples / 10 { result.verify.record(elapsed) }  // the first tenth warms caches up
        }
    }

    /// Closed-loop round trips, one at a time over one warm keep-alive connection.
    public static func roundTrips(_ pool: HTTPConnectionPool, _ request: HTTPRequestSpec, samples: Int,
                                  expectStatus: Int = 200) async throws -> LatencyHistogram {
        var h = LatencyHistogram()
        for i in 0..<(samples + samples / 10) {
            let start = monotonicNanos()
            let reply = try await pool.send(request, timeout: .seconds(5))
            let elapsed = monotonicNanos() - start
            guard reply.status == expectStatus else {
                throw LiveError.failed("calibration: \(request.target) answered \(reply.status), expected \(expectStatus)")
            }
            if i >= samples / 10 { h.record(elapsed) }
        }
        return h
    }

    /// How late an event-loop timer fires for sleeps like the modelled work (1 ms).
    public static func timerOvershoot(loop: any EventLoop, samples: Int) async throws -> LatencyHistogram {
        var h = LatencyHistogram()
        for _ in 0..<samples {
            let start = monotonicNanos()
            try await loop.scheduleTask(in: .milliseconds(1)) {}.futureResult.get()
            h.record(monotonicNanos() - start - 1_000_000)
        }
        return h
    }
}

extension Calibration {
    /// Trivial and tokeninfo round trips against a running PaaS (mesh up with strategy none).
    public static func measureServices(launcher: PaaSLauncher, group: any EventLoopGroup, samples: Int,
                                       into result: inout CalibrationResult) async throws {
        let provider = try HTTPEndpoint(launcher.providerURL)
        let providerPool = HTTPConnectionPool(host: provider.host, port: provider.port, group: group, maxConnections: 1)
        let auth = launcher.clients.clients[0]
        let token = try await TokenClient.fetch(providerPool, client: auth, realm: auth.realms[0])
        await providerPool.shutdown()

        let replica = launcher.layout.replicas[0]
        let meshPool = HTTPConnectionPool(host: "127.0.0.1", port: replica.port, group: group, maxConnections: 1)
        result.hopRoundTrip = try await roundTrips(meshPool, .get("/health"), samples: samples)
        await meshPool.shutdown()

        let tokeninfo = try HTTPEndpoint(launcher.tokeninfoURLs[0])
        let tokeninfoPool = HTTPConnectionPool(host: tokeninfo.host, port: tokeninfo.port, group: group, maxConnections: 1)
        result.tokeninfoBaseRoundTrip = try await roundTrips(tokeninfoPool, .get("/health"), samples: samples)
        result.tokeninfoRoundTrip = try await roundTrips(
            tokeninfoPool, .get(tokeninfo.path, headers: [("Authorization", "Bearer " + token)]), samples: samples)
        await tokeninfoPool.shutdown()
    }
}

/// ES256 throughput on one thread: bare signature verification, and a whole local validation.
public enum VerifyBenchmark {
    public static func run(seconds: Double) -> (verify: Double, validate: Double) {
        let lifetimes = RealmLifetimes(["services": 3600 * 1_000_000_000])
        let issuer = LiveTokenIssuer(provider: TokenProvider(issuer: "bench", lifetimes: lifetimes, rotation: .never))
        let now = wallClockNanos()
        let tokens = (0..<64).compactMap {
            issuer.issue(sub: "c\($0)", realm: .services, scope: ["uid"], azp: "c\($0)", jti: "b\($0)", at: now)
        }
        let keys = issuer.jwks(at: now)
        let key = keys.keys[0]
        let scheme = ES256Scheme()
        let rules = TokenRules(issuer: "bench")
        let decoded = tokens.map { try! JWT.decode($0.raw).get() }
        func rate(_ body: (Int) -> Bool) -> Double {
            let budget = Int64(seconds / 2 * 1e9)
            let start = monotonicNanos()
            var n = 0
            var ok = 0
            while monotonicNanos() - start < budget {
                for _ in 0..<64 {
                    if body(n) { ok += 1 }
                    n += 1
                }
            }
            precondition(ok == n, "a genuine token failed verification")
            return Double(n) / (Double(monotonicNanos() - start) / 1e9)
        }
        let verify = rate { scheme.verify(decoded[$0 % decoded.count], with: key) }
        let validate = rate { i in
            guard case .success(let token) = JWT.decode(tokens[i % tokens.count].raw) else { return false }
            if case .success = rules.check(token, keys: keys, revoked: RevocationList(), now: now, scheme: scheme) { return true }
            return false
        }
        return (verify, validate)
    }
}
