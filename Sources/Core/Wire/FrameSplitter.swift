/// Splits one connection's byte stream into frame bodies (what follows the u32 length prefix) and
/// hands each to a decoder. Chunks may split a frame anywhere or carry several frames. The length
/// prefix is checked before any of the body is buffered, so the buffer never exceeds
/// 4 + `maxFrameSize` bytes; a frame wholly inside a chunk is decoded in place.
///
/// Shared by every frame codec (the client `FrameDecoder`, the broker-to-broker `PeerWire`), which
/// differ only in how a body decodes. After an error — framing or decoding — the splitter stays
/// failed and every later `feed` rethrows it: the connection must be closed. Messages that preceded
/// the bad frame in the same chunk are dropped with it; a peer must treat a closed connection as
/// unacknowledged anyway.
public struct FrameSplitter: Sendable {
    public let limits: WireLimits
    /// The error that failed this splitter, if any.
    public private(set) var failure: WireError?
    /// A partial frame (prefix included) carried over between chunks.
    private var pending: [UInt8] = []
    /// The current frame's body length once its prefix has been read and accepted.
    private var expectedBody: Int?

    public init(limits: WireLimits = .init()) {
        self.limits = limits
    }

    /// Bytes held for a frame not yet complete.
    public var bufferedBytes: Int { pending.count }

    /// Feeds one chunk; returns what `decode` made of each frame body completed by it, in order.
    public mutating func feed<M>(_ bytes: some Collection<UInt8>,
                                 decode: (ArraySlice<UInt8>) throws(WireError) -> M) throws(WireError) -> [M] {
        if let failure { throw failure }
        do {
            return try consume(bytes, decode)
        } catch {
            failure = error
            pending = []
            expectedBody = nil
            throw error
        }
    }

    private mutating func consume<M>(_ bytes: some Collection<UInt8>,
                                     _ decode: (ArraySlice<UInt8>) throws(WireError) -> M) throws(WireError) -> [M] {
        let chunk = (bytes as? [UInt8])?[...] ?? (bytes as? ArraySlice<UInt8>) ?? ArraySlice(bytes)
        var i = chunk.startIndex
        var messages: [M] = []
        while i < chunk.endIndex {
            if let bodyLength = expectedBody {
                let frameLength = WireFormat.lengthPrefixSize + bodyLength
                if pending.count == WireFormat.lengthPrefixSize, chunk.endIndex - i >= bodyLength {
                    // Whole body is in this chunk: decode in place, no copy into the buffer.
                    messages.append(try decode(chunk[i ..< i + bodyLength]))
                    i += bodyLength
                    pending.removeAll(keepingCapacity: true)
                    expectedBody = nil
                    continue
                }
                let n = min(frameLength - pending.count, chunk.endIndex - i)
                pending.append(contentsOf: chunk[i ..< i + n])
                i += n
                if pending.count == frameLength {
                    messages.append(try decode(pending[WireFormat.lengthPrefixSize...]))
                    pending = []
                    expectedBody = nil
                }
            } else {
                let n = min(WireFormat.lengthPrefixSize - pending.count, chunk.endIndex - i)
                pending.append(contentsOf: chunk[i ..< i + n])
                i += n
                if pending.count == WireFormat.lengthPrefixSize {
                    let length = pending.reduce(0) { $0 << 8 | Int($1) }
                    guard length >= WireFormat.minimumFrameLength else { throw .frameTooSmall(length) }
                    guard length <= limits.maxFrameSize else { throw .frameTooLarge(length) }
                    expectedBody = length
                }
            }
        }
        return messages
    }
}
