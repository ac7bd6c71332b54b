import Accounts
import Scenario
import SimCore
import Stats

extension AccountsState {
    /// The multi-account model's metrics: the blast radius of every single-account fault (the
    /// traffic-weighted request failure rate, services directly affected and transitively
    /// impaired, teams), exposure on compromise, region outages, Monte Carlo availability,
    /// overhead cost, cross-account calls and the latency accounts add, and control-plane delays.
    /// `mesh`: the world the organisation's requests ran in; `latency`: their latency in this
    /// placement, `singleAccountLatency`: the same seed's with every service in one account.
    func metrics(_ metrics: inout [String: Double], _ units: inout [String: String],
                 _ histograms: inout [String: LatencyHistogram], end: VirtualTime, spec: AccountsSpec, seed: UInt64,
                 mesh: MeshWorld?, latency: LatencyHistogram, singleAccountLatency: LatencyHistogram?) {
        let state = self
        let org = state.organisation
        let placement = state.placement
        func put(_ name: String, _ value: Double, _ unit: String) {
            metrics[name] = value
            units[name] = unit
        }
        put("accounts", Double(placement.accounts.count), "count")
        put("services", Double(org.services.count), "count")

        let impacts = BlastRadius.singleAccountImpacts(org, placement)
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        func p99(_ values: [Double]) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int((0.99 * Double(sorted.count)).rounded(.up)) - 1)]
        }
        let failed = impacts.map(\.failedTraffic)
        put("blast_radius_mean", mean(failed), "ratio")
        put("blast_radius_p99", p99(failed), "ratio")
        put("direct_blast_radius_mean", mean(impacts.map(\.directlyAffected)), "ratio")
        put("impaired_services_mean", mean(impacts.map(\.impaired)), "ratio")
        put("impaired_services_p99", p99(impacts.map(\.impaired)), "ratio")
        put("degraded_services_mean", mean(impacts.map(\.degraded)), "ratio")
        put("teams_affected_mean", mean(impacts.map { Double($0.teamsAffected) }), "count")

        // Compromise of one account: what the attacker reaches.
        let exposures = placement.accounts.indices.map { account in
            BlastRadius.exposure(compromised: placement.accounts.indices.map { $0 == account }, org, placement)
        }
        put("exposure_services", mean(exposures.map { Double($0.services) }), "count")
        put("exposure_services_max", Double(exposures.map(\.services).max() ?? 0), "count")
        put("exposure_data_classes_max", Double(exposures.map(\.dataClasses.count).max() ?? 0), "count")
        put("exposure_teams_max", Double(exposures.map(\.teams).max() ?? 0), "count")
        for (i, compromise) in state.compromises.enumerated() {
            let exposure = BlastRadius.exposure(
                compromised: placement.accounts.indices.map { compromise.accounts.contains($0) }, org, placement)
            put("compromise\(i + 1)_exposed_services", Double(exposure.services), "count")
            put("compromise\(i + 1)_exposed_data_classes", Double(exposure.dataClasses.count), "count")
            put("compromise\(i + 1)_exposed_teams", Double(exposure.teams), "count")
        }

        if spec.strategy == .shuffleShard {
            // Shuffle sharding's promise: few services share a whole shard with another.
            put("same_shard_fraction", ShuffleSharding.sameShardFraction(placement), "ratio")
            put("same_shard_expected", 1 / ShuffleSharding.binomial(spec.count, spec.shardSize), "ratio")
            let counts = ShuffleSharding.overlapCounts(placement, shardSize: spec.shardSize)
            let pairs = Double(counts.reduce(0, +))
            for (j, count) in counts.enumerated() where pairs > 0 {
                put("shard_overlap_\(j)", Double(count) / pairs, "ratio")
                put("shard_overlap_\(j)_expected", ShuffleSharding.hypergeometric(n: spec.count, k: spec.shardSize, j: j), "ratio")
            }
        }

        let regionBlast = placement.regions.indices.map { BlastRadius.regionImpact(region: $0, org, placement).failedTraffic }
        put("region_outage_blast_radius_max", regionBlast.max() ?? 0, "ratio")

        let cost = CostModel(perAccount: spec.costPerAccount, perRegion: spec.costPerRegion, opsPerAccount: spec.opsCostPerAccount)
        put("overhead_cost", cost.monthly(placement), "count")

        if let mtbf = spec.mtbf {
            var rng = SeededGenerator(seed: seed).stream("accounts.montecarlo")
            let unavailability = Double(spec.mttr) / Double(mtbf + spec.mttr)
            put("availability_mc", MonteCarlo.availability(org, placement, unavailability: unavailability, trials: 4000, rng: &rng),
                "ratio")
        }

        if let m = mesh {
            let serviceToService = m.serviceCalls - UInt64(m.requestClient.count)
            put("cross_account_call_share", serviceToService > 0 ? Double(m.crossAccountCalls) / Double(serviceToService) : 0, "ratio")
            put("degraded_calls", Double(m.degradedCalls), "count")
        }
        if !latency.isEmpty {
            let base = singleAccountLatency ?? latency
            if !base.isEmpty {
                put("added_latency_p50", (latency.percentile(50) - base.percentile(50)) / 1e6, "ms")
                put("added_latency_p99", (latency.percentile(99) - base.percentile(99)) / 1e6, "ms")
            }
        }
        controlPlaneMetrics(spec, seed: seed, &histograms, &units, end: end)
    }

    /// Deploys (each a control-plane call in every account the service runs in) and API storms
    /// through each account's token bucket: deploys in a storming account wait, others do not —
    /// unless they share the account.
    func controlPlaneMetrics(_ spec: AccountsSpec, seed: UInt64, _ histograms: inout [String: LatencyHistogram],
                             _ units: inout [String: String], end: VirtualTime) {
        let state = self
        var rng = SeededGenerator(seed: seed).stream("accounts.deploys")
        var calls: [(time: Int64, account: Int, deployOf: Int)] = []  // deployOf: service, or -1 for a storm call
        let perService = spec.deploysPerServiceHour / 3600
        if perService > 0 {
            for service in state.organisation.services.indices {
                var t = Distribution.exponential(mean: 1e9 / perService).sampleNanos(&rng)
                while t < end {
                    for account in state.placement.accounts(of: service) { calls.append((t, account, service)) }
                    t += max(1, Distribution.exponential(mean: 1e9 / perService).sampleNanos(&rng))
                }
            }
        }
        for storm in state.storms where storm.rate > 0 {
            for account in storm.accounts {
                var t = storm.from
                let stop = min(storm.to ?? end, end)
                while true {
                    t += max(1, Distribution.exponential(mean: 1e9 / storm.rate).sampleNanos(&rng))
                    guard t < stop else { break }
                    calls.append((t, account, -1))
                }
            }
        }
        guard calls.contains(where: { $0.deployOf >= 0 }) else { return }
        // Stable: equal times keep the order above.
        let order = calls.indices.sorted { (calls[$0].time, $0) < (calls[$1].time, $1) }
        let sorted = order.map { calls[$0] }
        let plane = ControlPlane(accounts: state.placement.accounts.count, rate: spec.apiRate, burst: spec.apiBurst)
        let delays = plane.delays(sorted.map { ($0.time, $0.account) })
        // Split by team: the storming team's own deploys against everyone else's — who suffers
        // depends on who shares the storming account.
        let stormingTeams = Set(state.storms.flatMap(\.teams))
        var all = LatencyHistogram(), storming = LatencyHistogram(), others = LatencyHistogram()
        for (call, delay) in zip(sorted, delays) where call.deployOf >= 0 {
            all.record(delay)
            if stormingTeams.contains(state.organisation.services[call.deployOf].team) {
                storming.record(delay)
            } else {
                others.record(delay)
            }
        }
        histograms["deploy_delay"] = all
        units["deploy_delay"] = "ms"
        if !state.storms.isEmpty {
            histograms["deploy_delay_storming_team"] = storming
            histograms["deploy_delay_other_teams"] = others
            units["deploy_delay_storming_team"] = "ms"
            units["deploy_delay_other_teams"] = "ms"
        }
    }
}
