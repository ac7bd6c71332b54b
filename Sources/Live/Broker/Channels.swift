import NIOCore
import NIOPosix
import PeerWire
import Replication
import Wire

/// First in every accepted connection's pipeline: the node closes what it accepted when it
/// stops (a stopped node must not leave peers writing into a half-dead socket), and counts
/// client connections for /metrics.
final class ConnectionTracker: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let node: BrokerNode
    private let isClient: Bool

    init(node: BrokerNode, isClient: Bool) {
        self.node = node
        self.isClient = isClient
    }

    func channelActive(context: ChannelHandlerContext) {
        if isClient { node.metrics.clientConnections.increment() }
        node.accepted(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isClient { node.metrics.clientConnections.decrement() }
        node.closed(context.channel)
        context.fireChannelInactive()
    }
}

/// Decodes client frames on one connection and hands requests to the node. A malformed or
/// oversized frame closes this connection only: the node keeps serving everyone else.
final class ClientChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let node: BrokerNode
    private var decoder: FrameDecoder

    init(node: BrokerNode) {
        self.node = node
        decoder = FrameDecoder(limits: WireLimits(maxFrameSize: node.config.maxClientFrameBytes))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            let messages = try buffer.withUnsafeReadableBytes { try decoder.feed($0) }
            for message in messages { node.handleClient(message, on: context.channel) }
        } catch {
            node.metrics.malformedFrames.increment()
            node.logger.warning("closing client connection: malformed frame", metadata: ["error": "\(error)"])
            node.write(WireCodec.encode(.error(code: 400, message: "malformed frame: \(error)")), to: context.channel)
            context.channel.flush()
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Inbound peer connection: the first frame must be a `hello` from a member of this cluster;
/// after it, Raft, replication and forwarded proposals go to the node.
final class PeerChannelHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let node: BrokerNode
    private var decoder: PeerFrameDecoder
    private var peer: BrokerID?

    init(node: BrokerNode) {
        self.node = node
        decoder = PeerFrameDecoder(limits: WireLimits(maxFrameSize: node.config.maxPeerFrameBytes))
    }


    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            let messages = try buffer.withUnsafeReadableBytes { try decoder.feed($0) }
            for message in messages {
                guard peer != nil else {
                    guard case let .hello(from, clusterID, version) = message, clusterID == node.config.clusterID,
                          version == PeerCodec.protocolVersion, node.config.member(Int(from.rawValue)) != nil,
                          Int(from.rawValue) != node.config.id
                    else {
                        node.logger.warning("closing peer connection: bad hello", metadata: ["message": "\(message)"])
                        context.close(promise: nil)
                        return
                    }
                    peer = from
                    continue
                }
                node.receivePeer(message)
            }
        } catch {
            node.metrics.malformedFrames.increment()
            node.logger.warning("closing peer connection: malformed frame", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The outgoing connection to one peer. Messages to an unreachable peer are dropped: Raft and
/// replication retry on their own timers, exactly as over the simulator's lossy network.
final class PeerLink: @unchecked Sendable {
    let peer: BrokerAddress
    private unowned let node: BrokerNode
    private var channel: Channel?
    private var connecting = false
    private var lastAttempt: Int64 = -1_000_000_000_000
    private var closed = false
    /// Don't hammer a dead peer with connection attempts.
    private let retryNanos: Int64 = 100_000_000

    init(peer: BrokerAddress, node: BrokerNode) {
        self.peer = peer
        self.node = node
    }

    func send(_ frame: [UInt8]) {
        if let channel, channel.isActive {
            node.write(frame, to: channel)
            return
        }
        connect()
    }

    private func connect() {
        let t = node.now()
        guard !connecting, !closed, t - lastAttempt >= retryNanos else { return }
        connecting = true
        lastAttempt = t
        let hello = PeerCodec.encode(.hello(from: BrokerID(UInt32(node.config.id)), clusterID: node.config.clusterID,
                                            protocolVersion: PeerCodec.protocolVersion))
        ClientBootstrap(group: node.loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(500))
            .channelInitializer { channel in
                // We never read on this connection (the peer answers on its own link to us).
                channel.eventLoop.makeSucceededVoidFuture()
            }
            .connect(host: peer.host, port: peer.peerPort)
            .whenComplete { [self] result in
                connecting = false
                switch result {
                case .success(let channel):
                    if closed { channel.close(promise: nil); return }
                    self.channel = channel
                    node.write(hello, to: channel)
                    node.logger.debug("peer connected", metadata: ["peer": "\(peer.name)"])
                case .failure:
                    channel = nil
                }
            }
    }

    func close() {
        closed = true
        channel?.close(promise: nil)
        channel = nil
    }
}

extension BrokerNode {
    func sendPeer(_ to: Int, _ message: PeerMessage) {
        guard to != config.id, let address = config.member(to) else { return }
        let link: PeerLink
        if let existing = peers[to] {
            link = existing
        } else {
            link = PeerLink(peer: address, node: self)
            peers[to] = link
        }
        metrics.peerMessagesOut.increment()
        link.send(PeerCodec.encode(message))
    }

    func receivePeer(_ message: PeerMessage) {
        guard !isStopped else { return }
        metrics.peerMessagesIn.increment()
        switch message {
        case .hello:
            break
        case .raft(let m):
            guard m.to == config.id else { return }
            core.raft.step(m)
            drainRaft()
        case .replication(let m):
            if let stream = core.streamNames.firstIndex(of: m.stream) {
                replicaInput(stream, .receive(m))
            }
        case .proposal(let command):
            propose(command)
        }
    }
}
