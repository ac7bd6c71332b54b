/// Why a token was refused. One vocabulary for tokeninfo and local validators, so metrics and
/// checkers can compare the two strategies reason by reason.
public enum TokenRejection: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    case badSignature
    case unknownKey(kid: String)
    case expired
    case notYetValid
    case missingClaim(String)
    case revoked
    case wrongIssuer(String)
    case unsupportedAlgorithm(String)
    case wrongRealm(String)

    /// The `error_description` tokeninfo sends with 401 invalid_token: Zalando's wording, plus
    /// what is wrong.
    public var description: String {
        switch self {
        case .badSignature: "Access Token not valid: signature verification failed"
        case .unknownKey(let kid): "Access Token not valid: unknown signing key '\(kid)'"
        case .expired: "Access Token not valid: token expired"
        case .notYetValid: "Access Token not valid: token issued in the future"
        case .missingClaim(let claim): "Access Token not valid: missing claim '\(claim)'"
        case .revoked: "Access Token not valid: token revoked"
        case .wrongIssuer(let issuer): "Access Token not valid: unexpected issuer '\(issuer)'"
        case .unsupportedAlgorithm(let alg): "Access Token not valid: unsupported algorithm '\(alg)'"
        case .wrongRealm(let realm): "Access Token not valid: realm '\(realm)' not accepted"
        }
    }

    /// A short stable label (snake_case, no payload) for metrics and result tables.
    public var reason: String {
        switch self {
        case .badSignature: "bad_signature"
        case .unknownKey: "unknown_key"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .missingClaim: "missing_claim"
        case .revoked: "revoked"
        case .wrongIssuer: "wrong_issuer"
        case .unsupportedAlgorithm: "unsupported_algorithm"
        case .wrongRealm: "wrong_realm"
        }
    }
}
