import FaultPlan
import Foundation
import Links
import NIOCore
import NIOPosix
import Sampling
import Wire

/// The live network's fault layer. Each directed peer link of a broker cluster (node i dialling
/// node j) runs through its own listener here, which forwards node i's frames to node j's peer
/// port. Every frame's fate — dropped by a partition or by loss, delayed, duplicated — is decided
/// by the `NetworkModel` the simulator sends its messages through, changed by the same
/// cluster-control operations (`NetworkModel.apply`), with draws from the run's seed. The
/// proxy's default link is perfect: latency, loss and bandwidth of the real path stay the kernel's.
///
/// Why a proxy rather than nftables + netem: netem is missing from this kernel (no delay, jitter or
/// duplication below user space), and a dropped TCP segment only becomes retransmission delay,
/// whereas the simulator (and a lossy datagram network) loses whole messages. Peer links are
/// one-way connections — a node writes to a peer on its own connection and never reads from it;
/// the peer answers on its link back — so a frame-aware proxy sees exactly the simulator's
/// directed messages. Clients (the load driver) connect to the nodes directly, as the simulator's
/// scheduled link faults leave the load driver's links alone.
///
/// All state is confined to `loop`; the public methods hop onto it.
public final class FaultProxy: @unchecked Sendable {
    public let loop: EventLoop
    public let nodeCount: Int
    let host: String
    private var network: NetworkModel
    private let epoch = NIODeadline.now()
    private var listeners: [Channel] = []
    private var links: [ObjectIdentifier: Channel] = [:]
    /// Each directed link's proxied connections (both sides), by `from · (nodeCount + 1) + to`.
    private var linkChannels: [Int: [Channel]] = [:]
    /// Frames forwarded without a fault decision (each connection's hello).
    private(set) var handshakes = 0

    /// `nodeCount` nodes, ids `0..<nodeCount` as the fault plan numbers them; the network has
    /// one more node, the load driver, so that plans naming it stay in range.
    public init(nodeCount: Int, seed: UInt64, loop: EventLoop, host: String = "127.0.0.1") {
        self.loop = loop
        self.nodeCount = nodeCount
        self.host = host
        network = NetworkModel(nodeCount: nodeCount + 1, defaultLink: LinkConfig(),
                               rng: SeededGenerator(seed: seed).stream("live.network"))
    }

    /// Opens one listener per directed link. `routes[i][j]` is the port node i dials to reach
    /// node j (`routes[i][i]` is node i's own peer port: nodes never dial themselves).
    public func open(upstreamPeerPorts ports: [Int]) async throws -> [[Int]] {
        precondition(ports.count == nodeCount, "one upstream peer port per node")
        var routes = ports.indices.map { i in ports.indices.map { _ in ports[i] } }
        for from in ports.indices {
            for to in ports.indices where to != from {
                let upstream = ports[to]
                let channel = try await ServerBootstrap(group: loop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { [self] channel in
                        channel.pipeline.addHandler(ProxyLinkHandler(proxy: self, from: from, to: to, upstreamPort: upstream))
                    }
                    .bind(host: host, port: 0).get()
                listeners.append(channel)
                routes[from][to] = channel.localAddress?.port ?? 0
            }
        }
        return routes
    }

    /// Carries out a network operation of the fault plan (false: not a network operation).
    public func apply(_ operation: ClusterOperation) async -> Bool {
        (try? await loop.submit {
            guard case .reset(let pairs) = operation else { return self.network.apply(operation, now: self.nanosSinceOpen) }
            // The nodes redial for real: the model only loses what the proxy held in flight.
            for pair in pairs { self.network.reset(from: pair.from, to: pair.to, at: self.nanosSinceOpen, redial: false) }
            self.resetConnections(pairs)
            return true
        }.get()) ?? false
    }

    /// A reset: the links' proxied connections close with a TCP RST (SO_LINGER 0) on both
    /// sides, so frames held for later go nowhere, as the model's in-flight messages are lost;
    /// the dialling node redials and the link comes back.
    private func resetConnections(_ pairs: [LinkPair]) {
        for pair in pairs {
            for channel in linkChannels[pair.from * (nodeCount + 1) + pair.to, default: []] {
                let close = { channel.close(promise: nil) }
                if let socket = channel as? SocketOptionProvider {
                    socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in close() }
                } else {
                    close()
                }
            }
        }
    }

    /// What the proxy did to the frames it saw so far.
    public func stats() async -> NetworkStats {
        (try? await loop.submit { self.network.stats }.get()) ?? NetworkStats()
    }

