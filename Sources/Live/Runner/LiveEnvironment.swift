import Clients
import FaultPlan
import Foundation
import Links
import LiveBroker
import LiveClient
import LoadCore
import LiveNATS
import NIOCore
import NIOPosix
import Scenario
import Wire

/// A running system under test: the Faultline broker cluster or a NATS JetStream cluster. The
/// load driver, the fault runner and the read-back talk to either through this seam.
protocol LiveEnvironment: Sendable {
    var nodeNames: [String] { get }
    func transport(stream: String, producer: UInt32, loop: EventLoop) async throws -> PublishTransport
    func readBack(stream: String) async throws -> [ReadBackEntry]
    /// The node leading `stream` now, if known.
    func leader(of stream: String) async -> String?
    /// Every node holding a replica of `stream`.
    func replicas(of stream: String) async -> [String]
    func metadataLeader() async -> String?
    /// Each stream's leader and the metadata leader from one look at the cluster.
    func leaders(of streams: [String]) async -> (streams: [String: String], metadata: String?)
    /// Each stream's leader, replicas and in-sync replicas, and the metadata leader, from one
    /// look at the cluster; nil when no node answered.
    func view(of streams: [String]) async -> ClusterMetadataView?
    /// The running nodes' `/metrics` (Prometheus text), concatenated; empty when the target has none.
    func scrapeMetrics() async -> String
    func isRunning(node: String) -> Bool
    /// When a node that is down now went down, where the target can tell.
    func exitTime(node: String) -> NIODeadline?
    func crash(node: String) async throws
    func restart(node: String) async throws
    func pause(node: String)
    func resume(node: String)
    /// Carries out a network operation of the fault plan on the peer links.
    func network(_ operation: ClusterOperation) async throws
    /// What the network faults did to the peer traffic (nil: no fault proxy in this run).
    func networkStats() async -> NetworkStats?
    /// Sets these nodes' wall clocks (nodes started under clock control only).
    func clock(_ nodes: [String], _ clock: NodeClock) async throws
    /// Arms (or, with default settings, disarms) the storage failpoints of these nodes.
    func disk(_ nodes: [String], _ settings: StorageFailpoints.Settings) async throws
    /// Resident memory of each running node.
    func residentBytes() -> [String: Int]
    func stop() async
}

/// The cluster's metadata as one look at it saw it.
struct ClusterMetadataView: Sendable {
    struct Stream: Sendable {
        var leader: String?
        var replicas: [String]
        /// nil: the target does not tell.
        var inSyncReplicas: [String]?
    }
    var streams: [String: Stream]
    var metadataLeader: String?
    /// The target has a metadata group whose leader a probe can ask for (nats-server's meta
    /// leader is not reported).
    var hasMetadataGroup: Bool
}

extension LiveEnvironment {
    func leaders(of streams: [String]) async -> (streams: [String: String], metadata: String?) {
        var leaders: [String: String] = [:]
        for stream in streams { leaders[stream] = await leader(of: stream) }
        return (leaders, await metadataLeader())
    }

    func view(of streams: [String]) async -> ClusterMetadataView? {
        var result: [String: ClusterMetadataView.Stream] = [:]
        for stream in streams {
            result[stream] = .init(leader: await leader(of: stream), replicas: await replicas(of: stream), inSyncReplicas: nil)
        }
        return ClusterMetadataView(streams: result, metadataLeader: await metadataLeader(), hasMetadataGroup: false)
    }

    func scrapeMetrics() async -> String { "" }
    func exitTime(node: String) -> NIODeadline? { nil }

    func clock(_ nodes: [String], _ clock: NodeClock) async throws {
        throw LiveError.badInput("clock faults run against the Faultline broker's nodes only")
    }
}

