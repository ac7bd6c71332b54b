import Sampling

/// Synthetic organisations. Real dependency graphs are rarely shared, so the simulator sweeps
/// two families that bracket them: a strictly layered architecture (edge → mid-tier →
/// storage) and a scale-free graph grown by preferential attachment (a few popular platform
/// services everyone calls, as in the Barabási–Albert model).
extension Organisation {
    /// `count` services named `svc-<i>` in `layers` layers of near-equal size (the first
    /// layers take the remainder). A service in layer L depends on
    /// `min(edges, size of layer L+1)` distinct random services of layer L+1, each soft with
    /// probability `softShare`. Service i belongs to team `i % teams.count` and holds data
    /// class `i % dataClasses.count`; layer 0 shares the traffic equally; criticality is
    /// "high" in layer 0, "medium" in layer 1, "low" below; every service gets `replicas`.
    /// Dependencies always point to a later index, so the graph is a DAG.
    public static func layered(
        count: Int, layers: Int, edges: Int, softShare: Double, teams: [String],
        dataClasses: [String], replicas: Int, rng: inout SeededGenerator
    ) -> Organisation {
        precondition(count >= 0 && layers >= 1 && edges >= 0, "bad layered shape")
        precondition(!teams.isEmpty, "an organisation needs at least one team")
        // Never more layers than services: an empty layer would cut the graph in two.
        let layerCount = max(1, min(layers, count))
        let base = count / layerCount, remainder = count % layerCount
        var starts: [Int] = []
        var sizes: [Int] = []
        var next = 0
        for layer in 0..<layerCount {
            let size = base + (layer < remainder ? 1 : 0)
            starts.append(next)
            sizes.append(size)
            next += size
        }
        var services: [Service] = []
        services.reserveCapacity(count)
        for layer in 0..<layerCount {
            for i in starts[layer]..<(starts[layer] + sizes[layer]) {
                var dependencies: [Dependency] = []
                if layer + 1 < layerCount {
                    let below = sizes[layer + 1]
                    let picks = rng.distinctSample(min(edges, below), of: below).sorted()
                    for pick in picks {
                        let soft = rng.chance(softShare)
                        dependencies.append(Dependency(target: starts[layer + 1] + pick, hard: !soft))
                    }
                }
                let criticality = layer == 0 ? "high" : layer == 1 ? "medium" : "low"
                services.append(makeService(
                    i, teams: teams, dataClasses: dataClasses, replicas: replicas,
                    traffic: layer == 0 ? 1 / Double(sizes[0]) : 0,
                    criticality: criticality, dependencies: dependencies))
            }
        }
        return Organisation(teams: teams, services: services)
    }

    /// Services arrive in order `0..<count`; service i ≥ 1 depends on `min(meanDegree, i)`
    /// distinct earlier services, chosen one after another with probability ∝ (in-degree + 1)
    /// among those not yet chosen (in-degrees as they stood before i arrived). Dependencies
    /// point to lower indices, so the graph is a DAG. Traffic is shared equally by the
    /// services nobody depends on (the newest "front" services), which are "high"
    /// criticality; the rest are "medium". Names, teams, data classes, soft share and replicas
    /// as in `layered`.
    public static func preferentialAttachment(
        count: Int, meanDegree: Int, softShare: Double, teams: [String],
        dataClasses: [String], replicas: Int, rng: inout SeededGenerator
    ) -> Organisation {
        precondition(count >= 0 && meanDegree >= 0, "bad preferential-attachment shape")
        precondition(!teams.isEmpty, "an organisation needs at least one team")
        // The urn holds service j (in-degree + 1) times, so a uniform draw from it is a draw
        // ∝ (in-degree + 1); a repeat is rejected, which yields sequential sampling without
        // replacement.
        var urn: [Int] = []
        var inDegree = [Int](repeating: 0, count: count)
        var targets: [[Int]] = []
        targets.reserveCapacity(count)
        for i in 0..<count {
            let m = min(meanDegree, i)
            var chosen: [Int] = []
            if m == i {
                chosen = Array(0..<i)  // every earlier service: no draw needed
            } else {
                var taken = [Bool](repeating: false, count: i)
                while chosen.count < m {
                    let j = urn[rng.index(below: urn.count)]
                    if !taken[j] {
                        taken[j] = true
                        chosen.append(j)
                    }
                }
                chosen.sort()
            }
            for j in chosen {
                inDegree[j] += 1
                urn.append(j)
            }
            urn.append(i)
            targets.append(chosen)
        }
        let fronts = (0..<count).filter { inDegree[$0] == 0 }
        var services: [Service] = []
        services.reserveCapacity(count)
        for i in 0..<count {
            var dependencies: [Dependency] = []
            for target in targets[i] {
                let soft = rng.chance(softShare)
                dependencies.append(Dependency(target: target, hard: !soft))
            }
            let entry = inDegree[i] == 0
            services.append(makeService(
                i, teams: teams, dataClasses: dataClasses, replicas: replicas,
                traffic: entry ? 1 / Double(fronts.count) : 0,
                criticality: entry ? "high" : "medium", dependencies: dependencies))
        }
        return Organisation(teams: teams, services: services)
    }

    private static func makeService(
        _ i: Int, teams: [String], dataClasses: [String], replicas: Int, traffic: Double,
        criticality: String, dependencies: [Dependency]
    ) -> Service {
        Service(
            name: "svc-\(i)", team: i % teams.count, traffic: traffic, criticality: criticality,
            dataClasses: dataClasses.isEmpty ? [] : [dataClasses[i % dataClasses.count]],
            replicas: replicas, dependencies: dependencies)
    }
}
