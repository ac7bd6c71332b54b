import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP/1.1 server on 127.0.0.1 for the LiveHTTP tests (the dev bench links this file
/// too, so it imports no XCTest):
///
/// - `GET /hello` → 200 `ok`, keep-alive
/// - `/slow?ms=N` → 200 `ok` after N ms
/// - `/close` → 200 `bye` with `Connection: close`, then closes
/// - `/status/N` → status N
/// - `/echo` → 200 `<method> <host header> <request body>`
///
/// It counts accepted connections, logs request targets in arrival order (unless `logging` is
/// off) and can stall: requests arriving in a window are answered only when it ends.
/// All state lives on the server's single event loop.
final class TestHTTPServer: @unchecked Sendable {
    let group: MultiThreadedEventLoopGroup
    var loop: any EventLoop { group.next() }
    private(set) var port = 0
    private var channel: (any Channel)?
    private let logging: Bool

    // On `loop`.
    fileprivate var accepted = 0
    fileprivate var log: [String] = []
    fileprivate var children: [ObjectIdentifier: any Channel] = [:]
    fileprivate var stallFrom: NIODeadline = .distantPast
    fileprivate var stallUntil: NIODeadline = .distantPast
    fileprivate var dropNextReusedRequest = false

    private init(logging: Bool) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.logging = logging
    }

    static func start(logging: Bool = true) async throws -> TestHTTPServer {
        let server = TestHTTPServer(logging: logging)
        let channel = try await listen(on: server.group) { child in
            server.accepted += 1
            let id = ObjectIdentifier(child)
            server.children[id] = child
            child.closeFuture.whenComplete { _ in server.children[id] = nil }
            try child.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true)
            try child.pipeline.syncOperations.addHandler(TestHTTPHandler(server: server))
        }
        server.channel = channel
        server.port = channel.localAddress?.port ?? 0
        return server
    }

    /// A listening socket on 127.0.0.1 (any free port) whose accepted connections `initialize`
    /// sets up, on the group's loop.
    static func listen(on group: any EventLoopGroup,
                       initialize: @escaping @Sendable (any Channel) throws -> Void) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in child.eventLoop.makeCompletedFuture { try initialize(child) } }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func acceptedConnections() async throws -> Int {
        try await loop.submit { self.accepted }.get()
    }

    func requestLog() async throws -> [String] {
        try await loop.submit { self.log }.get()
    }

    /// Requests arriving in `[from, until)` are answered at `until` at the earliest.
    func stall(from: NIODeadline, until: NIODeadline) async throws {
        try await loop.submit {
            self.stallFrom = from
            self.stallUntil = until
        }.get()
    }

    /// The next request that arrives on a connection which has answered before is not answered:
    /// the connection is closed instead — a server's idle timeout firing just as the client
    /// reuses the connection.
    func dropNextRequestOnAReusedConnection() async throws {
        try await loop.submit { self.dropNextReusedRequest = true }.get()
    }

    /// Closes every accepted connection (as a server's idle timeout would).
    func closeAllConnections() async throws {
        let closes = try await loop.submit { self.children.values.map { $0.close() } }.get()
        for close in closes { try? await close.get() }
    }

    func stop() async throws {
        try await closeAllConnections()
        try await channel?.close()
        try await group.shutdownGracefully()
    }

    fileprivate func record(_ target: String) {
        if logging { log.append(target) }
    }
}

private final class TestHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: TestHTTPServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var served = 0

    init(server: TestHTTPServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            body = []
        case .body(let part):
            body += part.readableBytesView
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        server.record(request.uri)
        if server.dropNextReusedRequest, served > 0 {
            server.dropNextReusedRequest = false
            context.close(promise: nil)
            return
        }
        served += 1
        let (path, query) = split(request.uri)
        var status = HTTPResponseStatus.ok
        var text = "ok"
        var delayMillis: Int64 = 0
        var close = !request.isKeepAlive
        if path == "/hello" {
        } else if path == "/slow" {
            delayMillis = Int64(parameter("ms", in: query) ?? 0)
        } else if path == "/close" {
            text = "bye"
            close = true
        } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
            status = HTTPResponseStatus(statusCode: code)
            text = "status \(code)"
        } else if path == "/echo" {
            text = "\(request.method.rawValue) \(request.headers.first(name: "host") ?? "-") \(String(decoding: body, as: UTF8.self))"
        } else {
            status = .notFound
            text = "not found"
        }
        var at = NIODeadline.now() + .milliseconds(delayMillis)
        let now = NIODeadline.now()
        if now >= server.stallFrom, now < server.stallUntil, at < server.stallUntil { at = server.stallUntil }

        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        if close { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: headers)
        let buffer = context.channel.allocator.buffer(string: text)
        let channel = context.channel
        let write = {
            context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if close {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            } else {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
        if at > now {
            let loopBound = NIOLoopBound(write, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(deadline: at) {
                guard channel.isActive else { return }
                loopBound.value()
            }
        } else {
            write()
        }
    }

    private func split(_ uri: String) -> (Substring, Substring) {
        guard let q = uri.firstIndex(of: "?") else { return (uri[...], "") }
        return (uri[..<q], uri[uri.index(after: q)...])
    }

    private func parameter(_ name: String, in query: Substring) -> Int? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}