/// The Faultline broker cluster started by `ClusterLauncher`.
final class BrokerEnvironment: LiveEnvironment, @unchecked Sendable {
    let launcher: ClusterLauncher
    let ack: Wire.AckLevel
    /// The nats-server the streams ingest from (`live.nats`).
    let nats: NATSServerCluster?
    /// Producers publish through `nats` instead of the broker's client protocol.
    let publishThroughNATS: Bool
    let scenario: Scenario
    /// The peer links' fault layer, when the run injects network faults; it runs on its own
    /// thread so that the load driver's loops do not delay the frames it forwards.
    let proxy: FaultProxy?
    private let proxyGroup: MultiThreadedEventLoopGroup?
    /// The cluster was started earlier (`faultline cluster up`) and outlives this run: `stop`
    /// leaves its processes running.
    let attached: Bool

    init(launcher: ClusterLauncher, ack: Wire.AckLevel, nats: NATSServerCluster?, publishThroughNATS: Bool, scenario: Scenario,
         proxy: FaultProxy?, proxyGroup: MultiThreadedEventLoopGroup?, attached: Bool = false) {
        self.attached = attached
        self.proxy = proxy
        self.proxyGroup = proxyGroup
        self.launcher = launcher
        self.ack = ack
        self.nats = nats
        self.publishThroughNATS = publishThroughNATS
        self.scenario = scenario
    }

    static func start(scenario: Scenario, folder: String, executable: String, loop: EventLoop, nats: Bool,
                      publishThroughNATS: Bool = false, networkFaults: Bool = false, failpoints: FailpointConfig? = nil,
                      faketime: String? = nil, seed: UInt64 = 0,
                      log: @escaping @Sendable (String) -> Void) async throws -> BrokerEnvironment {
        var natsCluster: NATSServerCluster?
        var proxyGroup: MultiThreadedEventLoopGroup?
        var proxy: FaultProxy?
        if networkFaults {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            proxyGroup = group
            proxy = FaultProxy(nodeCount: scenario.cluster.nodes.count, seed: seed, loop: group.next())
        }
        if nats {
            log("nats-server: \(NATSServerCluster.describe())")
            do {
                natsCluster = try await NATSServerCluster.start(directory: URL(fileURLWithPath: folder + "/nats"), group: loop)
            } catch {
                throw LiveError.failed("cannot start nats-server (\(NATSServerCluster.defaultExecutable)): \(error)")
            }
        }
        do {
            let launcher = try await ClusterLauncher.up(scenario: scenario, folder: folder, executable: executable, eventLoop: loop,
                                                        natsURL: natsCluster.map { "127.0.0.1:\($0.clientPorts[0])" }, proxy: proxy,
                                                        failpoints: failpoints, faketime: faketime, log: log)
            if proxy != nil { log("peer links run through the fault proxy (\(scenario.cluster.nodes.count * (scenario.cluster.nodes.count - 1)) directed links)") }
            if let natsCluster {
                launcher.setNATS(ClusterState.NATSState(pids: natsCluster.pids, clientPorts: natsCluster.clientPorts,
                                                        logs: natsCluster.nodes.map(\.logFile.path)))
            }
            let ack: Wire.AckLevel = switch scenario.broker!.ackPolicy {
            case .none: .none
            case .leader: .leader
            case .all: .all
            }
            return BrokerEnvironment(launcher: launcher, ack: ack, nats: natsCluster, publishThroughNATS: publishThroughNATS,
                                     scenario: scenario, proxy: proxy, proxyGroup: proxyGroup)
        } catch {
            natsCluster?.stop()
            await proxy?.close()
            try? await proxyGroup?.shutdownGracefully()
            throw error
        }
    }

