import Foundation
import LiveClient
import Clients
import LoadCore
import LiveNATS
import NIOCore
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
    func isRunning(node: String) -> Bool
    func crash(node: String) async throws
    func restart(node: String) async throws
    func pause(node: String)
    func resume(node: String)
    /// Resident memory of each running node.
    func residentBytes() -> [String: Int]
    func stop() async
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

    init(launcher: ClusterLauncher, ack: Wire.AckLevel, nats: NATSServerCluster?, publishThroughNATS: Bool, scenario: Scenario) {
        self.launcher = launcher
        self.ack = ack
        self.nats = nats
        self.publishThroughNATS = publishThroughNATS
        self.scenario = scenario
    }

    static func start(scenario: Scenario, folder: String, executable: String, loop: EventLoop, nats: Bool,
                      publishThroughNATS: Bool = false, log: @escaping @Sendable (String) -> Void) async throws -> BrokerEnvironment {
        var natsCluster: NATSServerCluster?
        if nats {
            do {
                natsCluster = try await NATSServerCluster.start(directory: URL(fileURLWithPath: folder + "/nats"), group: loop)
            } catch {
                throw LiveError.failed("cannot start nats-server (\(NATSServerCluster.defaultExecutable)): \(error)")
            }
        }
        do {
            let launcher = try await ClusterLauncher.up(scenario: scenario, folder: folder, executable: executable, eventLoop: loop,
                                                        natsURL: natsCluster.map { "127.0.0.1:\($0.clientPorts[0])" }, log: log)
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
                                     scenario: scenario)
        } catch {
            natsCluster?.stop()
            throw error
        }
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

    func leader(of stream: String) async -> String? {
        try? await launcher.metadata().stream(stream)?.leader
    }

    func replicas(of stream: String) async -> [String] {
        (try? await launcher.metadata().stream(stream)?.replicas) ?? []
    }

    func metadataLeader() async -> String? {
        try? await launcher.metadata().metadataLeader
    }

    func isRunning(node: String) -> Bool {
        launcher.index(of: node).map { launcher.isRunning(node: $0) } ?? false
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

    func residentBytes() -> [String: Int] {
        var result: [String: Int] = [:]
        for (i, node) in launcher.state.nodes.enumerated() {
            if let bytes = launcher.residentBytes(node: i) { result[node.name] = bytes }
        }
        return result
    }

    func stop() async {
        launcher.down()
        nats?.stop()
    }
}
