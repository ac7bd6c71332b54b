/// The central path: ask tokeninfo, with a per-token answer cache, retries and a circuit
/// breaker. Used by `central` and as `hybrid`'s fallback.
extension HopValidator {
    mutating func validateCentrally(request: UInt64, token: Token, now: Int64, _ effects: inout [HopEffect]) {
        if let cached = cachedDecision(for: token, now: now) {
            effects.append(decide(request, cached, cacheHit: true))
            return
        }
        switch breaker.permit(now: now) {
        case .failFast:
            counters.breakerFastFails += 1
            effects.append(decide(request, .circuitOpen))
        case .call, .trial:
            pendingCalls[request] = PendingCall(token: token, attempt: 0)
            counters.tokeninfoCalls += 1
            effects.append(.callTokeninfo(request: request, attempt: 0, token: token, after: 0))
        }
    }

    mutating func tokeninfoAnswered(request: UInt64, attempt: Int, answer: TokeninfoAnswer, now: Int64,
                                    _ effects: inout [HopEffect]) {
        // Only the current attempt of an undecided request counts: a late answer to a
        // timed-out attempt, or a duplicate, is ignored entirely (breaker included).
        guard let call = pendingCalls[request], call.attempt == attempt else {
            counters.staleAnswers += 1
            return
        }
        if case .response(let response) = answer, response.status < 500 {
            pendingCalls[request] = nil
            breaker.recordSuccess()
            let decision: Decision
            switch response.status {
            case 200: decision = .accept(call.token.claims)
            case 400: decision = .badRequest
            // A 401 without a typed reason (a live tokeninfo, a malformed token): the token
            // could not be verified.
            default: decision = .reject(response.rejection ?? .badSignature)
            }
            if response.status != 400 { store(decision, for: call.token, now: now) }
            effects.append(decide(request, decision))
            return
        }
        counters.tokeninfoFailures += 1
        if breaker.recordFailure(now: now) { counters.breakerOpens += 1 }
        guard attempt < config.retries else {
            pendingCalls[request] = nil
            effects.append(decide(request, .tokeninfoUnavailable))
            return
        }
        guard breaker.isClosed else {
            // The retry would hit a service the breaker has given up on: fail fast instead.
            pendingCalls[request] = nil
            effects.append(decide(request, .circuitOpen))
            return
        }
        pendingCalls[request] = PendingCall(token: call.token, attempt: attempt + 1)
        counters.tokeninfoCalls += 1
        counters.tokeninfoRetries += 1
        effects.append(.callTokeninfo(request: request, attempt: attempt + 1, token: call.token, after: config.retryBackoff))
    }

    private mutating func cachedDecision(for token: Token, now: Int64) -> Decision? {
        guard config.cacheTTL != nil, let entry = cache[token.raw] else { return nil }
        guard now < entry.expiresAt else {
            cache[token.raw] = nil
            return nil
        }
        return entry.token == token ? entry.decision : nil
    }

    /// Cached for min(ttl, exp − wall clock): a positive answer must not outlive the token.
    private mutating func store(_ decision: Decision, for token: Token, now: Int64) {
        guard let ttl = config.cacheTTL else { return }
        let expiresAt = min(addSaturating(now, ttl), addSaturating(now, subtractSaturating(token.claims.exp, wallNow)))
        guard expiresAt > now else { return }
        cache[token.raw] = CachedAnswer(token: token, decision: decision, expiresAt: expiresAt)
        if cache.count >= cacheSweepAt {
            // Order-independent: the result is the same set whatever the iteration order.
            cache = cache.filter { $0.value.expiresAt > now }
            cacheSweepAt = max(64, cache.count * 2)
        }
    }
}
