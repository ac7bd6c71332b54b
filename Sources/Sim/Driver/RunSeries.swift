import Scenario
import SimCore
import Stats

/// The models' gauges: states sampled at every window boundary (the requests' and publishes'
/// rates and latencies are recorded as they happen, by `RequestBook` and the broker's clients).
/// Sampling only reads state and schedules nothing, so time series never change a trace.
struct SimGauges {
    typealias Handle = TimeSeriesRecorder.Handle

    /// Per stream: the leader (1-based node number, none when leaderless), the ISR size and the
    /// leader's uncommitted entries (log end − high-water mark).
    var leader: [Handle] = []
    var isr: [Handle] = []
    var hwLag: [Handle] = []
    var tokeninfoUtilization: Handle?
    var tokeninfoQueue: Handle?
    var tokeninfoBusyAtLastSample: Double = 0
    /// Per account (at most `maxAccountSeries`): the share of its service replicas up.
    var accountAvailability: [(nodes: [NodeID], handle: Handle)] = []
    var nextSample: VirtualTime = 0

    /// More accounts than this (a 100-account sweep point) would swamp the results; the first ones stand for the rest.
    static let maxAccountSeries = 50
}

/// The broker clients' series, recorded as publishes are acknowledged or given up.
typealias PublishSeries = TimeSeriesRecorder.OutcomeHandles

extension Simulation {
    /// Declares the series of the models this scenario has, before the first event.
    mutating func declareSeries() {
        if var broker {
            broker.world.publishSeries = scenario.publishes.isEmpty ? nil : PublishSeries(
                throughput: cluster.series.rate("publish_throughput"),
                errors: cluster.series.ratio("publish_error_rate"),
                latency: cluster.series.latency("publish_latency"))
            for name in broker.world.streamNames {
                gauges.leader.append(cluster.series.gauge("leader.\(name)", unit: "node"))
                gauges.isr.append(cluster.series.gauge("isr_size.\(name)", unit: "count"))
                gauges.hwLag.append(cluster.series.gauge("hw_lag.\(name)", unit: "count"))
            }
            self.broker = broker
        }
        if let mesh, !mesh.world.tokeninfoStations.isEmpty {
            gauges.tokeninfoUtilization = cluster.series.gauge("tokeninfo.utilization", unit: "ratio")
            gauges.tokeninfoQueue = cluster.series.gauge("tokeninfo.queue", unit: "count")
        }
        if let accounts, let nodeAccount = mesh?.world.nodeAccount {
            for account in accounts.placement.accounts.prefix(SimGauges.maxAccountSeries) {
                let nodes = cluster.clusterNodes.filter { $0 < nodeAccount.count && nodeAccount[$0] == account }
                gauges.accountAvailability.append((nodes, cluster.series.gauge("availability.\(account)", unit: "ratio")))
            }
        }
    }

    /// Samples every gauge at each window boundary up to `time` (the state there is the state
    /// left by the last event before `time`).
    @inline(__always) mutating func sampleSeries(upTo time: VirtualTime) {
        while gauges.nextSample <= time {
            sampleGauges(at: gauges.nextSample)
            gauges.nextSample += cluster.series.windowNanos
        }
    }

    mutating func sampleGauges(at t: VirtualTime) {
        if let broker {
            let metadataLeader = broker.metadataLeader(cluster)
            for stream in broker.world.streamNames.indices {
                let name = broker.world.streamNames[stream]
                let state = metadataLeader.flatMap { broker.world.nodes[$0]?.core.metadata.stream(named: name) }
                let leader = state?.leader.map { Int($0.rawValue) }
                cluster.series.set(gauges.leader[stream], at: t, leader.map { Double($0 + 1) } ?? .nan)
                if let state { cluster.series.set(gauges.isr[stream], at: t, Double(state.isr.count)) }
                if let leader, let replica = broker.world.nodes[leader]?.core.replicas[stream], replica.isLeader {
                    cluster.series.set(gauges.hwLag[stream], at: t, Double(replica.logEndOffset - min(replica.highWatermark, replica.logEndOffset)))
                }
            }
        }
        if let mesh, let utilization = gauges.tokeninfoUtilization, let queue = gauges.tokeninfoQueue {
            let stations = mesh.world.tokeninfoStations
            let busy = stations.reduce(0) { $0 + $1.counters.busyTime }
            let capacity = Double(stations.reduce(0) { $0 + $1.config.servers }) * Double(cluster.series.windowNanos)
            if t > 0 { cluster.series.set(utilization, at: t - 1, capacity > 0 ? min(1, (busy - gauges.tokeninfoBusyAtLastSample) / capacity) : 0) }
            gauges.tokeninfoBusyAtLastSample = busy
            cluster.series.set(queue, at: t, Double(stations.reduce(0) { $0 + $1.queueLength }))
        }
        for (nodes, handle) in gauges.accountAvailability where !nodes.isEmpty {
            let up = nodes.filter { cluster.processes[$0].state == .running }.count
            cluster.series.set(handle, at: t, Double(up) / Double(nodes.count))
        }
    }

    /// The run's series: the requests', the models', sorted by name; windows after `end` dropped.
    func finishedSeries(end: VirtualTime) -> [TimeSeries] {
        (cluster.requests.series.finished(end: end) + cluster.series.finished(end: end)).sorted { $0.name < $1.name }
    }
}
