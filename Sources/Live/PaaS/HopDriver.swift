import Auth
import LiveAuth
import LiveHTTP
import NIOCore

/// The verdict a mesh replica acts on.
struct HopVerdict: Sendable {
    var decision: Decision
    var verifiedLocally: Bool
    var cacheHit: Bool
}

/// Drives one replica's `HopValidator` (the simulator's per-hop state machine) with real time
/// and real HTTP: it feeds `HopInput`s with the monotonic clock as `now` and the wall clock for
/// token times, and carries out the `HopEffect`s — tokeninfo calls with a timeout, JWKS and
/// revocation fetches, the next timer. No validation logic lives here: every verdict comes out
/// of the core. An actor, so the core sees one input at a time, as in the simulator.
actor HopDriver {
    private var validator: HopValidator
    private var nextRequest: UInt64 = 0
    private var waiting: [UInt64: CheckedContinuation<HopVerdict, Never>] = [:]
    private let tokeninfo: [HTTPConnectionPool]
    private var tokeninfoTurn = 0
    private let tokeninfoPath: String
    private let tokeninfoTimeout: TimeAmount
    private let keys: KeySource?
    private var timer: Task<Void, Never>?
    private var timerAt: Int64?
    private var stopped = false

    init(config: HopValidatorConfig, tokeninfo: [HTTPConnectionPool], tokeninfoPath: String, tokeninfoTimeout: Int64,
         keys: KeySource?) {
        validator = HopValidator(config: config, scheme: ES256Scheme())
        self.tokeninfo = tokeninfo
        self.tokeninfoPath = tokeninfoPath
        self.tokeninfoTimeout = .nanoseconds(tokeninfoTimeout)
        self.keys = keys
    }

    var counters: HopCounters { validator.counters }
    var hasKeys: Bool { validator.jwks != nil }

    func start() {
        apply(validator.start(now: monotonicNanos()))
        armTimer()
    }

    func stop() {
        stopped = true
        timer?.cancel()
    }

    func validate(_ token: Token?) async -> HopVerdict {
        let id = nextRequest
        nextRequest += 1
        return await withCheckedContinuation { continuation in
            waiting[id] = continuation
            step(.validate(request: id, token: token))
        }
    }

    private func step(_ input: HopInput) {
        apply(validator.step(input, now: monotonicNanos(), wallClock: wallClockNanos()))
        armTimer()
    }

    private func apply(_ effects: [HopEffect]) {
        for effect in effects {
            switch effect {
            case .decided(let request, let decision, let verifiedLocally, let cacheHit):
                waiting.removeValue(forKey: request)?.resume(
                    returning: HopVerdict(decision: decision, verifiedLocally: verifiedLocally, cacheHit: cacheHit))
            case .callTokeninfo(let request, let attempt, let token, let after):
                let pool = tokeninfo[tokeninfoTurn % max(1, tokeninfo.count)]
                tokeninfoTurn &+= 1
                let path = tokeninfoPath, timeout = tokeninfoTimeout
                Task {
                    if after > 0 { try? await Task.sleep(nanoseconds: UInt64(after)) }
                    let answer = await Self.askTokeninfo(pool, path: path, token: token, timeout: timeout)
                    await self.deliver(.tokeninfoAnswered(request: request, attempt: attempt, answer))
                }
            case .fetchJWKS:
                Task {
                    let fetched = await self.keys?.fetchJWKS()
                    self.deliver(fetched.map { .jwksFetched($0) } ?? .jwksFetchFailed)
                }
            case .fetchRevocations:
                Task {
                    let fetched = await self.keys?.fetchRevocations()
                    self.deliver(fetched.map { .revocationsFetched($0) } ?? .revocationsFetchFailed)
                }
            }
        }
    }

    private func deliver(_ input: HopInput) {
        guard !stopped else { return }
        step(input)
    }

    /// Keeps one sleeping task for the validator's next timer.
    private func armTimer() {
        guard !stopped else { return }
        let next = validator.nextTimer
        guard next != timerAt else { return }
        timer?.cancel()
        timerAt = next
        guard let next else { return }
        timer = Task {
            let wait = next - monotonicNanos()
            if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait)) }
            guard !Task.isCancelled else { return }
            self.fire(at: next)
        }
    }

    private func fire(at scheduled: Int64) {
        guard timerAt == scheduled else { return }
        timerAt = nil
        step(.tick)
    }

    /// 200/400/401 are tokeninfo's verdict; a 5xx, a timeout or no connection is `.failed`.
    static func askTokeninfo(_ pool: HTTPConnectionPool, path: String, token: Token, timeout: TimeAmount) async -> TokeninfoAnswer {
        let request = HTTPRequestSpec(method: "GET", target: path, headers: [("Authorization", "Bearer " + token.raw)])
        guard let reply = try? await pool.send(request, timeout: timeout), reply.status < 500 else { return .failed }
        return .response(TokeninfoResponse(status: reply.status, body: []))
    }
}

extension Token {
    /// A bearer string that is not a decodable JWT still has to reach the core (which rejects
    /// it: no algorithm it accepts) or tokeninfo (which answers 401 malformed) — the verdict is
    /// theirs, not the HTTP layer's. Overlong strings are not forwarded.
    static func undecodable(_ presented: String) -> Token {
        let raw = presented.utf8.count <= BearerToken.maxLength ? presented : "malformed"
        return Token(header: TokenHeader(kid: "", alg: ""), claims: .anonymous, signature: Signature(bytes: []), raw: raw)
    }
}
