/// Incremental framer + decoder of the client protocol for one connection's byte stream: a
/// `FrameSplitter` whose bodies decode with `WireCodec`. Chunks may split a frame anywhere or carry
/// several frames; the buffer never exceeds 4 + `maxFrameSize` bytes.
///
/// After an error the decoder stays failed and every later `feed` rethrows it: the connection must be
/// closed. Messages that preceded the bad frame in the same chunk are dropped with it — the peer
/// gets no replies for them, which is safe because it must treat a closed connection as unacked.
public struct FrameDecoder: Sendable {
    private var splitter: FrameSplitter

    public init(limits: WireLimits = .init()) {
        splitter = FrameSplitter(limits: limits)
    }

    public var limits: WireLimits { splitter.limits }
    /// The error that failed this decoder, if any.
    public var failure: WireError? { splitter.failure }
    /// Bytes held for a frame not yet complete.
    public var bufferedBytes: Int { splitter.bufferedBytes }

    public mutating func feed(_ bytes: some Collection<UInt8>) throws(WireError) -> [Message] {
        try splitter.feed(bytes) { (body: ArraySlice<UInt8>) throws(WireError) in
            try WireCodec.decodeFrameBody(body)
        }
    }
}
