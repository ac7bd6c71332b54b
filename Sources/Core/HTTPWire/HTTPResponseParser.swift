/// HTTP/1.1 response framing (RFC 9112) for a client that reads its responses in order, sans-IO:
/// it is handed the bytes received so far and says where the next response ends.
///
/// The caller keeps the bytes of the response being read from its first byte on and calls
/// `parse` with all of them each time more arrive; the parser remembers how far it has looked,
/// so bytes are scanned once. A complete response is described by offsets into those bytes
/// (header section, body), so a caller can hand them on without copying; only a chunked body,
/// whose pieces are not contiguous, is described piece by piece. After `.response` or
/// `.interim` the caller drops `length` bytes and the parser is ready for the next response.
///
/// Framing follows RFC 9112 §6.3: no body after `HEAD` or for 1xx/204/304; `Transfer-Encoding`
/// ending in `chunked` is chunked (it wins over `Content-Length`, and the connection is not
/// reused after it); another transfer coding, or neither header, reads until the server closes
/// (`finish`). Anything else that is not HTTP/1.x fails, and the caller closes the connection.
public struct HTTPResponseParser: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case statusLine
        case headerLine
        case contentLength
        case chunk
        /// The head did not end within `maxHeadBytes`.
        case headTooLarge
        /// 101 Switching Protocols: the client never asks for an upgrade.
        case unexpectedUpgrade
        /// The connection closed in the middle of a response.
        case truncated
    }

    public enum Body: Sendable, Equatable {
        case contiguous(Range<Int>)
        /// A chunked body's chunks, in order (chunk extensions and trailers dropped).
        case chunks([Range<Int>])
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        /// The header field lines (each ending in CRLF or LF), without the status line and the
        /// blank line after them: see `HTTPHeaderLines`.
        public var headers: Range<Int>
        public var body: Body
        /// Whether the connection may carry another request after this response.
        public var keepAlive: Bool
        /// Bytes the response takes, from its first byte.
        public var length: Int
    }

    public enum Step: Sendable, Equatable {
        /// The response is not complete yet: call again once more bytes have arrived.
        case needMore
        case response(Response)
        /// A 1xx response other than 101 (100 Continue, 103 Early Hints), `length` bytes long:
        /// skip it, the final response follows.
        case interim(length: Int)
        case failed(Failure)
    }

    private enum State: Sendable {
        /// Reading the head line by line; the lines before `from` have been read.
        case head(from: Int)
        case fixed(end: Int)
        /// The chunk-size line starting at `at`.
        case chunkSize(at: Int)
        /// Chunk data up to `end`, then its line end.
        case chunkData(end: Int)
        /// Trailer lines from `at` up to a blank line.
        case trailers(at: Int)
        case untilClose
    }

    private struct Head: Sendable {
        var status = 0
        var minor = 1
        var headers: Range<Int> = 0..<0
        var bodyStart = 0
        var keepAlive = true
        var fields = FramingFields()
    }

    public let maxHeadBytes: Int
    private var state = State.head(from: 0)
    private var head = Head()
    private var chunks: [Range<Int>] = []

    public init(maxHeadBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Whether the parser is between responses (nothing of the next one seen yet).
    public var isIdle: Bool {
        if case .head(0) = state { return true }
        return false
    }

    /// Parses `bytes`, which begin with the first byte of the response being read and hold
    /// everything received since; `headRequest` says whether it answers a `HEAD` request.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, headRequest: Bool = false) -> Step {
        while true {
            switch state {
            case .head(let from):
                // One pass over each line as it arrives: status line, fields, blank line.
                var at = from
                while true {
                    guard let (lineEnd, next) = Self.line(bytes, from: at) else {
                        if bytes.count > maxHeadBytes { return fail(.headTooLarge) }
                        state = .head(from: at)
                        return .needMore
                    }
                    if next > maxHeadBytes { return fail(.headTooLarge) }
                    if at == 0 {
                        guard let (status, minor) = Self.statusLine(bytes, 0..<lineEnd) else { return fail(.statusLine) }
                        if status == 101 { return fail(.unexpectedUpgrade) }
                        head.status = status
                        head.minor = minor
                        head.headers = next..<next
                    } else if lineEnd == at {
                        head.headers = head.headers.lowerBound..<at
                        break
                    } else {
                        guard let colon = HTTPHeaderLines.field(bytes, at..<lineEnd) else { return fail(.headerLine) }
                        guard head.fields.add(bytes, name: at..<colon, value: colon + 1..<lineEnd) else { return fail(.contentLength) }
                    }
                    at = next
                }
                let end = at + (bytes[at] == cr ? 2 : 1)
                if head.status < 200 {
                    reset()
                    return .interim(length: end)
                }
                if let failure = frame(end: end, headRequest: headRequest) { return fail(failure) }
            case .fixed(let end):
                guard bytes.count >= end else { return .needMore }
                return complete(.contiguous(head.bodyStart..<end), length: end)
            case .chunkSize(let at):
                guard let (lineEnd, next) = Self.line(bytes, from: at) else {
                    if bytes.count - at > 1024 { return fail(.chunk) }
                    return .needMore
                }
                guard let size = Self.chunkSize(bytes, at..<lineEnd) else { return fail(.chunk) }
                if size == 0 {
                    state = .trailers(at: next)
                } else {
                    guard next <= Int.max - size - 2 else { return fail(.chunk) }
                    chunks.append(next..<next + size)
                    state = .chunkData(end: next + size)
                }
            case .chunkData(let end):
                guard bytes.count > end else { return .needMore }
                if bytes[end] == lf {
                    state = .chunkSize(at: end + 1)
                } else {
                    guard bytes.count > end + 1 else { return .needMore }
                    guard bytes[end] == cr, bytes[end + 1] == lf else { return fail(.chunk) }
                    state = .chunkSize(at: end + 2)
                }
            case .trailers(let at):
                guard let (lineEnd, next) = Self.line(bytes, from: at) else {
                    if bytes.count - at > maxHeadBytes { return fail(.headTooLarge) }
                    return .needMore
                }
                if lineEnd == at {
                    let body = chunks
                    return complete(.chunks(body), length: next)
                }
                state = .trailers(at: next)
            case .untilClose:
                return .needMore
            }
        }
    }

    /// The server closed the connection after `bytes` (as in `parse`): completes a response
    /// read until close; `nil` if no response had begun.
    public mutating func finish(_ bytes: UnsafeRawBufferPointer) -> Step? {
        switch state {
        case .head(0) where bytes.isEmpty:
            return nil
        case .untilClose:
            return complete(.contiguous(head.bodyStart..<bytes.count), length: bytes.count)
        default:
            // Every complete response was taken as its last byte arrived.
            return fail(.truncated)
        }
    }

    // MARK: - Head

    /// Picks the body's framing once the head ends at `end`; the failure if there is none.
    private mutating func frame(end: Int, headRequest: Bool) -> Failure? {
        let fields = head.fields
        var keepAlive = head.minor >= 1 ? !fields.close : fields.keepAlive && !fields.close
        head.bodyStart = end
        if headRequest || head.status == 204 || head.status == 304 {
            state = .fixed(end: end)
        } else if fields.transferEncoding {
            if fields.chunked {
                state = .chunkSize(at: end)
            } else {
                state = .untilClose
                keepAlive = false
            }
            // Both framings at once is a smuggling smell: never reuse the connection after it.
            if fields.contentLength != nil { keepAlive = false }
        } else if let length = fields.contentLength {
            guard end <= Int.max - length else { return .contentLength }
            state = .fixed(end: end + length)
        } else {
            state = .untilClose
            keepAlive = false
        }
        head.keepAlive = keepAlive
        return nil
    }

    /// What of the header fields decides the framing and reuse.
    fileprivate struct FramingFields: Sendable {
        var contentLength: Int?
        var transferEncoding = false
        var chunked = false
        var close = false
        var keepAlive = false

        /// False if a Content-Length is not a number, or two disagree.
        mutating func add(_ bytes: UnsafeRawBufferPointer, name: Range<Int>, value raw: Range<Int>) -> Bool {
            // Most fields are none of the three: their length tells at once.
            guard name.count == 14 || name.count == 17 || name.count == 10 else { return true }
            let value = HTTPHeaderLines.trimmed(bytes, raw)
            if HTTPHeaderLines.equalsIgnoringASCIICase(bytes, name, "content-length") {
                // "42" or a list of equal values ("42, 42", RFC 9110 §8.6).
                var seen: Int?
                for item in HTTPHeaderLines.listItems(bytes, value) {
                    guard let n = Self.decimal(bytes, item), seen == nil || seen == n else { return false }
                    seen = n
                }
                guard let n = seen, contentLength == nil || contentLength == n else { return false }
                contentLength = n
            } else if HTTPHeaderLines.equalsIgnoringASCIICase(bytes, name, "transfer-encoding") {
                // The last coding applied decides (a later field line continues the list).
                for item in HTTPHeaderLines.listItems(bytes, value) {
                    transferEncoding = true
                    chunked = HTTPHeaderLines.equalsIgnoringASCIICase(bytes, item, "chunked")
                }
            } else if HTTPHeaderLines.equalsIgnoringASCIICase(bytes, name, "connection") {
                for item in HTTPHeaderLines.listItems(bytes, value) {
                    if HTTPHeaderLines.equalsIgnoringASCIICase(bytes, item, "close") { close = true }
                    if HTTPHeaderLines.equalsIgnoringASCIICase(bytes, item, "keep-alive") { keepAlive = true }
                }
            }
            return true
        }

        static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
            guard !range.isEmpty, range.count <= 18 else { return nil }
            var n = 0
            for i in range {
                let digit = Int(bytes[i]) - 0x30
                guard digit >= 0, digit <= 9 else { return nil }
                n = n * 10 + digit
            }
            return n
        }
    }

    /// `HTTP/1.x SSS[ reason]`: the status and the minor version.
    private static func statusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (Int, Int)? {
        let s = line.lowerBound
        guard line.count >= 12, bytes[s] == 0x48, bytes[s + 1] == 0x54, bytes[s + 2] == 0x54, bytes[s + 3] == 0x50,
              bytes[s + 4] == 0x2f, bytes[s + 5] == 0x31, bytes[s + 6] == 0x2e, bytes[s + 8] == 0x20 else { return nil }
        let minor = Int(bytes[s + 7]) - 0x30
        guard minor >= 0, minor <= 9 else { return nil }
        var status = 0
        for i in s + 9..<s + 12 {
            let digit = Int(bytes[i]) - 0x30
            guard digit >= 0, digit <= 9 else { return nil }
            status = status * 10 + digit
        }
        guard status >= 100, line.count == 12 || bytes[s + 12] == 0x20 else { return nil }
        return (status, minor)
    }

    // MARK: - Lines

    /// The line starting at `from`: where its content ends (before CRLF or LF) and where the
    /// next line starts; `nil` if its end has not arrived yet.
    private static func line(_ bytes: UnsafeRawBufferPointer, from: Int) -> (end: Int, next: Int)? {
        guard from < bytes.count, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var p = base + from
        let end = base + bytes.count
        while p < end, p.pointee != lf { p += 1 }
        guard p < end else { return nil }
        let i = p - base
        return (i > from && base[i - 1] == cr ? i - 1 : i, i + 1)
    }

    /// A chunk-size line: hex digits, then optionally whitespace and `;` extensions.
    private static func chunkSize(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int? {
        var size = 0
        var digits = 0
        var i = line.lowerBound
        while i < line.upperBound {
            let b = bytes[i]
            let value: Int
            switch b {
            case 0x30...0x39: value = Int(b) - 0x30
            case 0x41...0x46: value = Int(b) - 0x41 + 10
            case 0x61...0x66: value = Int(b) - 0x61 + 10
            default: value = -1
            }
            if value < 0 { break }
            digits += 1
            guard digits <= 15 else { return nil }
            size = size * 16 + value
            i += 1
        }
        guard digits > 0 else { return nil }
        while i < line.upperBound, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
        guard i == line.upperBound || bytes[i] == 0x3b else { return nil }
        return size
    }

    // MARK: - Completion

    private mutating func complete(_ body: Body, length: Int) -> Step {
        let response = Response(status: head.status, headers: head.headers, body: body, keepAlive: head.keepAlive, length: length)
        reset()
        return .response(response)
    }

    private mutating func reset() {
        state = .head(from: 0)
        head = Head()
        if !chunks.isEmpty { chunks = [] }
    }

    private mutating func fail(_ failure: Failure) -> Step {
        reset()
        return .failed(failure)
    }
}

private let cr: UInt8 = 0x0d
private let lf: UInt8 = 0x0a