    /// A cluster `faultline cluster up` started earlier (its folder or its cluster.json): the run
    /// drives load and faults against it and leaves it running. Refuses, up front, a scenario
    /// whose nodes or streams the cluster lacks and faults it cannot carry out there.
    static func attach(cluster path: String, scenario: Scenario, executable: String, loop: EventLoop) throws -> BrokerEnvironment {
        let folder = path.hasSuffix(".json") ? URL(fileURLWithPath: path).deletingLastPathComponent().path : path
        let launcher: ClusterLauncher
        do {
            launcher = try ClusterLauncher.attach(folder: folder, executable: executable, eventLoop: loop)
        } catch {
            throw LiveError.badInput("--cluster \(path): no cluster.json to attach to (\(error)); start one with `faultline cluster up`")
        }
        try LiveFaults.validateAttached(scenario, state: launcher.state, clusterPath: path)
        let ack: Wire.AckLevel = switch scenario.broker!.ackPolicy {
        case .none: .none
        case .leader: .leader
        case .all: .all
        }
        return BrokerEnvironment(launcher: launcher, ack: ack, nats: nil, publishThroughNATS: false, scenario: scenario,
                                 proxy: nil, proxyGroup: nil, attached: true)
    }

    var nodeNames: [String] { launcher.state.nodes.map(\.name) }

    func transport(stream: String, producer: UInt32, loop: EventLoop) async throws -> PublishTransport {
        if publishThroughNATS, let nats {
            let definition = launcher.state.streams.first { $0.name == stream }
            guard let subject = definition?.subject, !subject.isEmpty else {
                throw LiveError.badInput("stream \(stream) has no NATS subject to publish on")
            }
            return NATSIngestTransport(eventLoop: loop, launcher: launcher, natsPort: nats.clientPorts[0], stream: stream,
                                       subject: subject, producer: producer,
                                       timeout: scenario.publishes.first { $0.stream == stream }?.timeout ?? 2_000_000_000)
        }
        return BrokerTransport(eventLoop: loop, launcher: launcher, stream: stream, producerID: UInt64(producer), ack: ack)
    }

    func readBack(stream: String) async throws -> [ReadBackEntry] {
        try await BrokerReadBack.read(stream: stream, launcher: launcher, eventLoop: launcher.eventLoop)
    }

    // The majority's view (`freshestMetadata`): an isolated or paused node's answer may be stale.
    func leader(of stream: String) async -> String? {
        await launcher.freshestMetadata()?.stream(stream)?.leader
    }

    func replicas(of stream: String) async -> [String] {
        await launcher.freshestMetadata()?.stream(stream)?.replicas ?? []
    }

    func metadataLeader() async -> String? {
        await launcher.freshestMetadata()?.metadataLeader
    }

    func leaders(of streams: [String]) async -> (streams: [String: String], metadata: String?) {
        guard let meta = await launcher.freshestMetadata() else { return ([:], nil) }
        var leaders: [String: String] = [:]
        for stream in streams { leaders[stream] = meta.stream(stream)?.leader }
        return (leaders, meta.metadataLeader)
    }

    func view(of streams: [String]) async -> ClusterMetadataView? {
        guard let meta = await launcher.freshestMetadata() else { return nil }
        var result: [String: ClusterMetadataView.Stream] = [:]
        for stream in streams {
            let s = meta.stream(stream)
            result[stream] = .init(leader: s?.leader, replicas: s?.replicas ?? [], inSyncReplicas: s?.inSyncReplicas ?? [])
        }
        return ClusterMetadataView(streams: result, metadataLeader: meta.metadataLeader, hasMetadataGroup: true)
    }

    func scrapeMetrics() async -> String {
        // All nodes at once; a paused node does not answer: one second is plenty on loopback.
        let ports = launcher.state.nodes.indices.filter { launcher.isRunning(node: $0) }.map { launcher.state.nodes[$0].metricsPort }
        let loop = launcher.eventLoop
        let bodies = await withTaskGroup(of: (Int, String).self) { group in
            for (i, port) in ports.enumerated() {
                group.addTask {
                    let answer = try? await AdminRequest.send(method: "GET", port: port, path: "/metrics", body: [], on: loop, timeout: .seconds(1))
                    return (i, answer?.status == 200 ? answer!.body : "")
                }
            }
            var result = Array(repeating: "", count: ports.count)
            for await (i, body) in group { result[i] = body }
            return result
        }
        return bodies.joined(separator: "\n")
    }

