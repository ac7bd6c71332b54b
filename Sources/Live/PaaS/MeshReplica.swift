import Auth
import Foundation
import Hummingbird
import LiveAuth
import LiveHTTP
import NIOCore
import Prometheus
import Scenario
import Mesh
import Sampling
import Synchronization

/// One replica of a mesh service, as the simulator's hop runs it: validate the token (the
/// `HopValidator` through `HopDriver`), take a server slot for the service's own work, then call
/// the services it calls stage by stage (a stage's calls in parallel; a stage starts when the one
/// before it has finished). What an attempt's end means — retry on the callee's next replica, a
/// soft dependency's fallback, 401/400 passed through else 502 — and which replica a call goes to
/// (round-robin, skipping replicas health checks found down) are the shared `CallRules`.
/// A 200's JSON body carries how many hops of its subtree validated the token and how many
/// soft dependencies were skipped, so the load driver can check every hop.
final class MeshReplica: Sendable {
    struct Callee: Sendable {
        var service: String
        var pools: [HTTPConnectionPool]
        var timeout: Int64?
        var retries: Int
        /// A soft dependency: when it fails for good this hop falls back and carries on.
        var soft = false
        /// Health checks of the callee's replicas (nil: plain round-robin).
        var health: ReplicaHealth? = nil
    }

    let name: String
    let service: String
    let strategy: ValidationStrategy
    let driver: HopDriver
    let slots: ServerSlots
    let work: Distribution
    let stages: [[Callee]]
    let workRng: Mutex<SeededGenerator>
    /// Per callee service: the next replica to call (round-robin, as in the simulator).
    let turns: Mutex<[String: UInt32]>
    let loop: any EventLoop
    let metrics: PaaSMetrics
    let responses: ResponseCounters
    let validations: Counter
    let childCalls: Counter
    let childFailures: Counter
    let degradedCalls: Counter

    init(name: String, service: String, strategy: ValidationStrategy, driver: HopDriver, servers: Int, queueLimit: Int?,
         work: Distribution, stages: [[Callee]], seed: UInt64, loop: any EventLoop, metrics: PaaSMetrics) {
        self.name = name
        self.service = service
        self.strategy = strategy
        self.driver = driver
        self.slots = ServerSlots(capacity: servers, queueLimit: queueLimit)
        self.work = work
        self.stages = stages
        self.workRng = Mutex(SeededGenerator(seed: seed).stream("live.mesh.work.\(name)"))
        self.turns = Mutex([:])
        self.loop = loop
        self.metrics = metrics
        let labels = [("replica", name)]
        responses = ResponseCounters(metrics, route: "mesh", labels)
        validations = metrics.counter("hop_validations_total", "Requests whose token this hop validated and accepted", labels)
        childCalls = metrics.counter("child_calls_total", "Calls to other services (attempts)", labels)
        childFailures = metrics.counter("child_call_failures_total", "Call attempts that timed out, failed or got a 5xx", labels)
        degradedCalls = metrics.counter("degraded_calls_total", "Soft dependencies that failed for good (this hop fell back)", labels)
    }

    func handle(_ request: Request) async -> Response {
        let response = await serve(BearerToken.extract(request))
        responses.count(Int(response.status.code))
        return response
    }

    /// `GET /calibrate/hop`: one hop's own cost — the request's way through HTTP, token
    /// extraction, the validator and a server slot — without the modelled work and without
    /// calling anyone. `faultline calibrate` times it per strategy.
    /// `?work_us=N` sleeps N µs on the work path (slot, event-loop timer), to time its overshoot.
    func handleBareHop(_ request: Request) async -> Response {
        let work = request.uri.queryParameters["work_us"].flatMap { Int64(String($0)) }.map { max(0, min($0, 1_000_000)) * 1000 }
        return await serve(BearerToken.extract(request), bare: true, bareWork: work ?? 0)
    }

