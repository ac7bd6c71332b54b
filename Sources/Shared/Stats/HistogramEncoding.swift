import Histogram

/// Why bytes could not be read as a `LatencyHistogram`.
public enum HistogramDecodingError: Error, Equatable, Sendable {
    case truncated
    case badMagic
    case unsupportedVersion(UInt8)
    case invalid(String)
}

/// Binary format "hdr-faultline-v1" (all integers unsigned LEB128 varints unless noted):
///
/// ```
/// magic "FLHG" (4 bytes) | version u8 = 1 | significant digits u8 (0...5)
/// total count | min non-zero value (0 = none) | max value | entry count
/// entries: (value delta from previous entry's value, count > 0) ...
/// ```
/// An entry's value is the highest value equivalent to its bucket, strictly increasing.
/// The raw minimum and maximum are stored so that `min`, `max` and percentiles round-trip
/// exactly. Anything else — trailing bytes, zero counts, inconsistent totals — is rejected.
extension LatencyHistogram {
    public static let encodingName = "hdr-faultline-v1"
    static let magic: [UInt8] = Array("FLHG".utf8)
    static let formatVersion: UInt8 = 1

    public func serialized() -> [UInt8] {
        var out = Self.magic
        out.append(Self.formatVersion)
        out.append(UInt8(histogram.numberOfSignificantValueDigits.rawValue))
        let entries = sparseCounts
        Varint.append(histogram.totalCount, to: &out)
        Varint.append(rawMinNonZero, to: &out)
        Varint.append(isEmpty ? 0 : histogram.maxRecorded, to: &out)
        Varint.append(UInt64(entries.count), to: &out)
        var previous: UInt64 = 0
        for e in entries {
            Varint.append(e.value - previous, to: &out)
            Varint.append(e.count, to: &out)
            previous = e.value
        }
        return out
    }

    public init(serialized bytes: [UInt8]) throws {
        var reader = HistogramBytesReader(bytes: bytes)
        guard try reader.take(4) == Self.magic else { throw HistogramDecodingError.badMagic }
        let version = try reader.byte()
        guard version == Self.formatVersion else { throw HistogramDecodingError.unsupportedVersion(version) }
        let digitsRaw = try reader.byte()
        guard let digits = SignificantDigits(rawValue: Int8(clamping: digitsRaw)), digitsRaw <= 5 else {
            throw HistogramDecodingError.invalid("significant digits \(digitsRaw)")
        }
        let total = try reader.varint()
        let minNonZero = try reader.varint()
        let maxValue = try reader.varint()
        let entryCount = try reader.varint()
        // Each entry takes at least two bytes: bound the count before allocating anything.
        guard entryCount <= UInt64(reader.remaining / 2) else { throw HistogramDecodingError.truncated }

        // Validated with the layout's arithmetic (the library's, as `BucketLayout` says), not a
        // probe histogram's generic methods: reading a swarm's results back spent ~1.3 M
        // instructions per histogram, mostly in three histograms built per decode and in those calls.
        let layout = BucketLayout(significantDigits: digits)
        let limit = UInt64(Int64.max)
        var entries: [(value: UInt64, count: UInt64)] = []
        entries.reserveCapacity(Int(entryCount))
        var value: UInt64 = 0
        var sum: UInt64 = 0
        for i in 0..<entryCount {
            let delta = try reader.varint()
            let count = try reader.varint()
            guard i == 0 || delta > 0 else { throw HistogramDecodingError.invalid("values not increasing") }
            let (next, overflow) = value.addingReportingOverflow(delta)
            guard !overflow, next <= limit else { throw HistogramDecodingError.invalid("value out of range") }
            guard count > 0 else { throw HistogramDecodingError.invalid("empty bucket") }
            let (s, sumOverflow) = sum.addingReportingOverflow(count)
            guard !sumOverflow else { throw HistogramDecodingError.invalid("count overflow") }
            guard layout.highestValue(atIndex: layout.index(ofValue: next)) == next else {
                throw HistogramDecodingError.invalid("value \(next) is not a bucket boundary")
            }
            value = next; sum = s
            entries.append((next, count))
        }
        guard reader.remaining == 0 else { throw HistogramDecodingError.invalid("trailing bytes") }
        guard sum == total else { throw HistogramDecodingError.invalid("total count mismatch") }

        // The stored extremes must fall into the first non-zero and the last bucket.
        // Values increase, so only the first entry can be the zero bucket.
        let nonZero = entries.first?.value == 0 ? entries.dropFirst() : entries[...]
        if let first = nonZero.first, let last = nonZero.last {
            guard minNonZero != 0, maxValue <= limit,
                  layout.index(ofValue: minNonZero) == layout.index(ofValue: first.value),
                  layout.index(ofValue: maxValue) == layout.index(ofValue: last.value),
                  nonZero.count > 1 || first.count > 1 || minNonZero == maxValue
            else { throw HistogramDecodingError.invalid("min/max outside their buckets") }
        } else {
            guard minNonZero == 0, maxValue == 0 else { throw HistogramDecodingError.invalid("min/max without values") }
        }
        // Sized for the largest value up front: growing while replaying goes through the
        // library's generic (unspecialised) resize, element by element — 85% of reading back
        // 2000 histograms. Auto-resizing stays on, so merges behave as before.
        self.init(significantDigits: digits, covering: maxValue)
        Self.replay(entries, minNonZero: minNonZero, max: maxValue, into: &histogram)
        decoded = Decoded(entries: entries, of: histogram)
    }
}

/// Unsigned LEB128.
enum Varint {
    static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}

struct HistogramBytesReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw HistogramDecodingError.truncated }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard remaining >= n else { throw HistogramDecodingError.truncated }
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            let payload = UInt64(b & 0x7F)
            // The tenth byte may only carry the top bit of a UInt64.
            guard shift < 63 || (shift == 63 && payload <= 1) else {
                throw HistogramDecodingError.invalid("varint overflow")
            }
            result |= payload << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }
}
