/// The local path: verify against the cached JWKS and polled revocations; hybrid hands what
/// local cannot decide to the central path.
extension HopValidator {
    mutating func validateLocally(request: UInt64, token: Token, now: Int64, _ effects: inout [HopEffect]) {
        guard let keys = jwks else {
            if config.strategy == .hybrid { return fallBackToCentral(request: request, token: token, now: now, &effects) }
            effects.append(decide(request, .noSigningKeys))
            return
        }
        let result = config.rules.check(token, keys: keys, revoked: revocations, now: wallNow, scheme: scheme)
        guard case .failure(.unknownKey) = result else {
            // A definite verdict (valid, expired, forged, revoked …) is final, in hybrid too.
            effects.append(decide(request, Decision(result), verifiedLocally: true))
            return
        }
        if config.refetchOnUnknownKid {
            if jwksFetchInFlight {
                park(request: request, token: token)
                return
            }
            if lastJWKSFetchStart.map({ subtractSaturating(now, $0) >= config.refetchMinInterval }) ?? true {
                park(request: request, token: token)
                effects.append(startJWKSFetch(now: now))
                return
            }
        }
        if config.strategy == .hybrid { return fallBackToCentral(request: request, token: token, now: now, &effects) }
        effects.append(decide(request, Decision(result), verifiedLocally: true))
    }

    private mutating func park(request: UInt64, token: Token) {
        parked.append((request, token))
        counters.parkedRequests += 1
    }

    mutating func fallBackToCentral(request: UInt64, token: Token, now: Int64, _ effects: inout [HopEffect]) {
        counters.centralFallbacks += 1
        validateCentrally(request: request, token: token, now: now, &effects)
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
    mutating func jwksFetched(_ keys: JWKS, now: Int64, _ effects: inout [HopEffect]) {
        jwks = keys
        jwksFetchInFlight = false
        nextJWKSFetch = addSaturating(now, config.jwksRefresh)
        let waiting = parked
        parked = []
        for entry in waiting {
            let result = config.rules.check(entry.token, keys: keys, revoked: revocations, now: wallNow, scheme: scheme)
            effects.append(decide(entry.request, Decision(result), verifiedLocally: true))
        }
    }

    /// The old keys stay in use (stale keys beat no keys – and are exactly what the
    /// key-rotation scenario exposes). Parked requests cannot be resolved locally: local
    /// rejects them as unknown kid without a verify; hybrid asks tokeninfo.
    mutating func jwksFetchFailed(now: Int64, _ effects: inout [HopEffect]) {
        counters.jwksFailures += 1
        jwksFetchInFlight = false
        nextJWKSFetch = addSaturating(now, config.jwksRetry)
        let waiting = parked
        parked = []
        for entry in waiting {
            if config.strategy == .hybrid {
                fallBackToCentral(request: entry.request, token: entry.token, now: now, &effects)
            } else {
                effects.append(decide(entry.request, .reject(.unknownKey(kid: entry.token.header.kid))))
            }
        }
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
