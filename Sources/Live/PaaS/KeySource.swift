import Auth
import Foundation
import Live
import LiveAuth
import LiveHTTP
import NIOCore

/// An HTTP(S-less) endpoint: `http://host:port/path`. Loopback services only.
public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public init(_ url: String) throws {
        guard url.hasPrefix("http://") else { throw LiveError.badInput("expected an http:// URL, found '\(url)'") }
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        let parts = hostPort.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { throw LiveError.badInput("no host in '\(url)'") }
        var port = 80
        if parts.count == 2 {
            guard let p = Int(parts[1]), (1...65535).contains(p) else { throw LiveError.badInput("bad port in '\(url)'") }
            port = p
        }
        self.init(host: String(host), port: port, path: path.isEmpty ? "/" : String(path))
    }

    public var description: String { "http://\(host):\(port)\(path)" }
    public var base: String { "http://\(host):\(port)" }
}

/// Fetches the provider's published keys and revocations for tokeninfo and local validators.
struct KeySource: Sendable {
    let jwks: HTTPEndpoint
    let revocations: HTTPEndpoint?
    let jwksPool: HTTPConnectionPool
    let revocationsPool: HTTPConnectionPool?
    /// A fetch that takes longer fails (the old copy stays in use), as in the simulator.
    let timeout: TimeAmount = .seconds(1)

    init(jwks: HTTPEndpoint, revocations: HTTPEndpoint?, group: any EventLoopGroup) {
        self.jwks = jwks
        self.revocations = revocations
        jwksPool = HTTPConnectionPool(host: jwks.host, port: jwks.port, group: group, maxConnections: 2)
        revocationsPool = revocations.map { HTTPConnectionPool(host: $0.host, port: $0.port, group: group, maxConnections: 2) }
    }

    func fetchJWKS() async -> JWKS? {
        guard let reply = try? await jwksPool.send(HTTPRequestSpec(method: "GET", target: jwks.path), timeout: timeout),
              reply.status == 200, case .success(let decoded) = JWKSDocument.decode(reply.body) else { return nil }
        return decoded.jwks
    }

    /// nil when there is no revocation endpoint or the fetch failed.
    func fetchRevocations() async -> RevocationList? {
        guard let revocations, let pool = revocationsPool,
              let reply = try? await pool.send(HTTPRequestSpec(method: "GET", target: revocations.path), timeout: timeout),
              reply.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let entries = object["revoked"] as? [[String: Any]] else { return nil }
        var list = RevocationList()
        for entry in entries {
            guard let jti = entry["jti"] as? String, let at = (entry["revoked_at"] as? NSNumber)?.int64Value else { continue }
            list.revoke(jti: jti, at: at)
        }
        return list
    }

    func shutdown() async {
        await jwksPool.shutdown()
        await revocationsPool?.shutdown()
    }
}