    private func serve(_ presented: String?, bare: Bool = false, bareWork: Int64 = 0) async -> Response {
        let token: Token? = presented.map { raw in
            (try? JWT.decode(raw, maxLength: BearerToken.maxLength).get()) ?? Token.undecodable(raw)
        }
        let verdict = await driver.validate(token)
        switch verdict.decision {
        case .accept: break
        case .reject(let why): return .oauthError(401, "invalid_token", why.description)
        case .badRequest: return .oauthError(400, "invalid_request", "Access token required")
        case .unavailable(let why): return .oauthError(503, "temporarily_unavailable", why)
        }
        let validated = strategy == .none ? 0 : 1
        if validated == 1 { validations.increment() }

        // Own work, holding one of the replica's servers.
        guard await slots.acquire() else { return .oauthError(503, "temporarily_unavailable", "queue full") }
        let duration = bare ? bareWork : max(0, workRng.withLock { work.sampleNanos(&$0) })
        if duration > 0 { try? await loop.scheduleTask(in: .nanoseconds(duration)) {}.futureResult.get() }
        await slots.release()

        var subtree = StageResult(validated: validated, degraded: 0)
        for stage in stages where !bare {
            switch await run(stage, bearer: presented) {
            case .success(let result):
                subtree.validated += result.validated
                subtree.degraded += result.degraded
            case .failure(let failure): return failure.response
            }
        }
        return .json(200, [.init("service", .string(service)), .init("replica", .string(name)),
                           .init("validated", .int(Int64(subtree.validated))), .init("degraded", .int(Int64(subtree.degraded)))])
    }

    /// What a subtree reported: hops that validated the token, soft dependencies skipped.
    struct StageResult: Sendable {
        var validated: Int
        var degraded: Int
    }

    struct ChildFailure: Error {
        var status: Int
        var body: String
        var response: Response {
            status == 401 || status == 400 ? .json(status, body) : .oauthError(502, "bad_gateway", body)
        }
    }

    /// Every call of the stage at once; the first to fail for good ends the stage (and the hop).
    private func run(_ stage: [Callee], bearer: String?) async -> Result<StageResult, ChildFailure> {
        await withTaskGroup(of: Result<StageResult, ChildFailure>.self) { group in
            for callee in stage {
                group.addTask { await self.call(callee, bearer: bearer) }
            }
            var total = StageResult(validated: 0, degraded: 0)
            for await result in group {
                switch result {
                case .success(let n):
                    total.validated += n.validated
                    total.degraded += n.degraded
                case .failure:
                    group.cancelAll()
                    return result
                }
            }
            return .success(total)
        }
    }

    private func call(_ callee: Callee, bearer: String?) async -> Result<StageResult, ChildFailure> {
        var headers: [(String, String)] = []
        if let bearer { headers.append(("Authorization", "Bearer " + bearer)) }
        let request = HTTPRequestSpec(method: "GET", target: "/", headers: headers)
        let turn = turns.withLock { t -> UInt32 in
            let k = t[callee.service, default: 0]
            t[callee.service] = k &+ 1
            return k
        }
        var replica: Int?
        var retriesLeft = callee.retries
        while true {
            let next = CallRules.replica(count: callee.pools.count, turn: turn, retryAfter: replica,
                                         healthChecks: callee.health != nil, isUp: { callee.health?.isUp($0) ?? true })
            replica = next
            childCalls.increment()
            let status: CallStatus
            var body: [UInt8] = []
            do {
                let reply = try await callee.pools[next].send(request, timeout: callee.timeout.map { .nanoseconds($0) })
                status = CallStatus(httpStatus: reply.status)
                body = reply.body
            } catch {
                status = .badGateway
                body = Array("\(callee.service): \(error)".utf8)
            }
            if status != .ok { childFailures.increment() }
            switch CallRules.afterAttempt(status, retriesLeft: retriesLeft, soft: callee.soft) {
            case .retryOnNextReplica:
                retriesLeft -= 1
                if Task.isCancelled { return .failure(ChildFailure(status: 502, body: "\(callee.service): cancelled")) }
            case .succeeded:
                return .success(StageResult(validated: Self.count("validated", in: body), degraded: Self.count("degraded", in: body)))
            case .degraded:
                degradedCalls.increment()
                return .success(StageResult(validated: 0, degraded: 1))
            case .failCaller(let answer):
                return .failure(ChildFailure(status: Int(answer.rawValue), body: String(decoding: body, as: UTF8.self)))
            }
        }
    }

    /// `"key":N` from a child's 200 body (0 when absent).
    static func count(_ key: String, in body: [UInt8]) -> Int {
        let key = Array("\"\(key)\":".utf8)
        guard body.count > key.count else { return 0 }
        var i = 0
        while i + key.count <= body.count {
            if body[i] == key[0] && Array(body[i..<(i + key.count)]) == key {
                var n = 0
                var j = i + key.count
                while j < body.count, body[j] >= 48, body[j] <= 57 {
                    n = n * 10 + Int(body[j] - 48)
                    j += 1
                }
                return n
            }
            i += 1
        }
        return 0
    }
}
