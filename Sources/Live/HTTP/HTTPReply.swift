import HTTPWire
import NIOCore

/// A complete HTTP response: status line, headers in wire order, the whole body.
public struct HTTPReply: Sendable {
    public var status: Int
    /// The header field lines as received (`HTTPHeaderLines`), and the body: views into the
    /// bytes read from the socket, not copies. Turning every header into Swift strings and
    /// copying the body per response was a measurable share of the load driver's CPU, and
    /// most classifiers never look at either.
    var headerLines: ByteBuffer
    var bodyBytes: ByteBuffer

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        var lines = ByteBuffer()
        for (name, value) in headers {
            lines.writeString(name)
            lines.writeString(": ")
            lines.writeString(value)
            lines.writeString("\r\n")
        }
        headerLines = lines
        bodyBytes = ByteBuffer(bytes: body)
    }

    init(status: Int, headerLines: ByteBuffer, body: ByteBuffer) {
        self.status = status
        self.headerLines = headerLines
        bodyBytes = body
    }

    /// The body's bytes (a copy; `bodyText` reads them without one).
    public var body: [UInt8] {
        get { Array(bodyBytes.readableBytesView) }
        set { bodyBytes = ByteBuffer(bytes: newValue) }
    }

    /// Headers in wire order.
    public var headers: [(String, String)] {
        var result: [(String, String)] = []
        headerLines.withUnsafeReadableBytes { bytes in
            HTTPHeaderLines.forEach(bytes, in: 0..<bytes.count) { name, value in
                result.append((Self.string(bytes, name), Self.string(bytes, value)))
                return true
            }
        }
        return result
    }

    /// The first value of header `name`, compared ASCII case-insensitively (RFC 9110 §5.1),
    /// read from the received bytes.
    public func header(_ name: String) -> String? {
        headerLines.withUnsafeReadableBytes { bytes in
            var found: String?
            HTTPHeaderLines.forEach(bytes, in: 0..<bytes.count) { field, value in
                guard HTTPHeaderLines.equalsIgnoringASCIICase(bytes, field, name.utf8) else { return true }
                found = Self.string(bytes, value)
                return false
            }
            return found
        }
    }

    /// The body as UTF-8 text (invalid bytes repaired), for assertions and error messages.
    public var bodyText: String { String(buffer: bodyBytes) }

    /// The same reply in storage of its own, so that keeping it does not keep the whole read
    /// buffer it was parsed from alive (the pool's callers may hold replies).
    func detached() -> HTTPReply {
        var storage = ByteBuffer()
        storage.reserveCapacity(headerLines.readableBytes + bodyBytes.readableBytes)
        storage.writeImmutableBuffer(headerLines)
        storage.writeImmutableBuffer(bodyBytes)
        let lines = storage.readSlice(length: headerLines.readableBytes)!
        return HTTPReply(status: status, headerLines: lines, body: storage)
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