    func isRunning(node: String) -> Bool {
        launcher.index(of: node).map { launcher.isRunning(node: $0) } ?? false
    }

    func exitTime(node: String) -> NIODeadline? {
        launcher.index(of: node).flatMap { launcher.exitTime(node: $0) }
    }

    func crash(node: String) async throws {
        if let i = launcher.index(of: node) { launcher.crash(node: i) }
    }

    func restart(node: String) async throws {
        guard let i = launcher.index(of: node), !launcher.isRunning(node: i) else { return }
        try launcher.start(node: i)
    }

    func pause(node: String) { launcher.index(of: node).map { launcher.pause(node: $0) } }
    func resume(node: String) { launcher.index(of: node).map { launcher.resume(node: $0) } }

    /// Waits until every running replica of every stream is in its ISR (per the metadata);
    /// returns how long that took and, at the timeout, which replicas are still out.
    func waitForCompleteISR(timeout: Double) async -> (waited: Int64, missing: [String]) {
        let start = NIODeadline.now()
        let deadline = start + .nanoseconds(Int64(timeout * 1e9))
        var missing: [String] = []
        repeat {
            missing = []
            if let meta = await launcher.freshestMetadata() {
                for stream in launcher.state.streams.map(\.name) {
                    guard let s = meta.stream(stream) else { missing.append("\(stream): not in the metadata"); continue }
                    let out = s.replicas.filter { isRunning(node: $0) && !s.inSyncReplicas.contains($0) }
                    if !out.isEmpty { missing.append("\(stream): \(out.joined(separator: ", ")) not in the ISR [\(s.inSyncReplicas.joined(separator: ", "))]") }
                }
            } else {
                missing = ["no node answered the metadata request"]
            }
            if missing.isEmpty { break }
            try? await Task.sleep(nanoseconds: 50_000_000)
        } while NIODeadline.now() < deadline
        return (Int64(NIODeadline.now().uptimeNanoseconds) - Int64(start.uptimeNanoseconds), missing)
    }

    func network(_ operation: ClusterOperation) async throws {
        guard let proxy else { throw LiveError.failed("this run has no fault proxy for \(operation)") }
        _ = await proxy.apply(operation)
    }

    func networkStats() async -> NetworkStats? { await proxy?.stats() }

    func clock(_ nodes: [String], _ clock: NodeClock) async throws {
        guard launcher.faketime != nil else { throw LiveError.failed("the nodes were not started under clock control") }
        for name in nodes {
            guard let i = launcher.index(of: name) else { continue }
            try clock.write(to: launcher.clockFile(node: i))
        }
    }

    func disk(_ nodes: [String], _ settings: StorageFailpoints.Settings) async throws {
        let body = Array(try JSONEncoder().encode(settings))
        for name in nodes {
            guard let i = launcher.index(of: name), launcher.isRunning(node: i) else { continue }
            let port = launcher.state.nodes[i].metricsPort
            let answer = try await AdminRequest.send(method: "PUT", port: port, path: "/failpoints/fsync", body: body, on: launcher.eventLoop)
            guard answer.status == 200 else {
                throw LiveError.failed("node \(name) refused its failpoints (HTTP \(answer.status)): \(answer.body)")
            }
        }
    }

    func residentBytes() -> [String: Int] {
        var result: [String: Int] = [:]
        for (i, node) in launcher.state.nodes.enumerated() {
            if let bytes = launcher.residentBytes(node: i) { result[node.name] = bytes }
        }
        return result
    }

    func stop() async {
        // An attached cluster is the user's: it keeps running (nodes this run restarted too).
        if attached { return }
        launcher.down()
        nats?.stop()
        await proxy?.close()
        try? await proxyGroup?.shutdownGracefully()
    }
}
