import Auth
import Foundation
import Live
import LiveAuth
import LiveHTTP
import LoadCore
import NIOCore
import Results
import Sampling
import Stats

/// `faultline calibrate`: what this machine's live services cost, measured through the mesh's
/// own code paths so the simulator can be told. A mesh replica's `GET /calibrate/hop` runs one
/// hop without work or calls (HTTP, token extraction, the validator, a server slot); its round
/// trip is timed per strategy, closed loop over a warm keep-alive connection (as one service
/// calls another), and once more open loop with the load driver (as the client calls the entry):
/// - **hop latency** (one way) = half the `none` round trip, plus half the work path's overshoot
///   (`?work_us=1000` against none: the event-loop timer and the task hops around it);
/// - **client latency** (one way) = half the open-loop `none` round trip, plus the same half
///   overshoot: the load driver's send timer and a connection woken from idle cost more than a
///   warm hop between services;
/// - **verify cost** = `local` round trip − `none` round trip (an ES256 verification as a hop
///   pays it); the in-process cost of decode + `TokenRules.check` is recorded next to it;
/// - **tokeninfo service time** = `central` − `none` round trip − two one-way hops (the
///   simulator charges a tokeninfo call two network latencies plus its service time).
/// p50 and p99 are each taken from the measured percentiles; the profile states them as
/// `--set` overrides of the scenario's own keys.
public struct CalibrationResult: Sendable {
    public var verify = LatencyHistogram()
    /// `GET /calibrate/hop` round trips, by the mesh's strategy: a hop without work or calls.
    public var bareHop: [String: LatencyHistogram] = [:]
    public var tokeninfoRoundTrip = LatencyHistogram()
    /// Bare `none` hops timed by the open-loop load driver.
    public var clientHop = LatencyHistogram()
    /// Bare hops of the `none` mesh that also sleep `workSleepMicros` on the work path.
    public var sleepingHop = LatencyHistogram()
    public static let workSleepMicros = 1000.0
    public var samples: Int

    public init(samples: Int) { self.samples = samples }

    func us(_ h: LatencyHistogram, _ p: Double) -> Double { h.percentile(p) / 1e3 }
    func hopUs(_ strategy: String, _ p: Double) -> Double { bareHop[strategy].map { us($0, p) } ?? 0 }

    /// How much later than asked the work path's sleep ends, as a request sees it (timer
    /// slack plus the hops between the event loop and the task that awaits it).
    public var workOvershoot: (p50: Double, p99: Double) {
        (max(0, us(sleepingHop, 50) - hopUs("none", 50) - Self.workSleepMicros),
         max(0, us(sleepingHop, 99) - hopUs("none", 99) - Self.workSleepMicros))
    }

    /// One-way hop latency in µs: half a bare round trip plus half the work path's overshoot
    /// (the simulator's work is exact, so a hop carries the rest).
    public var hop: (p50: Double, p99: Double) {
        let overshoot = workOvershoot
        return ((hopUs("none", 50) + overshoot.p50) / 2, (hopUs("none", 99) + overshoot.p99) / 2)
    }

    /// One-way latency between the load driver and the entry, µs.
    public var client: (p50: Double, p99: Double) {
        let overshoot = workOvershoot
        return ((us(clientHop, 50) + overshoot.p50) / 2, (us(clientHop, 99) + overshoot.p99) / 2)
    }

    /// What a local validation adds to a hop; the in-process cost when the difference drowns in noise.
    public var verifyCost: (p50: Double, p99: Double) {
        let p50 = hopUs("local", 50) - hopUs("none", 50)
        let p99 = hopUs("local", 99) - hopUs("none", 99)
        guard p50 > 0 else { return (us(verify, 50), us(verify, 99)) }
        return (p50, max(p99, p50 * us(verify, 99) / max(1, us(verify, 50))))
    }

    /// Tokeninfo's service time as the simulator models it (the call's network latency apart).
    public var tokeninfoService: (p50: Double, p99: Double) {
        let hop = hop
        let p50 = max(1, hopUs("central", 50) - hopUs("none", 50) - 2 * hop.p50)
        let p99 = max(p50 + 1, hopUs("central", 99) - hopUs("none", 99) - 2 * hop.p50)
        return (p50, p99)
    }


