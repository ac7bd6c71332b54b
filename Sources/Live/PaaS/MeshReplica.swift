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

/// One replica of a mesh service on real sockets. Each request's way through the hop — verdict,
/// a server slot for the service's own work, the calls stage by stage with retries on the
/// callee's next replica, soft dependencies' fallback, 401/400 passed through else 502 — is the
/// shared sans-IO `HopRequest` the simulator's hops run too, and which replica a call goes to
/// (round-robin, skipping replicas health checks found down) is `CallRules.replica`. This type
/// only does the I/O: validate through `HopDriver`, sleep for the work, send HTTP requests.
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
    /// `stages` as the core's call edges (the callee index is the call's place in its stage).
    let edges: [[CallGraph.Edge]]
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
        self.edges = stages.map { stage in
            stage.indices.map { CallGraph.Edge(callee: $0, timeout: stage[$0].timeout, retries: stage[$0].retries, soft: stage[$0].soft) }
        }
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
        // The request's way through this hop is the shared core's (`HopRequest`); this type only
        // validates, sleeps, and sends.
        let stages = bare ? [] : edges
        var hop = HopRequest()
        let verdict = await driver.validate(token)
        let rejection: Response
        let status: CallStatus
        switch verdict.decision {
        case .accept:
            (status, rejection) = (.ok, .oauthError(500, "server_error", "accepted"))
        case .reject(let why):
            (status, rejection) = (.unauthorized, .oauthError(401, "invalid_token", why.description))
        case .badRequest:
            (status, rejection) = (.badRequest, .oauthError(400, "invalid_request", "Access token required"))
        case .unavailable(let why):
            (status, rejection) = (.unavailable, .oauthError(503, "temporarily_unavailable", why))
        }
        // Live, the verification CPU is spent inside `validate`: a refusal holds no server.
        var effect = hop.step(.decided(status, holdsServer: false), stages: stages, validates: strategy != .none)
        if hop.accepted && strategy != .none { validations.increment() }
        if case .takeServer = effect {
            guard await slots.acquire() else {
                _ = hop.step(.serverRefused, stages: stages)
                return .oauthError(503, "temporarily_unavailable", "queue full")
            }
            let duration = bare ? bareWork : max(0, workRng.withLock { work.sampleNanos(&$0) })
            if duration > 0 { try? await loop.scheduleTask(in: .nanoseconds(duration)) {}.futureResult.get() }
            await slots.release()
            effect = hop.step(.workDone, stages: stages)
        }
        switch effect {
        case .answer(.ok): return okResponse(hop)
        case .answer: return rejection
        default: return await fanOut(hop, effect, stages: stages, bearer: presented)
        }
    }

    private func okResponse(_ hop: HopRequest) -> Response {
        .json(200, [.init("service", .string(service)), .init("replica", .string(name)),
                    .init("validated", .int(Int64(hop.validated))), .init("degraded", .int(Int64(hop.degraded)))])
    }

    /// One ended attempt of a child call.
    private struct Attempt: Sendable {
        var edge: Int
        var attempt: Int
        var replica: Int
        var status: CallStatus
        var body: [UInt8]
    }

    /// Runs the hop's calls as the core directs (`.startStage`, `.retry`) until it answers: a
    /// stage's calls run concurrently; every ended attempt is one input to the core.
    private func fanOut(_ start: HopRequest, _ first: HopRequest.Effect, stages: [[CallGraph.Edge]],
                        bearer: String?) async -> Response {
        var hop = start
        return await withTaskGroup(of: Attempt.self) { group in
            var effect = first
            var stage = 0
            var lastReplica: [Int] = []
            var lastFailure: Attempt?
            while true {
                switch effect {
                case .startStage(let next):
                    stage = next
                    lastReplica = Array(repeating: 0, count: stages[next].count)
                    for edge in stages[next].indices {
                        let callee = self.stages[next][edge]
                        let replica = pickReplica(callee, retryAfter: nil)
                        lastReplica[edge] = replica
                        group.addTask { await self.attempt(callee, edge: edge, attempt: 0, replica: replica, bearer: bearer) }
                    }
                case .retry(let edge, let attempt):
                    let callee = self.stages[stage][edge]
                    let replica = pickReplica(callee, retryAfter: lastReplica[edge])
                    lastReplica[edge] = replica
                    group.addTask { await self.attempt(callee, edge: edge, attempt: attempt, replica: replica, bearer: bearer) }
                case .answer(.ok):
                    return okResponse(hop)
                case .answer(let status):
                    group.cancelAll()
                    let body = lastFailure.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
                    return status == .unauthorized || status == .badRequest
                        ? .json(Int(status.rawValue), body) : .oauthError(502, "bad_gateway", body)
                case .none, .takeServer:
                    break
                }
                guard let ended = await group.next() else {
                    return .oauthError(502, "bad_gateway", "\(service): no call left to wait for")
                }
                if ended.status != .ok {
                    childFailures.increment()
                    lastFailure = ended
                }
                let skipped = hop.skippedSoft
                effect = hop.step(.childEnded(edge: ended.edge, attempt: ended.attempt, status: ended.status,
                                              validated: ended.status == .ok ? Self.count("validated", in: ended.body) : 0,
                                              degraded: ended.status == .ok ? Self.count("degraded", in: ended.body) : 0),
                                  stages: stages)
                if hop.skippedSoft > skipped { degradedCalls.increment() }
            }
        }
    }

    /// The replica a call goes to (`CallRules.replica`): a first attempt takes the callee
    /// service's round-robin turn, a retry the replica after the one that failed.
    private func pickReplica(_ callee: Callee, retryAfter failed: Int?) -> Int {
        let turn = failed != nil ? 0 : turns.withLock { t -> UInt32 in
            let k = t[callee.service, default: 0]
            t[callee.service] = k &+ 1
            return k
        }
        return CallRules.replica(count: callee.pools.count, turn: turn, retryAfter: failed,
                                 healthChecks: callee.health != nil, isUp: { callee.health?.isUp($0) ?? true })
    }

    private func attempt(_ callee: Callee, edge: Int, attempt: Int, replica: Int, bearer: String?) async -> Attempt {
        var headers: [(String, String)] = []
        if let bearer { headers.append(("Authorization", "Bearer " + bearer)) }
        childCalls.increment()
        do {
            let reply = try await callee.pools[replica].send(HTTPRequestSpec(method: "GET", target: "/", headers: headers),
                                                             timeout: callee.timeout.map { .nanoseconds($0) })
            return Attempt(edge: edge, attempt: attempt, replica: replica, status: CallStatus(httpStatus: reply.status), body: reply.body)
        } catch {
            return Attempt(edge: edge, attempt: attempt, replica: replica, status: .badGateway,
                           body: Array("\(callee.service): \(error)".utf8))
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
