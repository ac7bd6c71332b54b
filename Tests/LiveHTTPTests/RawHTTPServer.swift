import NIOCore
import NIOPosix

/// A server on 127.0.0.1 that answers each request (whatever it asks, counted by its blank line)
/// with bytes a test scripts, written in pieces `pause` apart so that the client reads them
/// separately — responses split across reads, chunked bodies, garbage. `reply(n)` gives the
/// pieces for the `n`th request over all connections (from 0); an empty list closes the
/// connection instead of answering.
final class RawHTTPServer: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var port = 0
    private var channel: (any Channel)?
    fileprivate let reply: @Sendable (Int) -> [[UInt8]]
    fileprivate let pause: TimeAmount
    /// On the server's loop.
    fileprivate var requests = 0
    fileprivate var accepted = 0

    private init(pause: TimeAmount, reply: @escaping @Sendable (Int) -> [[UInt8]]) {
        self.pause = pause
        self.reply = reply
    }

    static func start(pause: TimeAmount = .milliseconds(5), reply: @escaping @Sendable (Int) -> [[UInt8]]) async throws -> RawHTTPServer {
        let server = RawHTTPServer(pause: pause, reply: reply)
        let channel = try await TestHTTPServer.listen(on: server.group) { child in
            server.accepted += 1
            try child.pipeline.syncOperations.addHandler(RawHTTPHandler(server: server))
        }
        server.channel = channel
        server.port = channel.localAddress?.port ?? 0
        return server
    }

    func acceptedConnections() async throws -> Int {
        try await group.next().submit { self.accepted }.get()
    }

    func stop() async throws {
        try await channel?.close()
        try await group.shutdownGracefully()
    }
}

private final class RawHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: RawHTTPServer
    private var tail: [UInt8] = []
    /// Pieces still to write, in order, over every request answered on this connection.
    private var queue: [[UInt8]] = []
    private var writing = false

    init(server: RawHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        tail += unwrapInboundIn(data).readableBytesView
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while let at = tail.indices.dropLast(3).first(where: { Array(tail[$0..<$0 + 4]) == end }) {
            tail.removeFirst(at + 4)
            let pieces = server.reply(server.requests)
            server.requests += 1
            // An empty list: close once what is queued before it has gone out.
            queue += pieces.isEmpty ? [[]] : pieces
        }
        writeNext(context: context)
    }

    private func writeNext(context: ChannelHandlerContext) {
        guard !writing, !queue.isEmpty else { return }
        let piece = queue.removeFirst()
        if piece.isEmpty {
            context.close(promise: nil)
            return
        }
        writing = true
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: piece)), promise: nil)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: server.pause) {
            let (handler, context) = loopBound.value
            handler.writing = false
            guard context.channel.isActive else { return }
            handler.writeNext(context: context)
        }
    }
}
