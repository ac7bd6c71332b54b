import Auth

/// Compact JWS serialisation of the Auth core's tokens (RFC 7515 §7.1, RFC 7519): the codec the
/// live provider signs with and tokeninfo and local validators decode with. Times are
/// nanoseconds in `Token` and whole-second NumericDates on the wire, so the codec owns the
/// conversion and nothing else has to.
public enum JWT {
    static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// What an ES256 signature covers: base64url(header) "." base64url(claims). Members are
    /// written in a fixed order so equal claims always give equal bytes; `iat`, `exp` and
    /// `nbf` are rounded down to whole seconds.
    public static func signingInput(header: TokenHeader, claims: TokenClaims) -> String {
        var headerJSON = JSONWriter()
        headerJSON.beginObject()
        headerJSON.key("alg")
        headerJSON.string(header.alg)
        headerJSON.key("kid")
        headerJSON.string(header.kid)
        headerJSON.key("typ")
        headerJSON.string("JWT")
        headerJSON.endObject()

        var claimsJSON = JSONWriter()
        claimsJSON.beginObject()
        claimsJSON.key("sub")
        claimsJSON.string(claims.sub)
        claimsJSON.key("realm")
        claimsJSON.string(claims.realm)
        claimsJSON.key("scope")
        claimsJSON.strings(claims.scope)
        claimsJSON.key("iss")
        claimsJSON.string(claims.iss)
        claimsJSON.key("iat")
        claimsJSON.integer(numericDate(claims.iat))
        claimsJSON.key("exp")
        claimsJSON.integer(numericDate(claims.exp))
        if let azp = claims.azp {
            claimsJSON.key("azp")
            claimsJSON.string(azp)
        }
        claimsJSON.key("jti")
        claimsJSON.string(claims.jti)
        if let nbf = claims.nbf {
            claimsJSON.key("nbf")
            claimsJSON.integer(numericDate(nbf))
        }
        claimsJSON.endObject()

        return Base64URL.encode(headerJSON.bytes) + "." + Base64URL.encode(claimsJSON.bytes)
    }

    /// The bearer string: signing input "." base64url(signature).
    public static func compact(signingInput: String, signature: Signature) -> String {
        signingInput + "." + Base64URL.encode(signature.bytes)
    }

