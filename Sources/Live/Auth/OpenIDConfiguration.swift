/// The provider's discovery document (OpenID Connect Discovery 1.0 §3), served at
/// /.well-known/openid-configuration, so validators find the JWKS from the issuer alone.
public struct OpenIDConfiguration: Sendable, Equatable {
    public var issuer: String
    public var jwksURI: String
    public var tokenEndpoint: String

    /// Endpoints under `baseURL` (a trailing "/" is ignored). The default paths are Plan B's:
    /// tokens from /oauth2/access_token, keys from /oauth2/connect/keys.
    public init(
        issuer: String, baseURL: String, jwksPath: String = "/oauth2/connect/keys",
        tokenPath: String = "/oauth2/access_token"
    ) {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        self.issuer = issuer
        self.jwksURI = base + jwksPath
        self.tokenEndpoint = base + tokenPath
    }

    /// The JSON body. Only ES256, client credentials and plain access tokens are offered: all
    /// the live provider implements.
    public var json: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("issuer")
        json.string(issuer)
        json.key("jwks_uri")
        json.string(jwksURI)
        json.key("token_endpoint")
        json.string(tokenEndpoint)
        json.key("id_token_signing_alg_values_supported")
        json.strings([ES256Scheme.algorithm])
        json.key("grant_types_supported")
        json.strings(["client_credentials"])
        json.key("response_types_supported")
        json.strings(["token"])
        json.endObject()
        return json.bytes
    }
}