    /// The scenario profile (YAML): what was measured, and the overrides to apply.
    public func profile(host: String, date: String) -> String {
        func line(_ name: String, _ h: LatencyHistogram) -> String {
            "  \(name): {p50_us: \(formatNumber(us(h, 50))), p99_us: \(formatNumber(us(h, 99))), samples: \(h.count)}"
        }
        func pair(_ name: String, _ v: (p50: Double, p99: Double)) -> String {
            "  \(name): {p50_us: \(formatNumber(v.p50)), p99_us: \(formatNumber(v.p99))}"
        }
        let measured = bareHop.keys.sorted().map { line("hop_round_trip_\($0)", bareHop[$0]!) }
        let lines = [line("verify_in_process", verify)] + measured + [
            line("hop_round_trip_none_with_1ms_work", sleepingHop), pair("work_overshoot", workOvershoot),
            line("client_round_trip_open_loop", clientHop), pair("client_one_way", client),
            line("tokeninfo_round_trip_direct", tokeninfoRoundTrip),
            pair("hop_one_way", hop), pair("verify_cost", verifyCost), pair("tokeninfo_service", tokeninfoService),
        ]
        let hop = hop, verify = verifyCost, service = tokeninfoService, client = client
        return """
            # Faultline calibration profile, written by `faultline calibrate` on \(host) at \(date).
            # Apply it with `faultline run|load SCENARIO --profile THIS_FILE`: every `set` entry is a
            # `--set` override (the user's own --set options still win). Re-run calibrate on another
            # machine: these numbers belong to this one.
            calibration:
              host: \(host)
              measured_at: \(date)
            \(lines.joined(separator: "\n"))
            set:
              - "auth.verify_cost=\(CalibrationProfile.lognormal(verify.p50, verify.p99))"
              - "auth.tokeninfo.service=\(CalibrationProfile.lognormal(service.p50, service.p99))"
              - "services.latency.same_host=\(CalibrationProfile.lognormal(hop.p50, hop.p99))"
              - "services.latency.same_zone=\(CalibrationProfile.lognormal(hop.p50, hop.p99))"
              - "services.latency.client=\(CalibrationProfile.lognormal(client.p50, client.p99))"

            """
    }
}

public enum Calibration {
    /// Local validations in this process: decode + `TokenRules.check` with ES256, one at a time.
    public static func measureVerify(samples: Int, into result: inout CalibrationResult) {
        let fixture = GenuineTokens(count: 16)
        for i in 0..<(samples + samples / 10) {
            let raw = fixture.tokens[i % fixture.tokens.count].raw
            let start = monotonicNanos()
            guard fixture.validates(raw) else { continue }
            let elapsed = monotonicNanos() - start
            if i >= samples / 10 { result.verify.record(elapsed) }  // the first tenth warms caches up
        }
    }

    /// Closed-loop round trips, one at a time over one warm keep-alive connection: how one
    /// service's pooled connection to another performs.
    public static func closedLoopRoundTrips(host: String = "127.0.0.1", port: Int, _ request: HTTPRequestSpec, samples: Int,
                                            group: any EventLoopGroup) async throws -> LatencyHistogram {
        let pool = HTTPConnectionPool(host: host, port: port, group: group, maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        var h = LatencyHistogram()
        for i in 0..<(samples + samples / 10) {
            let start = monotonicNanos()
            let reply = try await pool.send(request, timeout: .seconds(5))
            let elapsed = monotonicNanos() - start
            guard reply.status == 200 else {
                throw LiveError.failed("calibration: \(request.target) answered \(reply.status), expected 200")
            }
            if i >= samples / 10 { h.record(elapsed) }  // the first tenth warms caches and connections up
        }
        return h
    }

    /// Round trips as a load run sees them: open loop (Poisson arrivals at `rate`/s, one
    /// keep-alive connection), timed from the intended send — the same instrument as
    /// `faultline load`, and the same idle gaps between requests (a closed loop keeps threads
    /// awake and measures a faster machine than the one requests meet).
    public static func openLoopRoundTrips(host: String = "127.0.0.1", port: Int, _ request: HTTPRequestSpec, samples: Int,
                                  rate: Double = calibrationRate, group: any EventLoopGroup,
                                  expectStatus: Int = 200) async throws -> LatencyHistogram {
        let warmup = samples / 10
        let schedule = Array(ArrivalSchedule(.poisson(perSecond: rate), stop: Int64(Double(samples + warmup) / rate * 1e9) + 1,
                                             generator: SeededGenerator(seed: 0xCA11).stream("calibration")))
        var load = OpenLoopHTTPLoad(host: host, port: port, connections: 1, maxInFlightPerConnection: 16, timeout: .seconds(5))
        load.measureFrom = schedule.count > warmup ? schedule[warmup] : 0
        let result = try await load.run(intended: schedule, start: .now() + .milliseconds(100), group: group,
                                        request: { _ in request },
                                        classify: { $0.status == expectStatus ? .ok : .error("http_\($0.status)") })
        guard result.errors == 0, result.timeouts == 0 else {
            throw LiveError.failed("calibration: \(request.target) failed \(result.errors + result.timeouts) time(s): \(result.outcomeCounts)")
        }
        return result.recorder.corrected
    }

    /// Requests per second of the calibration runs: light load, as in the shipped scenario.
    public static let calibrationRate = 200.0
}

extension Calibration {
    /// The mesh (already started with `strategy`) timed at its entry replica's bare hop; with
    /// `none`, also with a 1 ms sleep on the work path.
    public static func measureBareHop(launcher: PaaSLauncher, strategy: String, token: String, group: any EventLoopGroup,
                                      samples: Int, into result: inout CalibrationResult) async throws {
        let replica = launcher.layout.replicas[0]
        let auth = [("Authorization", "Bearer " + token)]
        result.bareHop[strategy] = try await closedLoopRoundTrips(port: replica.port, .get("/calibrate/hop", headers: auth),
                                                                  samples: samples, group: group)
        if strategy == "none" {
            result.sleepingHop = try await closedLoopRoundTrips(
                port: replica.port, .get("/calibrate/hop?work_us=\(Int(CalibrationResult.workSleepMicros))", headers: auth),
                samples: samples, group: group)
            result.clientHop = try await openLoopRoundTrips(port: replica.port, .get("/calibrate/hop", headers: auth),
                                                            samples: samples, group: group)
        }
    }