    /// Closes every listener and every proxied connection.
    public func close() async {
        let channels: [Channel] = (try? await loop.submit { self.listeners + Array(self.links.values) }.get()) ?? []
        for channel in channels { try? await channel.close() }
    }

    // MARK: - On the loop

    var nanosSinceOpen: Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(epoch.uptimeNanoseconds) }

    func decide(from: Int, to: Int, bytes: Int) -> Transmission {
        network.transmit(from: from, to: to, bytes: bytes, now: nanosSinceOpen)
    }

    /// A frame that was in flight when a partition began (or its link was reset) is dropped on
    /// arrival, as in the simulator.
    func admit(from: Int, to: Int, sentAt: VirtualTime) -> Bool { network.admitArrival(from: from, to: to, sentAt: sentAt) }

    func deadline(_ arrival: VirtualTime) -> NIODeadline { epoch + .nanoseconds(arrival) }

    func track(_ channel: Channel, from: Int, to: Int) {
        let key = from * (nodeCount + 1) + to
        links[ObjectIdentifier(channel)] = channel
        linkChannels[key, default: []].append(channel)
        channel.closeFuture.whenComplete { [self] _ in
            links[ObjectIdentifier(channel)] = nil
            linkChannels[key]?.removeAll { $0 === channel }
        }
    }

    func countHandshake() { handshakes += 1 }
}

/// One proxied connection of link `from → to`: frames from node `from` are split (the peer
/// framing: a 4-byte big-endian length, then the body), each is decided by the proxy's network
/// model and written to node `to`'s peer port now, later, twice or never. A malformed stream
/// closes both sides, as the node itself would.
final class ProxyLinkHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let proxy: FaultProxy
    private let from: Int
    private let to: Int
    private let upstreamPort: Int
    private var splitter = FrameSplitter(limits: WireLimits(maxFrameSize: 1 << 30))
    private var upstream: Channel?
    /// Frames due before the upstream connection is up, in order.
    private var waiting: [ByteBuffer] = []
    private var sawHello = false
    private var closed = false

    init(proxy: FaultProxy, from: Int, to: Int, upstreamPort: Int) {
        self.proxy = proxy
        self.from = from
        self.to = to
        self.upstreamPort = upstreamPort
    }

    func channelActive(context: ChannelHandlerContext) {
        let downstream = context.channel
        proxy.track(downstream, from: from, to: to)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(500))
            .channelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .connect(host: proxy.host, port: upstreamPort)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !closed else { channel.close(promise: nil); return }
                    proxy.track(channel, from: from, to: to)
                    upstream = channel
                    // The peer went away (crashed, restarted): so does this link; the node redials.
                    channel.closeFuture.whenComplete { _ in downstream.close(promise: nil) }
                    for frame in waiting { channel.write(frame, promise: nil) }
                    waiting = []
                    channel.flush()
                case .failure:
                    downstream.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let bodies: [ArraySlice<UInt8>]
        do {
            bodies = try buffer.withUnsafeReadableBytes { bytes throws(WireError) in
                try splitter.feed(bytes) { (body: ArraySlice<UInt8>) throws(WireError) in body }
            }
        } catch {
            context.close(promise: nil)
            return
        }
        var wroteNow = false
        for body in bodies {
            var frame = context.channel.allocator.buffer(capacity: 4 + body.count)
            frame.writeInteger(UInt32(body.count))
            frame.writeBytes(body)
            // The hello opens the link; it is connection setup, not a message of the protocols.
            guard sawHello else {
                sawHello = true
                proxy.countHandshake()
                wroteNow = forward(frame) || wroteNow
                continue
            }
            let sentAt = proxy.nanosSinceOpen
            let fate = proxy.decide(from: from, to: to, bytes: body.count)
            for arrival in [fate.first, fate.second].compactMap({ $0 }) {
                if arrival <= proxy.nanosSinceOpen {
                    wroteNow = forward(frame) || wroteNow
                } else {
                    context.eventLoop.scheduleTask(deadline: proxy.deadline(arrival)) { [self] in
                        guard proxy.admit(from: from, to: to, sentAt: sentAt), forward(frame) else { return }
                        upstream?.flush()
                    }
                }
            }
        }
        if wroteNow { upstream?.flush() }
    }

    /// Writes (without flushing) or queues one frame; false when it went nowhere.
    private func forward(_ frame: ByteBuffer) -> Bool {
        guard !closed else { return false }
        guard let upstream else {
            waiting.append(frame)
            return false
        }
        upstream.write(frame, promise: nil)
        return true
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
