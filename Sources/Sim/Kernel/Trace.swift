/// A run's fingerprint. Every delivered event is folded into a 64-bit hash (cheap enough
/// for the hot path) and, when a trace file is requested, written as one JSON line.
/// Two runs of the same scenario, seed and build must produce the same hash; the
/// determinism test compares hashes and trace files across separate processes.
public struct TraceHasher: Sendable {
    @usableFromInline var value: UInt64 = 0x6A09_E667_F3BC_C908
    /// Events folded so far.
    @usableFromInline var eventCount: UInt64 = 0
    public var events: UInt64 { eventCount }

    public init() {}

    /// Mixes a word in (xor-multiply-rotate, as in wyhash/FxHash), order-sensitive.
    @inlinable
    public mutating func fold(_ word: UInt64) {
        value = (value ^ word) &* 0x9E37_79B9_7F4A_7C15
        value = (value << 23) | (value >> 41)
    }

    @inlinable
    public mutating func fold(event kind: UInt64, time: VirtualTime, _ a: UInt64 = 0, _ b: UInt64 = 0) {
        eventCount &+= 1
        fold(UInt64(bitPattern: time))
        fold(kind)
        fold(a)
        fold(b)
    }

    /// Final avalanche so that similar event sequences give unrelated-looking digests.
    public var digest: UInt64 {
        var z = value ^ eventCount
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    public var hex: String {
        let s = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Receives trace lines; the driver only builds a line when a sink is attached.
public protocol TraceSink: AnyObject {
    func write(line: String)
}

/// Builds one JSON object per event with keys in a fixed order (no Dictionary involved,
/// so the bytes are identical across processes).
public struct TraceLine {
    private var text: String

    public init(time: VirtualTime, sequence: UInt64, kind: String) {
        text = "{\"t\":\(time),\"seq\":\(sequence),\"kind\":\"\(kind)\""
    }

    public mutating func add(_ key: String, _ value: Int64) { text += ",\"\(key)\":\(value)" }
    public mutating func add(_ key: String, _ value: Int) { text += ",\"\(key)\":\(value)" }
    public mutating func add(_ key: String, _ value: UInt64) { text += ",\"\(key)\":\(value)" }
    public mutating func add(_ key: String, _ value: String) {
        text += ",\"\(key)\":\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            default:
                if scalar.value < 0x20 { text += "\\u" + hex4(scalar.value) } else { text.unicodeScalars.append(scalar) }
            }
        }
        text += "\""
    }

    public var json: String { text + "}" }

    private func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}
