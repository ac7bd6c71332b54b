/// Bounds a peer may not exceed. The frame size caps how much one connection can make us buffer.
public struct WireLimits: Sendable, Equatable {
    /// Largest accepted value of a frame's length prefix (version + type + payload).
    public var maxFrameSize: Int = 1 << 20

    public init(maxFrameSize: Int = 1 << 20) {
        precondition(maxFrameSize >= WireFormat.minimumFrameLength, "maxFrameSize must allow version + type")
        self.maxFrameSize = maxFrameSize
    }
}

/// Constants of the frame layout shared by the encoder and the decoders.
enum WireFormat {
    static let version: UInt8 = 2  // 2: publish carries the producer epoch
    static let lengthPrefixSize = 4
    /// Version byte + type byte.
    static let minimumFrameLength = 2
}
