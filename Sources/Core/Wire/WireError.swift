/// Why a frame was refused. Every case is a protocol violation: the connection must be closed.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length prefix exceeds `WireLimits.maxFrameSize`; rejected before the body is buffered.
    case frameTooLarge(Int)
    /// The length prefix is below 2 (no room for version and type).
    case frameTooSmall(Int)
    case unsupportedVersion(UInt8)
    case unknownType(UInt8)
    /// A field (or a length / count announcing more than the frame holds) runs past the frame end.
    case truncated(field: String)
    /// The message decoded completely with this many bytes left over in the frame.
    case trailingBytes(Int)
    case invalidUTF8(field: String)
    /// A tag, flag or enum byte outside its defined range.
    case invalidValue(field: String)

    public var description: String {
        switch self {
        case .frameTooLarge(let n): return "frame length \(n) exceeds the maximum frame size"
        case .frameTooSmall(let n): return "frame length \(n) is below the minimum of 2"
        case .unsupportedVersion(let v): return "unsupported protocol version \(v)"
        case .unknownType(let t): return "unknown message type \(t)"
        case .truncated(let field): return "frame ends inside field '\(field)'"
        case .trailingBytes(let n): return "\(n) trailing bytes after the message"
        case .invalidUTF8(let field): return "field '\(field)' is not valid UTF-8"
        case .invalidValue(let field): return "field '\(field)' has an invalid value"
        }
    }
}
