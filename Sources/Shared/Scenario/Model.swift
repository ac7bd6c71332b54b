import Sampling

/// A validated scenario: everything a driver (simulator or live runner) needs, with units
/// converted (durations in nanoseconds, sizes in bytes, rates per second).
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// Virtual run length in nanoseconds (> 0).
    public var duration: Int64
    /// Requests that start before this time (ns) are not measured. `0 ≤ warmup < duration`.
    public var warmup: Int64
    /// How many seeds `faultline run` uses by default.
    public var seeds: Int
    public var cluster: ClusterSpec
    public var stations: [StationSpec]
    public var workload: [RequestWorkload]
    /// Sorted by `at`; faults at the same time keep their order in the file.
    public var faults: [FaultEvent]
    public var nemesis: NemesisSpec?
    /// Names from `Scenario.knownChecks`.
    public var checks: [String]
    public var slos: [SLOSpec]
    public var sourceFile: String
    /// The replicated-log model, when the scenario runs one.
    public var broker: BrokerSpec?
    /// `- publish:` workload entries (need `broker`).
    public var publishes: [PublishWorkload] = []
    /// `- consume:` workload entries (need `broker`).
    public var consumers: [ConsumeWorkload] = []
    /// The OAuth fan-out model: a call graph of services validating tokens at every hop.
    public var mesh: MeshSpec?
    /// How tokens are issued and validated (defaults when `mesh` is set and `auth:` is absent).
    public var auth: AuthSpec?
    /// `- calls:` workload entries (need `services`).
    public var meshWorkloads: [MeshWorkload] = []
    /// The multi-account model: an organisation's services and how they are placed into
    /// cloud accounts. With `organisation`, requests flow through its dependency graph as a mesh.
    public var organisation: OrganisationSpec?
    public var accounts: AccountsSpec?
    /// `compare:` — settings `faultline run` tries side by side (each value a run group, as a
    /// sweep would), e.g. the four validation strategies over one call graph.
    public var compare: [CompareAxis] = []
    /// `live:` — settings for `faultline load` / `faultline cluster` (ignored by the simulator).
    public var live: LiveSpec?
    /// `hypothesis:` — the steady state a live chaos run checks before, during and after its
    /// faults (ignored by the simulator).
    public var hypothesis: HypothesisSpec?
    /// `rollbacks:` — what a live run always does after its faults (ignored by the simulator).
    public var rollbacks: [RollbackStep] = []
    /// `regression:` — what `faultline compare` counts as a regression (ignored by the runs).
    public var regression: RegressionSpec?
    /// `timeseries.window` — the width (ns) of the windows of every run's time series (Results/README.md).
    public var timeSeriesWindow: Int64 = 1_000_000_000

    public static let knownChecks: [String] =
        CheckCatalog.stationChecks + CheckCatalog.generalChecks + CheckCatalog.brokerChecks + CheckCatalog.meshChecks

    public init(name: String, description: String = "", duration: Int64, warmup: Int64 = 0, seeds: Int = 10,
                cluster: ClusterSpec = ClusterSpec(), stations: [StationSpec] = [], workload: [RequestWorkload] = [],
                faults: [FaultEvent] = [], nemesis: NemesisSpec? = nil, checks: [String] = [], slos: [SLOSpec] = [],
                sourceFile: String = "") {
        self.name = name
        self.description = description
        self.duration = duration
        self.warmup = warmup
        self.seeds = seeds
        self.cluster = cluster
        self.stations = stations
        self.workload = workload
        self.faults = faults
        self.nemesis = nemesis
        self.checks = checks
        self.slos = slos
        self.sourceFile = sourceFile
    }
}

public struct NodeSpec: Sendable, Equatable {
    public var name: String
    public var zone: String

    public init(name: String, zone: String) {
        self.name = name
        self.zone = zone
    }
}

public struct ClusterSpec: Sendable {
    public var nodes: [NodeSpec]
    public var zones: [String]
    public var network: NetworkSpec
    public var disk: DiskSpec
    /// The process that runs the load generators, named "client".
    public var clients: NodeSpec

    public static let clientName = "client"

    public init(nodes: [NodeSpec] = [NodeSpec(name: "n1", zone: "a")], zones: [String] = ["a"],
                network: NetworkSpec = NetworkSpec(), disk: DiskSpec = DiskSpec(),
                clients: NodeSpec = NodeSpec(name: ClusterSpec.clientName, zone: "a")) {
        self.nodes = nodes
        self.zones = zones
        self.network = network
        self.disk = disk
        self.clients = clients
    }
}

