/// The local path: verify against the cached JWKS and polled revocations; hybrid hands what
/// local cannot decide to the central path.
extension HopValidator {
    mutating func validateLocally(request: UInt64, token: Token, now: Int64) -> [HopEffect] {
        guard let keys = jwks else {
            if config.strategy == .hybrid { return fallBackToCentral(request: request, token: token, now: now) }
            return [decide(request, .noSigningKeys)]
        }
        let result = config.rules.check(token, keys: keys, revoked: revocations, now: wallNow, scheme: scheme)
        guard case .failure(.unknownKey) = result else {
            // A definite verdict (valid, expired, forged, revoked …) is final, in hybrid too.
            return [decide(request, Decision(result), verifiedLocally: true)]
        }
        if config.refetchOnUnknownKid {
            if jwksFetchInFlight {
                park(request: request, token: token)
                return []
            }
            if lastJWKSFetchStart.map({ subtractSaturating(now, $0) >= config.refetchMinInterval }) ?? true {
                park(request: request, token: token)
                return [startJWKSFetch(now: now)]
            }
        }
        if config.strategy == .hybrid { return fallBackToCentral(request: request, token: token, now: now) }
        return [decide(request, Decision(result), verifiedLocally: true)]
    }

    private mutating func park(request: UInt64, token: Token) {
        parked.append((request, token))
        counters.parkedRequests += 1
    }

    mutating func fallBackToCentral(request: UInt64, token: Token, now: Int64) -> [HopEffect] {
        counters.centralFallbacks += 1
        return validateCentrally(request: request, token: token, now: now)
    }

    mutating func startJWKSFetch(now: Int64) -> HopEffect {
        jwksFetchInFlight = true
        lastJWKSFetchStart = now
        nextJWKSFetch = nil
        counters.jwksFetches += 1
        return .fetchJWKS
    }

    mutating func startRevocationFetch() -> HopEffect {
        revocationFetchInFlight = true
        nextRevocationPoll = nil
        counters.revocationFetches += 1
        return .fetchRevocations
    }

    /// New keys replace the old set; parked requests are judged against them. A kid still
    /// unknown in a fresh JWKS is rejected (hybrid too: tokeninfo reads the same keys).
    mutating func jwksFetched(_ keys: JWKS, now: Int64) -> [HopEffect] {
        jwks = keys
        jwksFetchInFlight = false
        nextJWKSFetch = addSaturating(now, config.jwksRefresh)
        let waiting = parked
        parked = []
        return waiting.map { entry in
            let result = config.rules.check(entry.token, keys: keys, revoked: revocations, now: wallNow, scheme: scheme)
            return decide(entry.request, Decision(result), verifiedLocally: true)
        }
    }

    /// The old keys stay in use (stale keys beat no keys – and are exactly what the
    /// key-rotation scenario exposes). Parked requests cannot be resolved locally: local
    /// rejects them as unknown kid without a verify; hybrid asks tokeninfo.
    mutating func jwksFetchFailed(now: Int64) -> [HopEffect] {
        counters.jwksFailures += 1
        jwksFetchInFlight = false
        nextJWKSFetch = addSaturating(now, config.jwksRetry)
        let waiting = parked
        parked = []
        var effects: [HopEffect] = []
        for entry in waiting {
            if config.strategy == .hybrid {
                effects += fallBackToCentral(request: entry.request, token: entry.token, now: now)
            } else {
                effects.append(decide(entry.request, .reject(.unknownKey(kid: entry.token.header.kid))))
            }
        }
        return effects
    }
}

extension Decision {
    init(_ result: Result<TokenClaims, TokenRejection>) {
        switch result {
        case .success(let claims): self = .accept(claims)
        case .failure(let rejection): self = .reject(rejection)
        }
    }
}