    /// A client token from the launcher's provider.
    public static func token(launcher: PaaSLauncher, group: any EventLoopGroup) async throws -> String {
        let provider = try HTTPEndpoint(launcher.providerURL)
        let pool = HTTPConnectionPool(host: provider.host, port: provider.port, group: group, maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        let client = launcher.clients.clients[0]
        return try await TokenClient.fetch(pool, client: client, realm: client.realms[0])
    }

    /// Tokeninfo asked directly (for the record: the hop's view is what the profile uses).
    public static func measureTokeninfo(launcher: PaaSLauncher, token: String, group: any EventLoopGroup, samples: Int,
                                        into result: inout CalibrationResult) async throws {
        let tokeninfo = try HTTPEndpoint(launcher.tokeninfoURLs[0])
        result.tokeninfoRoundTrip = try await closedLoopRoundTrips(
            host: tokeninfo.host, port: tokeninfo.port, .get(tokeninfo.path, headers: [("Authorization", "Bearer " + token)]),
            samples: samples, group: group)
    }
}

/// ES256 throughput on one thread: bare signature verification, and a whole local validation.
public enum VerifyBenchmark {
    public static func run(seconds: Double) -> (verify: Double, validate: Double) {
        let fixture = GenuineTokens(count: 64)
        let key = fixture.keys.keys[0]
        let decoded = fixture.tokens.map { try! JWT.decode($0.raw).get() }
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
        let verify = rate { fixture.scheme.verify(decoded[$0 % decoded.count], with: key) }
        let validate = rate { fixture.validates(fixture.tokens[$0 % fixture.tokens.count].raw) }
        return (verify, validate)
    }
}

/// Genuine ES256 tokens of one in-process issuer, and the local validation a hop runs on them
/// (decode + `TokenRules.check`): what calibration and the benchmark time.
struct GenuineTokens {
    let tokens: [Token]
    let keys: JWKS
    let rules = TokenRules(issuer: "calibration", acceptedRealms: ["services"])
    let scheme = ES256Scheme()

    init(count: Int) {
        let lifetimes = RealmLifetimes(["services": 3600 * 1_000_000_000])
        let issuer = LiveTokenIssuer(provider: TokenProvider(issuer: "calibration", lifetimes: lifetimes, rotation: .never))
        let now = wallClockNanos()
        tokens = (0..<count).compactMap {
            issuer.issue(sub: "client-\($0)", realm: .services, scope: ["uid"], azp: "client-\($0)", jti: "cal-\($0)", at: now)
        }
        keys = issuer.jwks(at: now)
    }

    func validates(_ raw: String) -> Bool {
        guard case .success(let token) = JWT.decode(raw),
              case .success = rules.check(token, keys: keys, revoked: RevocationList(), now: wallClockNanos(), scheme: scheme)
        else { return false }
        return true
    }
}