public struct NetworkSpec: Sendable {
    /// One-way latency of a message, in nanoseconds.
    public var latency: Distribution
    /// Added to `latency` when sender and receiver are in different zones (ns).
    public var crossZoneExtra: Distribution?
    /// Probability that a message is dropped.
    public var loss: Double
    /// Probability that a message is delivered twice.
    public var duplicate: Double
    /// Per-link bandwidth; `nil` = unlimited.
    public var bandwidthBytesPerSecond: Double?

    public init(latency: Distribution = .constant(0), crossZoneExtra: Distribution? = nil, loss: Double = 0,
                duplicate: Double = 0, bandwidthBytesPerSecond: Double? = nil) {
        self.latency = latency
        self.crossZoneExtra = crossZoneExtra
        self.loss = loss
        self.duplicate = duplicate
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }
}

public struct DiskSpec: Sendable {
    /// Time of one write (ns).
    public var write: Distribution
    /// Time of one fsync (ns).
    public var fsync: Distribution
    /// Whether a crash may leave the last unsynced write partly written.
    public var tornWrites: Bool
    /// Probability per crash that unsynced data is corrupted.
    public var corruption: Double

    public init(write: Distribution = .constant(0), fsync: Distribution = .constant(0), tornWrites: Bool = false,
                corruption: Double = 0) {
        self.write = write
        self.fsync = fsync
        self.tornWrites = tornWrites
        self.corruption = corruption
    }
}

/// A queueing station: `servers` parallel servers with a FIFO queue in front.
public struct StationSpec: Sendable {
    public var name: String
    /// The node it runs on (a name from `cluster.nodes`).
    public var node: String
    public var servers: Int
    /// Service time (ns).
    public var service: Distribution
    /// Most requests waiting (not counting those in service); `nil` = unbounded.
    public var queueLimit: Int?

    public init(name: String, node: String, servers: Int = 1, service: Distribution, queueLimit: Int? = nil) {
        self.name = name
        self.node = node
        self.servers = servers
        self.service = service
        self.queueLimit = queueLimit
    }
}

/// An open-loop stream of requests from the client process to one station.
public struct RequestWorkload: Sendable {
    public var station: String
    public var arrivals: ArrivalProcess
    /// The client gives up after this long (ns); `nil` = waits forever.
    public var timeout: Int64?
    public var requestBytes: Int
    public var responseBytes: Int
    /// When arrivals begin (ns).
    public var start: Int64
    /// When arrivals end (ns); `nil` = the end of the run.
    public var stop: Int64?

    public init(station: String, arrivals: ArrivalProcess, timeout: Int64? = nil, requestBytes: Int = 0,
                responseBytes: Int = 0, start: Int64 = 0, stop: Int64? = nil) {
        self.station = station
        self.arrivals = arrivals
        self.timeout = timeout
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.start = start
        self.stop = stop
    }
}

public enum ArrivalProcess: Sendable {
    case poisson(perSecond: Double)
    case constant(perSecond: Double)
    /// Time between arrivals (ns).
    case interarrival(Distribution)
    /// Poisson arrivals whose rate grows (or falls) linearly from `fromPerSecond` to
    /// `toPerSecond` over the first `over` ns after the workload's start, then stays at
    /// `toPerSecond`: a load ramp, e.g. to find the rate at which latency breaks.
    /// `fromPerSecond ≥ 0`, `toPerSecond > 0`, `over > 0`; sampled as in `interarrival(elapsed:_:)`.
    case ramp(fromPerSecond: Double, toPerSecond: Double, over: Int64)
}

public struct FaultEvent: Sendable {
    /// When it happens (ns from the start of the run).
    public var at: Int64
    public var action: FaultAction
    /// `for:` — undo the action this long after `at` (ns).
    public var duration: Int64?
    /// Where it was written, for messages about it.
    public var location: SourceLocation

    public init(at: Int64, action: FaultAction, duration: Int64? = nil,
                location: SourceLocation = SourceLocation(file: "", line: 0, column: 0)) {
        self.at = at
        self.action = action
        self.duration = duration
        self.location = location
    }
}

public enum FaultAction: Sendable {
    case crash(Selector), restart(Selector), pause(Selector), resume(Selector)
    case partition(Partition), heal
    /// Extra one-way delay (ns) on the link's messages.
    case delay(Link, extra: Distribution)
    case loss(Link, probability: Double)
    case duplicate(Link, probability: Double)
    /// The link carries at most this many bytes per second (messages queue behind each other:
    /// Toxiproxy's `bandwidth`), on top of the link's own limit.
    case bandwidth(Link, bytesPerSecond: Double)
    /// The link's connections are reset (TCP RST, Toxiproxy's `reset_peer`): messages in
    /// flight on it are lost; the endpoints reconnect. Instantaneous (no `for:`).
    case reset(Link)
    case clock(Selector, ClockChange)
    case disk(Selector, DiskFault)
    /// The station's service times are multiplied by `factor`.
    case slowdown(station: String, factor: Double)
    /// Account-level faults (the multi-account model). `suspend`: the account is unusable;
    /// `badChange`: an account-wide IAM/network change breaks everything in it; both take its
    /// processes down (for `for:`). `compromise`: an attacker reaches everything in it (no
    /// outage; its exposure is reported). `regionOutage`: a region of every account is down.
    /// `apiStorm`: control-plane calls at `rate` per second in the account(s), competing with
    /// deploys for the account's API token bucket.
    case suspend(Selector), badChange(Selector), compromise(Selector)
    case regionOutage(String)
    case apiStorm(Selector, rate: Double)

