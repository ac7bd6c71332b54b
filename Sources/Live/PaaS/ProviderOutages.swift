import Foundation

/// Test-only outages of the token provider's two faces, as the simulator has them as two
/// processes: `token-provider` (the token endpoint: clients cannot get or refresh tokens) and
/// `jwks` (the JWKS and revocation-list endpoints: validators cannot fetch keys — a JWKS
/// partition). Live, one process serves both, so a scenario's `crash: jwks` must not take
/// issuance down: the run writes the names that are down into a small file next to the
/// provider's config, and the provider (started with `faults_file`, off in production) holds
/// every request to an endpoint that is down unanswered until it is up again — what a client
/// behind a partition sees: no answer, then its own timeout. The file outlives a provider
/// restart, as a partition outlives the process behind it.
public struct ProviderOutages: Sendable {
    /// The simulator's process names of the provider's faces.
    public static let tokenEndpoint = "token-provider"
    public static let jwks = "jwks"
    public static let faces = [tokenEndpoint, jwks]

    let file: String

    public init(file: String) { self.file = file }

    struct Stored: Codable { var down: [String] }

    /// The faces that are down now (the file absent or unreadable: none).
    public func down() -> Set<String> {
        guard let data = FileManager.default.contents(atPath: file),
              let stored = try? JSONDecoder().decode(Stored.self, from: data) else { return [] }
        return Set(stored.down)
    }

    /// Takes `face` down or brings it up (the run's side).
    public func set(_ face: String, down isDown: Bool) throws {
        var faces = down()
        if isDown { faces.insert(face) } else { faces.remove(face) }
        let data = try JSONEncoder().encode(Stored(down: faces.sorted()))
        try data.write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    /// The provider's side: returns once `face` is up (at once when it is), looking every 20 ms
    /// for at most `limit` seconds — a held request is answered late, never lost.
    public func waitWhileDown(_ face: String, limit: Double = 120) async {
        let deadline = Date().addingTimeInterval(limit)
        while down().contains(face), Date() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}
