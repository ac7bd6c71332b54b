import NATSProtocol
import NIOCore

/// Bytes → `ServerOp`, with the sans-IO parser. A parse error is fatal for the connection: the
/// text protocol has no point to resynchronise at.
final class ServerOpDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ServerOp

    private var parser: ServerOpParser

    init(maxPayload: Int) {
        parser = ServerOpParser(maxPayload: maxPayload)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let ops: [ServerOp]
        do {
            ops = try parser.feed(buffer.readableBytesView)
        } catch {
            context.fireErrorCaught(NATSError.protocolViolation(error))
            return
        }
        for op in ops { context.fireChannelRead(wrapInboundOut(op)) }
    }
}

/// Hands decoded ops and the channel's lifecycle to the `NATSConnection` that drives the session.
/// No protocol decisions here.
final class ConnectionBridge: ChannelInboundHandler {
    typealias InboundIn = ServerOp

    private let connection: NATSConnection

    init(connection: NATSConnection) {
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.channelActive(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connection.failed(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.channelInactive()
        context.fireChannelInactive()
    }
}
