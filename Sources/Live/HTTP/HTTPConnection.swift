import HTTPWire
import NIOCore
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

/// One HTTP/1.1 connection: the channel's only handler, reading and writing bytes. Requests
/// are encoded by `HTTPRequestEncoding` (the last one's bytes are kept and written again while
/// the same request is sent, as a load run does), responses framed by `HTTPResponseParser` in
/// the bytes as read and handed on as views of them: no per-request encoding, header strings,
/// or body copies. It makes no decisions about reuse, retries or timeouts — its owner does —
/// and supports pipelining (any number of requests written ahead; the owner keeps them in
/// order and matches replies to them).
///
/// Confined to `eventLoop`: create, send and close there.
final class HTTPConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

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
    /// False after a response that ends the connection (`Connection: close`, HTTP/1.0 without
    /// keep-alive, a body read until close): nothing more may be sent.
    private(set) var keepAlive = true

    /// The last request sent and its bytes.
    private var lastRequest: HTTPRequestSpec?
    private var lastEncoded: ByteBuffer?
    /// Whether each unanswered request is a `HEAD` (its response has no body); empty while
    /// none is, which is the usual case.
    private var heads = CircularBuffer<Bool>()
    private var headsSent = 0
    private var parser = HTTPResponseParser()
    /// Received bytes of the response being read, from its first byte; `nil` between responses.
    private var pending: ByteBuffer?
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
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: host, port: port)
            .flatMapErrorThrowing { error in throw HTTPClientError.connectFailed("\(host):\(port): \(error)") }
            .map { _ in connection }
    }

    // MARK: - Sending

    /// Writes `request`; flushes only if `flush` (owners batch flushes per tick or per read
    /// burst). Returns false, writing nothing, if the connection can no longer send. A request
    /// HTTP cannot carry (see `HTTPRequestEncoding.encode`) is not written: the connection
    /// closes and it fails with `.connectionClosed`, as the requests behind it do.
    @discardableResult
    func send(_ request: HTTPRequestSpec, flush: Bool) -> Bool {
        guard canSend, let context else { return false }
        unanswered += 1
        let isHead = request.method == "HEAD"
        if isHead || headsSent > 0 {
            // Tracked from the first HEAD on (earlier requests cannot be HEADs).
            if heads.isEmpty { heads.append(contentsOf: repeatElement(false, count: unanswered - 1)) }
            heads.append(isHead)
            if isHead { headsSent += 1 }
        }
        if lastEncoded == nil || !(lastRequest.map { $0.sameWire(as: request) } ?? false) {
            guard let bytes = HTTPRequestEncoding.encode(method: request.method, target: request.target, headers: request.headers,
                                                         body: request.body, host: hostHeader) else {
                close()
                return true
            }
            lastRequest = request
            lastEncoded = context.channel.allocator.buffer(bytes: bytes)
        }
        context.write(wrapOutboundOut(lastEncoded!), promise: nil)
        if flush { context.flush() }
        return true
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
        guard isOpen else { return }
        var buffer = unwrapInboundIn(data)
        if pending == nil {
            pending = buffer
        } else {
            pending!.writeBuffer(&buffer)
        }
        parseResponses()
    }

    /// Hands on every complete response in `pending`.
    private func parseResponses() {
        while isOpen, let bytes = pending, bytes.readableBytes > 0 {
            let headRequest = heads.first ?? false
            let step = bytes.withUnsafeReadableBytes { parser.parse($0, headRequest: headRequest) }
            switch step {
            case .needMore:
                return
            case .interim(let length):
                pending!.moveReaderIndex(forwardBy: length)
            case .response(let response):
                pending!.moveReaderIndex(forwardBy: response.length)
                deliver(response, from: bytes)
            case .failed:
                return fail(.malformedResponse)
            }
        }
        // Between responses: let go of the read buffer, so that the channel can reuse it.
        if pending?.readableBytes == 0 { pending = nil }
    }

    private func deliver(_ response: HTTPResponseParser.Response, from bytes: ByteBuffer) {
        guard unanswered > 0 else { return fail(.malformedResponse) }
        unanswered -= 1
        answered += 1
        if !heads.isEmpty, heads.removeFirst() { headsSent -= 1 }
        if !response.keepAlive { keepAlive = false }
        let start = bytes.readerIndex
        let body: ByteBuffer
        switch response.body {
        case .contiguous(let range):
            body = bytes.getSlice(at: start + range.lowerBound, length: range.count)!
        case .chunks(let chunks):
            var joined = context?.channel.allocator.buffer(capacity: chunks.reduce(0) { $0 + $1.count }) ?? ByteBuffer()
            for chunk in chunks { joined.writeImmutableBuffer(bytes.getSlice(at: start + chunk.lowerBound, length: chunk.count)!) }
            body = joined
        }
        let headerLines = bytes.getSlice(at: start + response.headers.lowerBound, length: response.headers.count)!
        delegate?.connection(self, received: HTTPReply(status: response.status, headerLines: headerLines, body: body))
        // The server closes after this response; anything pipelined behind it is lost.
        if !keepAlive { close() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.connectionReadComplete(self)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.connectionClosed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body read until close ends here.
        if isOpen {
            let bytes = pending ?? ByteBuffer()
            switch bytes.withUnsafeReadableBytes({ parser.finish($0) }) {
            case .response(let response)?:
                pending = nil
                deliver(response, from: bytes)
            default:
                // Closed between responses, or in the middle of one (`.connectionClosed`).
                break
            }
        }
        isOpen = false
        pending = nil
        let pendingCount = unanswered
        unanswered = 0
        let owner = delegate
        delegate = nil
        owner?.connectionClosed(self, unanswered: pendingCount, error: closeReason)
        context.fireChannelInactive()
    }

    private func fail(_ error: HTTPClientError) {
        close(reason: error)
    }
}
