import Wire

/// Incremental framer + decoder of the peer protocol for one connection: a `FrameSplitter` whose
/// bodies decode with `PeerCodec`. Buffers at most 4 + `limits.maxFrameSize` bytes; after an error it
/// stays failed and the connection must be closed.
///
/// Peer frames carry whole fetch responses and Raft append batches, so a driver will usually pass
/// a `maxFrameSize` above the client default, sized to its fetch and append limits.
public struct PeerFrameDecoder: Sendable {
    private var splitter: FrameSplitter

    public init(limits: WireLimits = .init()) {
        splitter = FrameSplitter(limits: limits)
    }

    public var limits: WireLimits { splitter.limits }
    /// The error that failed this decoder, if any.
    public var failure: WireError? { splitter.failure }
    /// Bytes held for a frame not yet complete.
    public var bufferedBytes: Int { splitter.bufferedBytes }

    public mutating func feed(_ bytes: some Collection<UInt8>) throws(WireError) -> [PeerMessage] {
        try splitter.feed(bytes) { (body: ArraySlice<UInt8>) throws(WireError) in
            try PeerCodec.decodeFrameBody(body)
        }
    }
}
