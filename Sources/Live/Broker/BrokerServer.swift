import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Starts a broker node: its storage and cores, then its client, peer and metrics listeners
/// on the node's event loop, then its timers.
public enum BrokerServer {
    public static func start(_ config: BrokerNodeConfig, loop: EventLoop, logger: Logger) async throws -> BrokerNode {
        let node = try await loop.submit { try BrokerNode(config: config, loop: loop, logger: logger) }.get()
        do {
            let me = config.me
            let client = try await listen(loop, me.host, me.clientPort) {
                [ConnectionTracker(node: node, isClient: true), ClientChannelHandler(node: node)]
            }
            let peer = try await listen(loop, me.host, me.peerPort) {
                [ConnectionTracker(node: node, isClient: false), PeerChannelHandler(node: node)]
            }
            var channels = [client, peer]
            if let metricsPort = config.metricsPort {
                channels.append(try await ServerBootstrap(group: loop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                            try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(node: node))
                        }
                    }
                    .bind(host: me.host, port: metricsPort).get())
            }
            try await loop.submit { [channels] in
                node.channels = channels
                if let url = config.natsURL { node.ingestion = NATSIngestion(node: node, url: url) }
                node.startTimers()
            }.get()
            logger.info("broker listening", metadata: [
                "node": "\(me.name)", "client_port": "\(me.clientPort)", "peer_port": "\(me.peerPort)",
                "metrics_port": "\(config.metricsPort.map(String.init) ?? "none")",
            ])
            return node
        } catch {
            try? await loop.submit { node.stop() }.get()
            throw error
        }
    }

    /// A TCP listener whose accepted connections get `handlers` (made fresh for each).
    private static func listen(_ loop: EventLoop, _ host: String, _ port: Int,
                               handlers: @escaping @Sendable () -> [ChannelHandler & Sendable]) async throws -> Channel {
        try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandlers(handlers()) }
            }
            .bind(host: host, port: port).get()
    }
}