    /// The YAML key of this action.
    public var keyword: String {
        switch self {
        case .crash: return "crash"
        case .restart: return "restart"
        case .pause: return "pause"
        case .resume: return "resume"
        case .partition: return "partition"
        case .heal: return "heal"
        case .delay: return "delay"
        case .loss: return "loss"
        case .duplicate: return "duplicate"
        case .bandwidth: return "bandwidth"
        case .reset: return "reset"
        case .clock: return "clock"
        case .disk: return "disk"
        case .slowdown: return "slowdown"
        case .suspend: return "suspend"
        case .badChange: return "bad-change"
        case .compromise: return "compromise"
        case .regionOutage: return "region-outage"
        case .apiStorm: return "api-storm"
        }
    }
}

/// Which processes a fault applies to, resolved by the driver when the fault fires.
public enum Selector: Sendable, Equatable, Hashable, CustomStringConvertible {
    case node(String)
    case zone(String)
    case randomNode
    case minority
    case majority
    case all
    case crashed
    case paused
    /// The node that runs the station.
    case station(String)
    /// Reserved: the leader of a replicated stream (a later module resolves it).
    case leader(String)
    /// Reserved: every process of a cloud account (a later module resolves it).
    case account(String)
    /// Every replica of the stream except its current leader.
    case follower(String)
    /// The current leader of the metadata Raft group.
    case metadataLeader
    /// Every replica of a service of the call graph (the tokeninfo cluster is `service(tokeninfo)`).
    case service(String)

    /// The text form used in scenario files.
    public var description: String {
        switch self {
        case .node(let name): return name
        case .zone(let zone): return "zone(\(zone))"
        case .randomNode: return "random-node"
        case .minority: return "minority"
        case .majority: return "majority"
        case .all: return "all"
        case .crashed: return "crashed"
        case .paused: return "paused"
        case .station(let name): return "station(\(name))"
        case .leader(let stream): return "leader(\(stream))"
        case .account(let account): return "account(\(account))"
        case .follower(let stream): return "follower(\(stream))"
        case .metadataLeader: return "metadata-leader"
        case .service(let name): return "service(\(name))"
        }
    }
}

/// One `compare:` entry: a key path (as for `--set`) and the values to try.
public struct CompareAxis: Sendable, Equatable {
    public var key: String
    public var values: [String]

    public init(key: String, values: [String]) {
        self.key = key
        self.values = values
    }
}

public enum Partition: Sendable {
    /// Symmetric: processes in different groups cannot reach each other.
    case groups([[Selector]])
    /// The selected processes vs everyone else, both ways.
    case isolate(Selector)
    /// Messages from `from` to `to` are dropped; the other direction still works.
    case oneWay(from: [Selector], to: [Selector])
}

/// The set of links a link fault applies to: messages from any of `from` to any of `to`,
/// and also back when `bothWays`.
public struct Link: Sendable {
    public var from: [Selector]
    public var to: [Selector]
    public var bothWays: Bool

    public init(from: [Selector], to: [Selector], bothWays: Bool) {
        self.from = from
        self.to = to
        self.bothWays = bothWays
    }
}

public enum ClockChange: Sendable {
    /// The node's clock reads this much ahead (negative: behind), in ns.
    case offset(Int64)
    /// The node's clock runs fast (positive) or slow by this many parts per million.
    case drift(ppm: Double)
    /// The node's clock jumps once by this much (ns), e.g. an NTP step.
    case jump(Int64)
}

public enum DiskFault: Sendable {
    /// fsync takes this long (ns) instead of the cluster's fsync distribution.
    case slowFsync(Distribution)
    /// Probability that a crash corrupts unsynced data.
    case corrupt(probability: Double)
    case tornWrites(Bool)
    /// Every fsync fails with EIO while in force. The node fail-stops at its first failed fsync
    /// (a failed fsync leaves the page cache's state unknown — PostgreSQL's "fsyncgate": retrying
    /// could report as durable what the kernel already dropped), as a crash; a node restarted
    /// while the fault is still in force fails again at its first fsync.
    case fsyncError(Bool)
}

