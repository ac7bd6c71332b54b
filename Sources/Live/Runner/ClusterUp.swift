import Foundation
import NIOCore
import Scenario

/// `faultline cluster up|status`: start a scenario's cluster and describe a running one.
public enum ClusterUp {
    public static func start(scenario: Scenario, folder: String, executable: String, loop: EventLoop, nats: Bool,
                             log: @escaping @Sendable (String) -> Void) async throws -> ClusterLauncher {
        let environment = try await BrokerEnvironment.start(scenario: scenario, folder: folder, executable: executable, loop: loop,
                                                            nats: nats, log: log)
        // The nats-server outlives this command; `cluster down` stops it by its recorded pid.
        environment.nats?.detach()
        return environment.launcher
    }

    /// Processes (running or not), the metadata leader, and each stream's leader, ISR and HW.
    public static func status(_ launcher: ClusterLauncher) async throws -> String {
        var lines = ["| node | pid | running | client port | metrics | RSS MB |", "|---|---|---|---|---|---|"]
        for (i, node) in launcher.state.nodes.enumerated() {
            let running = launcher.isRunning(node: i)
            let rss = launcher.residentBytes(node: i).map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "–"
            lines.append("| \(node.name) | \(node.pid.map(String.init) ?? "–") | \(running ? "yes" : "no") | \(node.address.clientPort) | http://127.0.0.1:\(node.metricsPort)/metrics | \(rss) |")
        }
        if let nats = launcher.state.nats {
            lines.append("")
            lines.append("nats-server: pids \(nats.pids.map(String.init).joined(separator: ", ")), client ports \(nats.clientPorts.map(String.init).joined(separator: ", "))")
        }
        lines.append("")
        do {
            let meta = try await launcher.metadata()
            lines.append("metadata leader: \(meta.metadataLeader ?? "none")")
            lines.append("")
            lines.append("| stream | leader | epoch | replicas | in sync | high-water mark |")
            lines.append("|---|---|---|---|---|---|")
            for var s in meta.streams {
                // Only the leader knows the high-water mark: ask it.
                if let leader = s.leader, let client = try? await launcher.client(for: leader) {
                    if let hw = try? await client.metadata(streams: [s.name]).stream(s.name)?.highWatermark { s.highWatermark = hw }
                    client.close()
                }
                lines.append("| \(s.name) | \(s.leader ?? "none") | \(s.leaderEpoch) | \(s.replicas.joined(separator: ", ")) | \(s.inSyncReplicas.joined(separator: ", ")) | \(s.highWatermark) |")
            }
        } catch {
            lines.append("no node answered: \(error)")
        }
        return lines.joined(separator: "\n")
    }
}
