import Foundation
import Live
import LiveAuth
import LiveHTTP
import NIOCore

/// A client of the token provider: the client-credentials grant, as a service would ask.
public enum TokenClient {
    /// POST /oauth2/access_token?realm=/<realm> with HTTP Basic credentials; the access token.
    public static func fetch(_ pool: HTTPConnectionPool, client: ClientRegistration, realm: String,
                             scopes: [String] = [], timeout: TimeAmount = .seconds(5)) async throws -> String {
        let credentials = Data("\(client.clientID):\(client.clientSecret)".utf8).base64EncodedString()
        var form = "grant_type=client_credentials"
        if !scopes.isEmpty { form += "&scope=" + scopes.joined(separator: "+") }
        let request = HTTPRequestSpec.post(
            "/oauth2/access_token?realm=/\(realm)",
            headers: [("Authorization", "Basic \(credentials)"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(form.utf8))
        let reply = try await pool.send(request, timeout: timeout)
        guard reply.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let token = object["access_token"] as? String else {
            throw LiveError.failed("token provider refused \(client.clientID): HTTP \(reply.status) \(reply.bodyText)")
        }
        return token
    }
}
