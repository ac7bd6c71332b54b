import Live
import Scenario
import Mesh
import Sampling

/// Which replicas a scenario's call graph has, named as the simulator names its processes
/// (`<service>-r<k>`), and how many hops one request makes.
public enum MeshPlan {
    public static func graph(_ scenario: Scenario, seed: UInt64) throws -> CallGraph {
        guard let mesh = scenario.mesh else {
            throw LiveError.badInput("\(scenario.sourceFile): needs a `services:` section (the call graph)")
        }
        var rng = SeededGenerator(seed: seed).stream("mesh.graph")
        return CallGraph(mesh, clusterZones: scenario.cluster.zones, rng: &rng)
    }

    public static func replicas(_ scenario: Scenario, seed: UInt64) throws -> [(name: String, service: String)] {
        try graph(scenario, seed: seed).services.flatMap { s in
            (1...max(1, s.replicas)).map { (MeshNaming.replica(s.name, $0), s.name) }
        }
    }

    /// Calls one request entering at `entry` makes, the entry's own included (retries not counted):
    /// a 200 must report this many validating hops.
    public static func hops(_ scenario: Scenario, seed: UInt64, entry: String?) throws -> Int {
        let g = try graph(scenario, seed: seed)
        let index = entry.flatMap { e in g.services.firstIndex { $0.name == e } } ?? 0
        return g.callsPerRequest()[index]
    }

    public static func defaultLayout(scenario: Scenario, basePort: Int, tokeninfoURLs: [String], providerURL: String,
                                     issuer: String, seed: UInt64 = 1) throws -> MeshLayout {
        let replicas = try replicas(scenario, seed: seed).enumerated().map { i, r in
            MeshLayout.Replica(name: r.name, service: r.service, port: basePort + i)
        }
        return MeshLayout(replicas: replicas, tokeninfoURLs: tokeninfoURLs, providerURL: providerURL, issuer: issuer, seed: seed)
    }
}
