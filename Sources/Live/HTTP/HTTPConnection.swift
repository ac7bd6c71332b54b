import NIOCore
import NIOHTTP1
import NIOPosix

/// What a connection tells its owner (the pool's slot, or a load driver's connection). Every
/// call happens on the connection's event loop.
protocol HTTPConnectionDelegate: AnyObject {
    /// The response to the oldest unanswered request (HTTP/1.1 answers in request order).
    func connection(_ connection: HTTPConnection, received reply: HTTPReply)
    /// The end of one read burst: the moment to flush requests written in reaction to it, so a
    /// burst of responses costs one `writev`, not one per response.
    func connectionReadComplete(_ connection: HTTPConnection)
    /// Once, when the channel has closed; `unanswered` requests written on it got no response.
    func connectionClosed(_ connection: HTTPConnection, unanswered: Int, error: HTTPClientError)
}

/// One HTTP/1.1 connection: NIO's request encoder and response decoder, and this handler,
/// which turns head/body/end parts into whole `HTTPReply`s. It makes no decisions about
/// reuse, retries or timeouts — its owner does — and supports pipelining (any number of
/// requests written ahead; the owner keeps them in order and matches replies to them).
///
/// Confined to `eventLoop`: create, send and close there.
final class HTTPConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let eventLoop: any EventLoop
    /// `Host` header value, built once per connection rather than once per request.
    private let hostHeader: String
    private var context: ChannelHandlerContext?
    /// Cleared when the channel closes, which breaks the delegate ↔ connection cycle.
    var delegate: (any HTTPConnectionDelegate)?

    /// Requests written and not yet answered.
    private(set) var unanswered = 0
    /// Responses received so far: a connection that has answered before is a *reused* one,
    /// the only kind that can meet the server's idle close (see `HTTPRequestSpec.isIdempotent`).
    private(set) var answered = 0
    /// False once closing has begun (by either side); nothing more can be sent.
    private(set) var isOpen = true
    /// False after a response that ends the connection (`Connection: close`, or HTTP/1.0
    /// without keep-alive): the server closes after it, so nothing more may be sent.
    private(set) var keepAlive = true

    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    /// What unanswered requests are failed with when the channel goes inactive.
    private var closeReason: HTTPClientError = .connectionClosed

    private init(eventLoop: any EventLoop, hostHeader: String) {
        self.eventLoop = eventLoop
        self.hostHeader = hostHeader
    }

    var canSend: Bool { isOpen && keepAlive && context != nil }

    /// Opens a TCP connection on `eventLoop` (TCP_NODELAY: requests are small and latency is
    /// what is measured). Fails with `.connectFailed`.
    static func connect(host: String, port: Int, on eventLoop: any EventLoop,
                        connectTimeout: TimeAmount) -> EventLoopFuture<HTTPConnection> {
        let connection = HTTPConnection(eventLoop: eventLoop, hostHeader: port == 80 ? host : "\(host):\(port)")
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: host, port: port)
            .flatMapErrorThrowing { error in throw HTTPClientError.connectFailed("\(host):\(port): \(error)") }
            .map { _ in connection }
    }

    // MARK: - Sending

    /// Writes `request`; flushes only if `flush` (owners batch flushes per tick or per read
    /// burst). Returns false, writing nothing, if the connection can no longer send.
    @discardableResult
    func send(_ request: HTTPRequestSpec, flush: Bool) -> Bool {
        guard canSend, let context else { return false }
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 2)
        var hasHost = false
        var hasLength = false
        for (name, value) in request.headers {
            if !hasHost, HTTPReply.equalsIgnoringASCIICase(name, "host") { hasHost = true }
            if !hasLength, HTTPReply.equalsIgnoringASCIICase(name, "content-length") { hasLength = true }
            headers.add(name: name, value: value)
        }
        if !hasHost { headers.add(name: "Host", value: hostHeader) }
        let method = HTTPMethod(rawValue: request.method)
        // Without Content-Length NIO's encoder would frame a POST body as chunked; an empty
        // GET gets none (RFC 9110 §8.6: a user agent should not send it without content).
        if !hasLength, !request.body.isEmpty || Self.expectsBody(method) {
            headers.add(name: "Content-Length", value: String(request.body.count))
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: request.target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !request.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: request.body)))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        if flush { context.flush() }
        unanswered += 1
        return true
    }

    private static func expectsBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: return true
        default: return false
        }
    }

    func flush() {
        context?.flush()
    }

    /// Closes the channel; unanswered requests are reported to the delegate (if still set)
    /// with `reason`. Owners that have already accounted for them clear `delegate` first.
    /// `closed`, if given, completes once the channel has closed.
    func close(reason: HTTPClientError = .connectionClosed, closed: EventLoopPromise<Void>? = nil) {
        if let closed {
            if let context { context.channel.closeFuture.cascade(to: closed) } else { closed.succeed() }
        }
        guard isOpen else { return }
        isOpen = false
        closeReason = reason
        context?.close(promise: nil)
    }

    // MARK: - ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let responseHead = head else { return fail(.malformedResponse) }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let code = Int(responseHead.status.code)
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if code >= 100, code < 200, code != 101 { return }
            guard unanswered > 0 else { return fail(.malformedResponse) }
            unanswered -= 1
            answered += 1
            if !responseHead.isKeepAlive { keepAlive = false }
            let reply = HTTPReply(status: code, wireHeaders: responseHead.headers, body: bytes)
            delegate?.connection(self, received: reply)
            // The server closes after this response; anything pipelined behind it is lost.
            if !keepAlive { close() }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.connectionReadComplete(self)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error is HTTPParserError ? .malformedResponse : .connectionClosed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        let pending = unanswered
        unanswered = 0
        let owner = delegate
        delegate = nil
        owner?.connectionClosed(self, unanswered: pending, error: closeReason)
        context.fireChannelInactive()
    }

    private func fail(_ error: HTTPClientError) {
        close(reason: error)
    }
}