/// A randomised fault generator: every `interval`, pick an action and targets, hold it for `duration`.
public struct NemesisSpec: Sendable {
    public var interval: Int64
    public var duration: Int64
    public var start: Int64
    public var stop: Int64?
    public var actions: [NemesisAction]
    public var targets: Selector
    /// Swarm testing (FoundationDB, TigerBeetle's VOPR): each seed draws its own fault mix —
    /// which actions are on, how often and how long they strike, how hard — so a thousand
    /// seeds explore a thousand different fault regimes instead of one.
    public var swarm: Bool = false

    public init(interval: Int64, duration: Int64, start: Int64 = 0, stop: Int64? = nil, actions: [NemesisAction],
                targets: Selector = .randomNode) {
        self.interval = interval
        self.duration = duration
        self.start = start
        self.stop = stop
        self.actions = actions
        self.targets = targets
    }
}

public enum NemesisAction: String, Sendable, CaseIterable {
    case crash, pause, partition, delay, loss, clock, disk
}

/// A service-level objective: `statistic(metric) ≤ limit` (or `≥ limit` for statistic `min`).
public struct SLOSpec: Sendable, Equatable {
    /// As written, e.g. `request_latency_p99`.
    public var name: String
    /// e.g. `request_latency`.
    public var metric: String
    /// One of `SLOSpec.statistics`, or `min` (a lower bound).
    public var statistic: String
    /// Latencies in milliseconds, rates as fractions, throughput per second.
    public var limit: Double

    public init(name: String, metric: String, statistic: String, limit: Double) {
        self.name = name
        self.metric = metric
        self.statistic = statistic
        self.limit = limit
    }

    public static let statistics = ["p50", "p90", "p99", "p999", "mean", "max"]

    /// Metrics an SLO may name, and how their limits are written: a duration (stored in ms), a
    /// probability (a fraction), a rate or plain number (per second), or a plain number (a count, a cost).
    public enum MetricKind: Sendable { case latency, fraction, perSecond, number }

    public static let knownMetrics: [(name: String, kind: MetricKind)] = [
        ("request_latency", .latency),
        ("error_rate", .fraction),
        ("timeout_rate", .fraction),
        ("rejection_rate", .fraction),
        ("throughput_per_s", .perSecond),
        // The broker model.
        ("publish_latency", .latency),
        ("end_to_end_latency", .latency),
        ("failover_time", .latency),
        // The OAuth fan-out model.
        ("auth_latency", .latency),
        ("availability", .fraction),
        ("tokeninfo_utilization", .fraction),
        // The multi-account model, one value per seed. Blast radius: the traffic-weighted share of
        // requests failing under a single-account fault (mean over the accounts, or their p99).
        ("blast_radius_mean", .fraction),
        ("blast_radius_p99", .fraction),
        // Share of services impaired by a single-account fault, mean over the accounts.
        ("impaired_services_mean", .fraction),
        // Services an attacker reaches from one compromised account (mean over the accounts).
        ("exposure_services", .number),
        // Monte Carlo availability under random account faults (`accounts.random_faults`).
        ("availability_mc", .fraction),
        // p99 latency added by cross-account and cross-region calls.
        ("added_latency_p99", .latency),
        // Monthly cost of the accounts (`accounts.cost`).
        ("overhead_cost", .number),
        // How long deploys wait for the account's control-plane API.
        ("deploy_delay", .latency),
    ]

    /// Metrics whose SLO may be a lower bound (`_min`): more is better.
    public static let lowerBounded = ["throughput_per_s", "availability", "availability_mc"]

    /// `true` when the observed value must be at least `limit` rather than at most.
    public var isLowerBound: Bool { statistic == "min" }
}

extension FaultAction {
    /// Node selectors this action mentions (for validation before the run).
    /// The action as logs and timelines name it: its keyword and selectors, e.g. "crash leader(orders)".
    public var described: String {
        ([keyword] + selectors.map { "\($0)" }).joined(separator: " ")
    }

    public var selectors: [Selector] {
        switch self {
        case .crash(let s), .restart(let s), .pause(let s), .resume(let s): return [s]
        case .clock(let s, _), .disk(let s, _): return [s]
        case .partition(.groups(let groups)): return groups.flatMap { $0 }
        case .partition(.isolate(let s)): return [s]
        case .partition(.oneWay(let from, let to)): return from + to
        case .delay(let link, _), .loss(let link, _), .duplicate(let link, _), .bandwidth(let link, _): return link.from + link.to
        case .reset(let link): return link.from + link.to
        case .heal, .slowdown, .regionOutage: return []
        case .suspend(let s), .badChange(let s), .compromise(let s), .apiStorm(let s, _): return [s]
        }
    }
}
