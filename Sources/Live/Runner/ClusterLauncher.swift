import BrokerSetup
import Clients
import Foundation
import LiveBroker
import LiveClient
import NIOConcurrencyHelpers
import NIOCore
import Scenario
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Starts a scenario's broker nodes as separate processes on 127.0.0.1 (free ports, data under
/// the output folder), waits for a metadata leader, creates the scenario's streams and waits
/// for their leaders; kills and restarts nodes by pid for faults; stops everything it started.
public final class ClusterLauncher: @unchecked Sendable {
    public private(set) var state: ClusterState
    let executable: String
    let eventLoop: EventLoop
    /// The processes this launcher started (an attached launcher knows only pids). Foundation
    /// reaps its children, so their liveness is asked of `Process`, never of `waitpid`.
    private var processes: [Int32: Process] = [:]
    /// Nodes SIGKILLed since they last started: with synced-length tracking, their unsynced
    /// bytes are dropped before they start again (a power loss).
    private var crashed: Set<Int> = []
    private let losesUnsynced: Bool
    /// Bytes those power losses dropped, over the run.
    public private(set) var unsyncedBytesLost: UInt64 = 0
    /// libfaketime, when the run injects clock faults: every node starts with it preloaded and
    /// its wall clock read from `clockFile(node:)` (`NodeClock`).
    var faketime: String?
    /// When each node's last process ended (our children only: Foundation tells us), so a node
    /// that stopped by itself — a broker fail-stops on a failed fsync — is dated to the moment.
    private let exits = NIOLockedValueBox<[Int: NIODeadline]>([:])

    /// Starts nothing: use `up` or `attach`.
    init(state: ClusterState, executable: String, eventLoop: EventLoop, losesUnsynced: Bool = false) {
        self.losesUnsynced = losesUnsynced
        self.state = state
        self.executable = executable
        self.eventLoop = eventLoop
    }