    /// Parses a compact JWT into a `Token` whose `raw` is `compact` itself. Decoding judges
    /// form only: alg, kid, claims and signature are checked afterwards by `TokenRules`, so a
    /// token with alg "none", an unknown kid or an empty `sub` decodes and is then rejected
    /// with the reason tokeninfo reports. Absent `sub`, `realm`, `iss`, `jti` decode to "" (a
    /// missing claim); absent `scope` to []. `iat` and `exp` are required: without them a
    /// token never expires. The length bound comes first, so hostile input costs O(maxLength).
    public static func decode(_ compact: String, maxLength: Int = 8192) -> Result<Token, JWTDecodeError> {
        let utf8 = compact.utf8
        guard utf8.count <= maxLength else { return .failure(.tooLong(maxLength: maxLength)) }
        let parts = utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.notThreeParts) }
        do throws(JWTDecodeError) {
            let header = try headerFields(try object(parts[0], .header))
            let claims = try claimFields(try object(parts[1], .payload))
            guard let signature = Base64URL.decode(parts[2]) else { throw .badBase64URL(.signature) }
            return .success(Token(header: header, claims: claims, signature: Signature(bytes: signature), raw: compact))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Decoding helpers

    private static func object(
        _ part: Substring.UTF8View, _ which: JWTDecodeError.Part
    ) throws(JWTDecodeError) -> [String: JSONNode] {
        guard let json = Base64URL.decode(part) else { throw .badBase64URL(which) }
        let node: JSONNode
        do throws(JSONReadError) {
            node = try JSONReader.parse(json)
        } catch .duplicateMember(let name) {
            throw .duplicateMember(which, name)
        } catch {
            throw .badJSON(which)
        }
        guard case .object(let members) = node else { throw .notAnObject(which) }
        return members
    }

    private static func headerFields(_ members: [String: JSONNode]) throws(JWTDecodeError) -> TokenHeader {
        guard let alg = try string(members, "alg", .header) else { throw .missingMember(.header, "alg") }
        // No extension is implemented, so any "crit" is one we do not understand.
        guard members["crit"] == nil else { throw .unsupportedCritical }
        return TokenHeader(kid: try string(members, "kid", .header) ?? "", alg: alg)
    }

    private static func claimFields(_ members: [String: JSONNode]) throws(JWTDecodeError) -> TokenClaims {
        guard let iat = try numericDate(members, "iat") else { throw .missingMember(.payload, "iat") }
        guard let exp = try numericDate(members, "exp") else { throw .missingMember(.payload, "exp") }
        return TokenClaims(
            sub: try string(members, "sub", .payload) ?? "",
            realm: try string(members, "realm", .payload) ?? "",
            scope: try scope(members),
            iss: try string(members, "iss", .payload) ?? "",
            iat: iat,
            exp: exp,
            azp: try string(members, "azp", .payload),
            jti: try string(members, "jti", .payload) ?? "",
            nbf: try numericDate(members, "nbf"))
    }

    private static func string(
        _ members: [String: JSONNode], _ name: String, _ part: JWTDecodeError.Part
    ) throws(JWTDecodeError) -> String? {
        switch members[name] {
        case nil: return nil
        case .string(let value): return value
        default: throw .wrongType(part, name)
        }
    }

    /// An array of strings (Zalando's tokens) or one space-separated string (RFC 8693 §4.2).
    private static func scope(_ members: [String: JSONNode]) throws(JWTDecodeError) -> [String] {
        switch members["scope"] {
        case nil: return []
        case .string(let value): return value.split(separator: " ").map(String.init)
        case .array(let elements):
            var scope: [String] = []
            scope.reserveCapacity(elements.count)
            for element in elements {
                guard case .string(let value) = element else { throw .wrongType(.payload, "scope") }
                scope.append(value)
            }
            return scope
        default: throw .wrongType(.payload, "scope")
        }
    }

    /// NumericDate seconds → nanoseconds. Far-future dates saturate at Int64.max (the core's
    /// "forever"); non-finite values and dates before 1678 (below Int64.min ns) are rejected
    /// rather than clamped, since clamping would move them.
    private static func numericDate(
        _ members: [String: JSONNode], _ name: String
    ) throws(JWTDecodeError) -> Int64? {
        switch members[name] {
        case nil: return nil
        case .number(let integer?, _):
            let (nanoseconds, overflow) = integer.multipliedReportingOverflow(by: nanosecondsPerSecond)
            guard overflow else { return nanoseconds }
            guard integer > 0 else { throw .outOfRange(name) }
            return .max
        case .number(nil, let seconds):
            guard seconds.isFinite else { throw .outOfRange(name) }
            let nanoseconds = (seconds * Double(nanosecondsPerSecond)).rounded(.down)
            if nanoseconds >= 9_223_372_036_854_775_807.0 { return .max }
            guard nanoseconds >= -9_223_372_036_854_775_808.0 else { throw .outOfRange(name) }
            return Int64(nanoseconds)
        default: throw .wrongType(.payload, name)
        }
    }

    /// Nanoseconds → whole seconds, rounding towards −∞ (so −0.5 s is −1, not 0).
    static func numericDate(_ nanoseconds: Int64) -> Int64 {
        let q = nanoseconds / nanosecondsPerSecond
        return nanoseconds % nanosecondsPerSecond < 0 ? q - 1 : q
    }

    /// `nanoseconds` rounded down to a whole second: what survives a trip through the wire.
    static func wholeSeconds(_ nanoseconds: Int64) -> Int64 {
        let seconds = numericDate(nanoseconds)
        let (result, overflow) = seconds.multipliedReportingOverflow(by: nanosecondsPerSecond)
        return overflow ? .min : result
    }
}
