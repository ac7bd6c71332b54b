/// Why a bearer string is not a JWT this codec accepts. Tokeninfo reports it as a malformed
/// token (`TokeninfoRequest.malformed(description)`), before any key or signature is looked at.
public enum JWTDecodeError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The three parts of a compact JWS.
    public enum Part: String, Sendable, Hashable {
        case header, payload, signature
    }

    case tooLong(maxLength: Int)
    case notThreeParts
    case badBase64URL(Part)
    /// Not JSON, or JSON nested deeper than the reader allows.
    case badJSON(Part)
    case duplicateMember(Part, String)
    case notAnObject(Part)
    case missingMember(Part, String)
    case wrongType(Part, String)
    /// A NumericDate that is not finite or lies before what nanoseconds in Int64 can hold.
    case outOfRange(String)
    /// A "crit" header names extensions this codec does not implement (RFC 7515 §4.1.11).
    case unsupportedCritical

    public var description: String {
        switch self {
        case .tooLong(let maxLength): "token longer than \(maxLength) bytes"
        case .notThreeParts: "not three parts"
        case .badBase64URL(let part): "bad base64url in \(part.rawValue)"
        case .badJSON(let part): "bad JSON in \(part.rawValue)"
        case .duplicateMember(let part, let name): "duplicate '\(name)' in \(part.rawValue)"
        case .notAnObject(let part): "\(part.rawValue) is not a JSON object"
        case .missingMember(let part, let name): "missing \(name) in \(part.rawValue)"
        case .wrongType(let part, let name): "wrong type for \(name) in \(part.rawValue)"
        case .outOfRange(let name): "\(name) out of range"
        case .unsupportedCritical: "unsupported crit header"
        }
    }
}