    /// Launches the scenario's cluster into `folder` (created if needed).
    public static func up(scenario: Scenario, folder: String, executable: String, eventLoop: EventLoop,
                          natsURL: String? = nil, proxy: FaultProxy? = nil, failpoints: FailpointConfig? = nil,
                          faketime: String? = nil, log: (String) -> Void = { _ in }) async throws -> ClusterLauncher {
        guard let broker = scenario.broker else {
            throw LiveError.badInput("\(scenario.sourceFile): live mode runs the broker model; this scenario has no `broker:` section")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        let names = scenario.cluster.nodes.map(\.name)
        let ports = try Ports.free(3 * names.count)
        let members = names.enumerated().map { i, name in
            BrokerAddress(id: i, name: name, clientPort: ports[3 * i], peerPort: ports[3 * i + 1])
        }
        // With a fault proxy, node i dials node j at the proxy's listener for link i → j.
        let routes = try await proxy?.open(upstreamPeerPorts: members.map(\.peerPort))
        var nodes: [ClusterState.Node] = []
        let timing = RaftTiming(scenario: broker)
        for (i, name) in names.enumerated() {
            var dialled = members
            if let routes {
                for j in dialled.indices where j != i { dialled[j].peerPort = routes[i][j] }
            }
            let nodeFolder = "\(folder)/nodes/\(name)"
            try fm.createDirectory(atPath: nodeFolder, withIntermediateDirectories: true)
            let config = BrokerNodeConfig(
                id: i, clusterID: "faultline-\(scenario.name)", members: dialled, dataDirectory: nodeFolder + "/data",
                replica: LiveReplicaConfig.from(broker), raftTickNanos: timing.tickNanos,
                electionTicks: timing.electionTicks, heartbeatTicks: timing.heartbeatTicks,
                natsURL: natsURL, metricsPort: ports[3 * i + 2])
            var withFailpoints = config
            withFailpoints.failpoints = failpoints
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(withFailpoints).write(to: URL(fileURLWithPath: nodeFolder + "/config.json"))
            nodes.append(ClusterState.Node(name: name, config: nodeFolder + "/config.json", log: "\(folder)/logs/\(name).log",
                                           pid: nil, metricsPort: ports[3 * i + 2], address: members[i]))
        }
        let streams = broker.streams.map {
            ClusterState.StreamDefinitionState(name: $0.name, subject: natsURL == nil ? "" : $0.subject,
                                               replicationFactor: $0.replicationFactor, minISR: $0.minISR, replicas: $0.replicas)
        }
        let launcher = ClusterLauncher(
            state: ClusterState(scenario: scenario.name, folder: folder, nodes: nodes, nats: nil, streams: streams),
            executable: executable, eventLoop: eventLoop, losesUnsynced: failpoints?.trackSynced ?? false)
        launcher.faketime = faketime
        do {
            for i in nodes.indices { try launcher.start(node: i) }
            try launcher.state.save()
            log("started \(nodes.count) broker nodes: " + launcher.state.nodes.map { "\($0.name) (pid \($0.pid ?? 0))" }.joined(separator: ", "))
            try await launcher.waitForMetadataLeader(timeout: 20)
            for stream in streams {
                try await launcher.createStream(stream)
            }
            for stream in streams { _ = try await launcher.waitForLeader(stream: stream.name, timeout: 20) }
            log("streams ready: \(streams.map(\.name).joined(separator: ", "))")
        } catch {
            launcher.down()
            throw error
        }
        return launcher
    }

    /// Re-attaches to a cluster started earlier (`cluster status`, `cluster down`).
    public static func attach(folder: String, executable: String, eventLoop: EventLoop) throws -> ClusterLauncher {
        ClusterLauncher(state: try ClusterState.load(folder: folder), executable: executable, eventLoop: eventLoop)
    }

    // MARK: - Processes

    /// Starts node `index` (again) over its data directory.
    public func start(node index: Int) throws {
        let node = state.nodes[index]
        if crashed.remove(index) != nil, losesUnsynced {
            let dataDirectory = URL(fileURLWithPath: node.config).deletingLastPathComponent().appendingPathComponent("data").path
            do {
                unsyncedBytesLost += try LoseUnsynced.apply(root: dataDirectory)
            } catch {
                throw LiveError.failed("cannot drop node \(node.name)'s unsynced bytes: \(error)")
            }
        }
        if !FileManager.default.fileExists(atPath: node.log) {
            _ = FileManager.default.createFile(atPath: node.log, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: node.log) else { throw LiveError.failed("cannot open \(node.log)") }
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "broker", "--config", node.config]
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        if let faketime {
            let file = clockFile(node: index)
            if !FileManager.default.fileExists(atPath: file) { try NodeClock().write(to: file) }
            process.environment = NodeClock.environment(clockFile: file, library: faketime)
            // Swift sees an empty argv under libfaketime: the CLI falls back to this copy.
            process.environment?["FAULTLINE_ARGUMENTS"] = (process.arguments ?? []).joined(separator: "\u{1F}")
        }
        process.terminationHandler = { [exits] _ in exits.withLockedValue { $0[index] = .now() } }
        do {
            try process.run()
        } catch {
            throw LiveError.failed("cannot start \(executable) for node \(node.name): \(error)")
        }
        state.nodes[index].pid = process.processIdentifier
        processes[process.processIdentifier] = process
        try? state.save()
    }

    /// The file node `index`'s faked wall clock reads its offset from (next to its config).
    func clockFile(node index: Int) -> String {
        URL(fileURLWithPath: state.nodes[index].config).deletingLastPathComponent().appendingPathComponent("clock.faketime").path
    }

    public func isRunning(node index: Int) -> Bool {
        guard let pid = state.nodes[index].pid else { return false }
        return alive(pid)
    }

    func alive(_ pid: Int32) -> Bool {
        if let process = processes[pid] { return process.isRunning }
        return kill(pid, 0) == 0
    }

    /// When node `index`'s last process ended, if it has ended (nil for an attached cluster's).
    public func exitTime(node index: Int) -> NIODeadline? {
        isRunning(node: index) ? nil : exits.withLockedValue { $0[index] }
    }

    /// SIGKILL: the node gets no chance to flush anything (a crash).
    public func crash(node index: Int) {
        guard let pid = state.nodes[index].pid else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        crashed.insert(index)
        if let process = processes[pid] {
            process.waitUntilExit()
        } else {
            // Not our child (an attached cluster): init reaps it; wait until it is gone (≤ 2 s).
            var waited = 0
            while alive(pid) && waited < 200 {
                usleep(10_000)
                waited += 1
            }
        }
        processes[pid] = nil
        state.nodes[index].pid = nil
        try? state.save()
    }

    public func pause(node index: Int) {
        if let pid = state.nodes[index].pid { kill(pid, SIGSTOP) }
    }

    public func resume(node index: Int) {
        if let pid = state.nodes[index].pid { kill(pid, SIGCONT) }
    }

    /// Stops every process this cluster started (SIGTERM, then SIGKILL after a grace period).
    public func down() {
        var pids = state.nodes.compactMap(\.pid)
        pids += state.nats?.pids ?? []
        for pid in pids { kill(pid, SIGCONT); kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, pids.contains(where: alive) { usleep(20_000) }
        for pid in pids where alive(pid) { kill(pid, SIGKILL) }
        for pid in pids { processes[pid]?.waitUntilExit() }
        processes = [:]
        for i in state.nodes.indices { state.nodes[i].pid = nil }
        if state.nats != nil { state.nats!.pids = [] }
        try? state.save()
    }

    public func setNATS(_ nats: ClusterState.NATSState) {
        state.nats = nats
        try? state.save()
    }

    // MARK: - Talking to the cluster

    /// A connection to the first node that answers.
    public func anyClient() async throws -> BrokerClient {
        var lastError: Error = LiveError.failed("no node is running")
        for (i, node) in state.nodes.enumerated() where isRunning(node: i) {
            do {
                return try await BrokerClient.connect(host: node.address.host, port: node.address.clientPort, on: eventLoop)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    public func client(for name: String) async throws -> BrokerClient {
        guard let node = state.nodes.first(where: { $0.name == name }) else { throw LiveError.failed("no node \(name)") }
        return try await BrokerClient.connect(host: node.address.host, port: node.address.clientPort, on: eventLoop)
    }

    public func metadata() async throws -> BrokerClient.Metadata {
        let client = try await anyClient()
        defer { client.close() }
        return try await client.metadata()
    }

    /// Node `index`'s metadata, or nil when it is down or does not answer within `timeout`
    /// seconds (a paused process still accepts connections but never answers).
    public func metadata(node index: Int, timeout: Double = 0.5) async -> BrokerClient.Metadata? {
        guard isRunning(node: index) else { return nil }
        let node = state.nodes[index]
        guard let client = try? await BrokerClient.connect(host: node.address.host, port: node.address.clientPort, on: eventLoop)
        else { return nil }
        let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) { client.close() }
        defer {
            timer.cancel()
            client.close()
        }
        return try? await client.metadata()
    }

    /// The cluster's metadata as the majority sees it, asking every running node: for each
    /// stream the answer with the highest leader epoch (the clients' rule, `LeaderLookup`), and
    /// the metadata leader most nodes name.
    /// One node's answer can be stale — an isolated old leader still names itself — and fault
    /// selectors such as `leader(orders)` must aim at the leader the cluster has now.
    public func freshestMetadata() async -> BrokerClient.Metadata? {
        var answers: [BrokerClient.Metadata] = []
        for i in state.nodes.indices {
            if let answer = await metadata(node: i) { answers.append(answer) }
        }
        guard var merged = answers.first else { return nil }
        var votes: [String: Int] = [:]
        for answer in answers { if let leader = answer.metadataLeader { votes[leader, default: 0] += 1 } }
        merged.metadataLeader = votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        var streams: [String: StreamMetadata] = [:]
        for name in Set(answers.flatMap { $0.streams.map(\.name) }) {
            streams[name] = LeaderLookup.freshest(answers.compactMap { $0.stream(name) }, epoch: \.leaderEpoch,
                                                  namesLeader: { $0.leader != nil })
        }
        merged.streams = streams.keys.sorted().map { streams[$0]! }
        return merged
    }

    func waitForMetadataLeader(timeout: Double) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer"
        while Date() < deadline {
            do {
                if try await metadata().metadataLeader != nil { return }
                last = "no metadata leader yet"
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw LiveError.failed("no metadata leader within \(Int(timeout)) s (\(last)); see the logs in \(state.folder)/logs")
    }

    func createStream(_ stream: ClusterState.StreamDefinitionState) async throws {
        var lastError: Error?
        for _ in 0..<20 {
            do {
                let client = try await anyClient()
                defer { client.close() }
                try await client.createStream(name: stream.name, subject: stream.subject.isEmpty ? nil : stream.subject,
                                              replicationFactor: stream.replicationFactor, minISR: stream.minISR,
                                              replicas: stream.replicas ?? [])
                return
            } catch {
                lastError = error
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        throw LiveError.failed("cannot create stream \(stream.name): \(lastError.map { "\($0)" } ?? "")")
    }

    /// Waits until a running node leads `stream` (per the metadata), and returns its name.
    public func waitForLeader(stream: String, timeout: Double, excluding: String? = nil) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let meta = await freshestMetadata(), let leader = meta.stream(stream)?.leader, leader != excluding,
               let index = state.nodes.firstIndex(where: { $0.name == leader }), isRunning(node: index),
               await confirmsLeadership(node: leader, stream: stream) {
                return leader
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw LiveError.failed("stream \(stream) has no leader within \(Int(timeout)) s")
    }

    public func index(of name: String) -> Int? { state.nodes.firstIndex { $0.name == name } }

    /// Whether `node` itself names itself leader of `stream` (its applied metadata; another
    /// node's may be a step behind).
    public func confirmsLeadership(node: String, stream: String) async -> Bool {
        guard let client = try? await client(for: node) else { return false }
        defer { client.close() }
        return (try? await client.metadata().stream(stream)?.leader) == node
    }

    /// Resident set size of a node's process in bytes (from /proc), if it runs.
    public func residentBytes(node index: Int) -> Int? {
        state.nodes[index].pid.flatMap(processResidentBytes(pid:))
    }
}

/// Resident set size of a process in bytes (Linux `/proc/<pid>/status`, VmRSS).
public func processResidentBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return nil }
    return kb * 1024
}
