import Foundation
import NIOCore
import NIOPosix

/// One HTTP/1.1 request to a node's admin endpoint on 127.0.0.1 (`Connection: close`), for the
/// failpoints and the hypothesis's scrapes: the status code and the body. Small on purpose: the
/// launcher needs nothing more.
enum AdminRequest {
    /// `timeout` bounds the whole exchange: a paused (SIGSTOPped) node's kernel still accepts
    /// the connection, but nobody answers.
    static func send(method: String, port: Int, path: String, body: [UInt8], on loop: EventLoop,
                     timeout: TimeAmount = .seconds(5)) async throws -> (status: Int, body: String) {
        let collector = ResponseCollector()
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(.seconds(2))
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: "127.0.0.1", port: port).get()
        var request = channel.allocator.buffer(capacity: 256 + body.count)
        request.writeString("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n")
        request.writeString("Content-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        request.writeBytes(body)
        let giveUp = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { giveUp.cancel() }
        try await channel.writeAndFlush(request)
        // The server closes after its answer.
        _ = try? await channel.closeFuture.get()
        let text = collector.text
        guard let statusLine = text.split(separator: "\r\n").first, let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw LiveError.failed("no HTTP answer from 127.0.0.1:\(port)\(path)") }
        let answer = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (code, answer)
    }

    private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var bytes: [UInt8] = []
        var text: String { String(decoding: bytes, as: UTF8.self) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            // A complete answer (headers + Content-Length body) ends the exchange.
            if let headerEnd = text.range(of: "\r\n\r\n"),
               let length = text[..<headerEnd.lowerBound].split(separator: "\r\n")
                   .first(where: { $0.lowercased().hasPrefix("content-length:") })
                   .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
               text.utf8.count - text[..<headerEnd.upperBound].utf8.count >= length {
                context.close(promise: nil)
            }
        }
    }
}
