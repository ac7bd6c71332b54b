// swift-tools-version: 6.1
import PackageDescription

// Layering (lower never imports higher):
//   CLI (FaultlineCLI) → Live* drivers / Sim driver → Core (sans-IO cores) → Shared (Scenario, Checkers, Stats, Sampling)
//   Sim driver → SimStorage (LogStore over the simulated disk) → SimCore (the kernel) → Sampling; Results → Stats → CGSL, Histogram
//   Only Sources/Sim imports SimCore; no Live* module imports Sim (Tests/ArchitectureTests checks both)
// The kernel and the models depend on no server library, so their tests build in seconds.
let package = Package(
    name: "Faultline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "faultline", targets: ["FaultlineCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // Live mode only (servers, load driver); the simulator and its tests never link these.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Live PaaS services (issue 7): HTTP servers and ES256.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // GNU Scientific Library (libgsl-dev): Student t quantiles and other distributions.
        .systemLibrary(name: "CGSL", path: "Sources/Shared/CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        // Seeded randomness (xoshiro256** with named sub-streams), distributions and the
        // nanosecond time unit: what every layer shares, the live side included.
        .target(name: "Sampling", path: "Sources/Shared/Sampling"),
        // The simulation kernel: virtual time, event queue, simulated network, disk, clock, process.
        // The network model: link latency, loss, duplication, bandwidth, partitions and link
        // faults, deciding each message's fate (sans-IO). The simulator's network, and the live
        // fault proxy's decisions on real peer links.
        .target(name: "Links", dependencies: ["Sampling"], path: "Sources/Core/Links"),
        // A few recently used names and their values, found without hashing (simulated disk, node stores).
        .target(name: "ArrayClearing", path: "Sources/Shared/ArrayClearing"),
        .target(name: "RequestTable", path: "Sources/Shared/RequestTable"),
        .target(name: "RecentNames", dependencies: ["ArrayClearing"], path: "Sources/Shared/RecentNames"),
        .target(name: "SimCore", dependencies: ["Sampling", "Links"], path: "Sources/Sim/Kernel"),
        .target(name: "Stats", dependencies: [
            "CGSL",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Sources/Shared/Stats"),
        .target(name: "Scenario", dependencies: [
            "Sampling",
            .product(name: "Yams", package: "Yams"),
        ], path: "Sources/Shared/Scenario"),
        .target(name: "Stations", path: "Sources/Core/Stations"),
        // Sans-IO protocol cores: driven by the simulator here and by live servers later.
        // Generic over its command: cross-module optimisation lets the broker specialise
        // `Raft.Node<MetadataCommand>` (unspecialised, its metadata look-ups cost 1.7% of a
        // simulated swarm seed under callgrind).
        .target(name: "Raft", dependencies: ["Sampling"], path: "Sources/Core/Raft",
                swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        .target(name: "Replication", path: "Sources/Core/Replication"),
        // Token issuing, tokeninfo semantics and per-hop validation (central / local / hybrid).
        .target(name: "Auth", dependencies: ["RequestTable"], path: "Sources/Core/Auth"),
        // The multi-account model: organisations, placements, blast radius, control plane, cost.
        .target(name: "Accounts", dependencies: ["Sampling"], path: "Sources/Core/Accounts"),
        // Live-mode groundwork (issue 6): the broker's client wire codec and the NATS client
        // protocol, both sans-IO, for the SwiftNIO drivers to come.
        .target(name: "Wire", path: "Sources/Core/Wire"),
        .target(name: "NATSProtocol", path: "Sources/Core/NATSProtocol"),
        // Node-to-node frames: Raft messages of the metadata group and stream replication.
        .target(name: "PeerWire", dependencies: ["Wire", "Raft", "Replication"], path: "Sources/Core/PeerWire"),
        // A broker node's protocol state (Raft + metadata + replicas) as one sans-IO unit.
        .target(name: "Broker", dependencies: ["Raft", "Replication"], path: "Sources/Core/Broker"),
        // What a scenario's `broker:` section means for a node (replica settings, Raft timing,
        // stream placement): one mapping for the simulator and the live launcher.
        .target(name: "BrokerSetup", dependencies: ["Broker", "Raft", "Replication", "Scenario"], path: "Sources/Core/BrokerSetup"),
        // A scenario's fault timeline, selector resolution, `for:` undo and the cluster-control
        // operations both drivers carry out (sans-IO; random picks from the run's seed).
        .target(name: "FaultPlan", dependencies: ["Sampling", "Scenario", "Links"], path: "Sources/Core/FaultPlan"),
        // The fan-out mesh: the call graph and the call rules of one hop (retries on the next
        // replica, soft dependencies, status pass-through, health-checked balancing).
        .target(name: "Mesh", dependencies: ["Auth", "Sampling", "Scenario"], path: "Sources/Core/Mesh"),
        .target(name: "Checkers", dependencies: ["Sampling", "Stats"], path: "Sources/Shared/Checkers"),
        // Live mode (issue 6). A broker node's files: segmented stream logs with offset indexes,
        // the metadata Raft log and hard state, checkpoints. Blocking I/O, no NIO.
        // The simulator appends through it per record: cross-module optimisation lets the
        // store's calls inline into the driver, and since a store is confined to one thread (the
        // live node's storage thread, a simulation's thread) dynamic exclusivity checks only cost
        // time (callgrind, replication steady-state: 1.5 % of all instructions).
        // CRC-32C with the CPU's instruction where it has one (LogStore falls back to its table).
        .target(name: "CRC32CHardware", path: "Sources/Core/CRC32CHardware"),
        .target(name: "LogStore", dependencies: ["Replication", "Raft", "CRC32CHardware", "RecentNames", "ArrayClearing"], path: "Sources/Core/LogStore",
                swiftSettings: [.unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"])]),
        // The broker's clients as sans-IO state machines: the producer (window, leader belief,
        // failure rounds, in-order re-send, back-off), the consumer (leader following, offsets)
        // and the one publish ledger with its read-back checks. The simulator and the live load
        // driver both drive them, so a simulated client behaves as the live one.
        // Generic over the driver's node type: full cross-module optimisation lets the simulator
        // specialise `ProducerCore<Int>` (perf showed generic-metadata lookups in the hot path;
        // replication steady-state, user time of 3 runs: 2.60–2.94 s without, 2.36–2.58 s with).
        .target(name: "Clients", dependencies: ["Checkers", .product(name: "DequeModule", package: "swift-collections")], path: "Sources/Core/Clients",
                swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        // The I/O-free parts of the open-loop load driver: arrival schedules and coordinated-omission
        // correct recording.
        .target(name: "LoadCore", dependencies: ["Scenario", "Sampling", "Stats"], path: "Sources/Core/LoadCore"),
        // HTTP/1.1 on the wire for the load driver and the HTTP client, sans-IO: request bytes
        // encoded once, responses framed in place (Content-Length, chunked, until close).
        .target(name: "HTTPWire", path: "Sources/Core/HTTPWire"),
        // A chaos experiment's steady-state hypothesis (probes, phases, abort and recovery) as a
        // sans-IO state machine, and the Prometheus text its scraped probes read.
        .target(name: "Experiment", dependencies: ["Scenario", "Stats", "LoadCore"], path: "Sources/Core/Experiment"),
        // NATS over SwiftNIO (core protocol, JetStream API, nats-server processes).
        .target(name: "LiveNATS", dependencies: [
            "NATSProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Sources/Live/NATS"),
        // The broker's client protocol over SwiftNIO (load driver, launcher, tests).
        .target(name: "LiveClient", dependencies: [
            "Wire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Sources/Live/Client"),
        // A live broker node: BrokerCore driven by SwiftNIO, real files, NATS ingestion, /metrics.
        .target(name: "LiveBroker", dependencies: [
            "Broker", "Raft", "Replication", "Wire", "PeerWire", "LogStore", "LiveNATS", "NATSProtocol", "Sampling",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Sources/Live/Broker"),
        // Cluster launcher and live load driver: processes, open-loop load, results.
        .target(name: "Live", dependencies: [
            "LiveBroker", "LiveClient", "LiveNATS", "LoadCore", "Clients", "Scenario", "Results", "Stats", "Checkers", "Sampling",
            "Replication", "BrokerSetup", "FaultPlan", "LogStore", "Links", "PeerWire", "Wire", "Experiment",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/Live/Runner"),
        // Live PaaS (issue 7). Real tokens for the Auth core: compact JWTs, ES256 (swift-crypto),
        // JWKS documents, the provider's key ring.
        .target(name: "LiveAuth", dependencies: [
            "Auth",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Sources/Live/Auth"),
        // A small HTTP/1.1 client over SwiftNIO (pooled keep-alive connections) and the
        // open-loop HTTP load generator built on it.
        // Its connections are confined to their event loop; dynamic exclusivity checks were ~3%
        // of the load driver's CPU (measured with perf), CPU the server under test then lacks.
        .target(name: "LiveHTTP", dependencies: [
            "LoadCore", "Stats", "HTTPWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Sources/Live/HTTP", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // Token provider, tokeninfo and the fan-out mesh as Hummingbird servers over the Auth
        // core; their launcher, the OAuth load run and calibration.
        .target(name: "LivePaaS", dependencies: [
            "Auth", "LiveAuth", "LiveHTTP", "LoadCore", "Scenario", "Mesh", "Results", "Stats", "Sampling", "Live", "Experiment", "FaultPlan",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Sources/Live/PaaS"),
        .target(name: "Results", dependencies: [
            "Stats", "Sampling",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Sweeps beyond one process: a job plan (scenario and binary by hash, parameters × seeds),
        // its shards and the checked merge of their results, for any engine (Dask: python/faultline_dask).
        .target(name: "JobPlans", dependencies: ["Results"], path: "Sources/Shared/JobPlans"),
        // LogStore's file-system seam over the simulated disk: the simulator runs the live
        // broker's storage and recovery code. Beside the kernel, not in it (SimCore stays free of
        // any core), and in its own module so LogStore's tests reach it without the whole driver.
        // One simulation thread owns each file system (as the driver's world), so its dynamic
        // exclusivity checks only cost time.
        .target(name: "SimStorage", dependencies: ["SimCore", "LogStore", "ArrayClearing"], path: "Sources/Sim/Storage",
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"])]),
        // The simulator's driver: the run (`Simulation`: fault schedule, nemesis, event routing),
        // the virtual cluster the models share, and one model per folder (stations, broker, mesh,
        // accounts), each a value type owning its events and state.
        // A run is confined to one thread, so release builds drop dynamic exclusivity checks
        // (the broker model's storage batch paid four per batch on the simulated file system:
        // 1% of a swarm seed under callgrind); debug builds and tests keep them.
        .target(name: "Sim", dependencies: ["ArrayClearing", "SimCore", "Scenario", "Stations", "Checkers", "Clients", "Stats", "Raft", "Replication", "Broker", "BrokerSetup", "Auth", "Accounts", "FaultPlan", "Mesh", "LogStore", "SimStorage"], path: "Sources/Sim/Driver",
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Shrinking a failing seed: the search only (candidates are run by the CLI).
        .target(name: "Shrink", dependencies: ["Scenario"], path: "Sources/Shared/Shrink"),
        .executableTarget(name: "FaultlineCLI", dependencies: [
            "Sim", "Scenario", "Shrink", "Results", "JobPlans", "Stats", "SimCore", "Live", "LiveBroker", "LivePaaS", "LiveHTTP", "Auth",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/CLI"),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "ArrayClearingTests", dependencies: ["ArrayClearing"]),
        .testTarget(name: "RequestTableTests", dependencies: ["RequestTable"]),
        .testTarget(name: "ShrinkTests", dependencies: ["Shrink", "Scenario"]),
        .testTarget(name: "StatsTests", dependencies: ["Stats", "SimCore"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "SimCore"]),
        .testTarget(name: "StationsTests", dependencies: ["Stations"]),
        .testTarget(name: "RaftTests", dependencies: ["Raft", "SimCore"]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"]),
        .testTarget(name: "AccountsTests", dependencies: ["Accounts", "SimCore"]),
        // Deterministic fuzzing helpers shared by the codec test suites.
        .target(name: "WireTesting", path: "Sources/Testing/WireTesting"),
        .testTarget(name: "WireTests", dependencies: ["Wire", "WireTesting"]),
        .testTarget(name: "NATSProtocolTests", dependencies: ["NATSProtocol"]),
        .testTarget(name: "PeerWireTests", dependencies: ["PeerWire", "Wire", "WireTesting", "Raft", "Replication"]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "Raft", "Replication", "SimCore"]),
        .testTarget(name: "MeshTests", dependencies: ["Mesh", "Scenario", "Sampling"]),
        .testTarget(name: "FaultPlanTests", dependencies: ["FaultPlan", "Sampling", "Scenario"]),
        .testTarget(name: "CheckersTests", dependencies: ["Checkers", "SimCore"]),
        .testTarget(name: "LogStoreTests", dependencies: ["LogStore", "Replication", "Raft", "SimCore", "SimStorage"]),
        .testTarget(name: "HTTPWireTests", dependencies: ["HTTPWire"]),
        .testTarget(name: "LoadCoreTests", dependencies: ["LoadCore", "Scenario", "SimCore", "Stats", "Checkers"]),
        .testTarget(name: "ClientsTests", dependencies: ["Clients", "Checkers"]),
        .testTarget(name: "ExperimentTests", dependencies: ["Experiment", "LoadCore", "Scenario", "Stats"]),
        // One scripted sequence of transport events through the simulator's and the live
        // driver's adapters must give the same producer effects.
        .testTarget(name: "ClientsParityTests", dependencies: ["Clients", "Sim", "Live", "Replication"]),
        .testTarget(name: "LiveNATSTests", dependencies: [
            "LiveNATS", "NATSProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "LiveTests", dependencies: [
            "Live", "LiveBroker", "LiveClient", "Wire", "WireTesting", "Replication", "LiveNATS", "NATSProtocol", "Scenario", "Sampling",
            "FaultPlan", "Links", "Clients",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "Stats", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "JobPlansTests", dependencies: ["JobPlans", "Results"]),
        .testTarget(name: "SimTests", dependencies: ["Sim", "Scenario", "SimCore", "Stats"]),
        .testTarget(name: "CLITests", dependencies: ["FaultlineCLI"]),
        // Reads Sources/ and Package.swift: layering and naming rules as tests.
        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "LiveAuthTests", dependencies: ["LiveAuth", "Auth", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "LiveHTTPTests", dependencies: [
            "LiveHTTP", "LoadCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "LivePaaSTests", dependencies: [
            "LivePaaS", "Mesh", "LiveAuth", "LiveHTTP", "Auth", "Live", "Scenario",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ]
)
