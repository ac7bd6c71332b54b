import Foundation

/// Why a piece of text is not the quantity asked for, phrased as what was expected.
public struct UnitError: Error, Sendable, Equatable {
    public var expected: String
    public var hint: String?

    public init(expected: String, hint: String? = nil) {
        self.expected = expected
        self.hint = hint
    }
}

/// The one parser for quantities with units. Units are required: a bare `10` is never a
/// duration, because "10 what?" is the most common scenario mistake.
public enum Units {
    /// Nanoseconds per unit, longest suffix first so `ms` wins over `s`.
    static let timeUnits: [(suffix: String, nanos: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]
    static let sizeUnits: [(suffix: String, bytes: Double)] = [
        ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024), ("TiB", 1024 * 1024 * 1024 * 1024),
        ("KB", 1e3), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ]
    static let bitUnits: [(suffix: String, bytes: Double)] = [
        ("Kibit", 1024 / 8), ("Mibit", 1024 * 1024 / 8), ("Gibit", 1024 * 1024 * 1024 / 8),
        ("Kbit", 1e3 / 8), ("kbit", 1e3 / 8), ("Mbit", 1e6 / 8), ("Gbit", 1e9 / 8), ("Tbit", 1e12 / 8),
        ("bit", 1.0 / 8),
    ]

    static let durationExample = "a duration with a unit such as 10ms"

    // MARK: Durations

    /// `250us`, `3ms`, `1.5ms`, `10s`, `5m`, `1h`, `0s`, `100ns` → nanoseconds (rounded).
    /// Negative values (`-1s`) only when `allowNegative` (clock jumps and offsets).
    public static func duration(_ text: String, allowNegative: Bool = false) throws(UnitError) -> Int64 {
        let nanos = try durationNanos(text, allowNegative: allowNegative)
        guard abs(nanos) < 9.2e18 else {
            throw UnitError(expected: "a duration below 292 years")
        }
        return Int64(nanos.rounded())
    }

    /// Like `duration` but keeps fractions of a nanosecond (for distribution parameters).
    public static func durationNanos(_ text: String, allowNegative: Bool = false) throws(UnitError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if number(trimmed) != nil {
            throw UnitError(expected: durationExample, hint: "units: ns, us, ms, s, m, h")
        }
        guard let (value, nanos) = split(trimmed, units: timeUnits) else {
            throw UnitError(expected: durationExample, hint: "units: ns, us, ms, s, m, h")
        }
        guard value.isFinite else { throw UnitError(expected: durationExample) }
        if value < 0 && !allowNegative {
            throw UnitError(expected: "a non-negative duration such as 10ms")
        }
        return value * nanos
    }

    // MARK: Rates

    /// `2000/s`, `5/ms`, `120/m`, `3/h` → events per second.
    public static func rate(_ text: String) throws(UnitError) -> Double {
        let expected = "a rate with a time unit such as 2000/s"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let slash = trimmed.lastIndex(of: "/") else {
            throw UnitError(expected: expected, hint: number(trimmed) != nil ? "write \(trimmed)/s for per second" : nil)
        }
        let countText = trimmed[..<slash].trimmingCharacters(in: .whitespaces)
        let unitText = trimmed[trimmed.index(after: slash)...].trimmingCharacters(in: .whitespaces)
        guard let count = number(countText), count.isFinite,
              let unit = timeUnits.first(where: { $0.suffix == unitText })
        else { throw UnitError(expected: expected) }
        guard count >= 0 else { throw UnitError(expected: "a non-negative rate such as 2000/s") }
        return count * 1e9 / unit.nanos
    }

    // MARK: Sizes and bandwidth

    /// `512B`, `4KiB`, `1MiB`, `1GiB`, `4KB` (= 4000) → bytes (rounded).
    public static func size(_ text: String) throws(UnitError) -> Int {
        let expected = "a size with a unit such as 512B or 4KiB"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let (value, bytes) = split(trimmed, units: sizeUnits), value.isFinite else {
            throw UnitError(expected: expected, hint: "units: B, KB, MB, GB, KiB, MiB, GiB")
        }
        guard value >= 0 else { throw UnitError(expected: "a non-negative size such as 512B") }
        let total = value * bytes
        guard total < 9.2e18 else { throw UnitError(expected: expected) }
        return Int(total.rounded())
    }

    /// `125MB/s`, `1Gbit/s`, `10Mbit/s` → bytes per second.
    public static func bandwidth(_ text: String) throws(UnitError) -> Double {
        let expected = "a bandwidth such as 125MB/s or 1Gbit/s"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let slash = trimmed.lastIndex(of: "/") else { throw UnitError(expected: expected) }
        let amountText = trimmed[..<slash].trimmingCharacters(in: .whitespaces)
        let unitText = trimmed[trimmed.index(after: slash)...].trimmingCharacters(in: .whitespaces)
        guard let time = timeUnits.first(where: { $0.suffix == unitText }),
              let (value, bytes) = split(amountText, units: bitUnits + sizeUnits), value.isFinite
        else { throw UnitError(expected: expected) }
        guard value >= 0 else { throw UnitError(expected: "a non-negative bandwidth such as 125MB/s") }
        return value * bytes * 1e9 / time.nanos
    }

    // MARK: Probabilities

    /// `1%`, `0.5%`, `0.01`, `0`, `1` → a probability in [0, 1].
    public static func probability(_ text: String) throws(UnitError) -> Double {
        let expected = "a probability between 0 and 1 or a percentage such as 1%"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value: Double
        if trimmed.hasSuffix("%") {
            guard let percent = number(String(trimmed.dropLast()).trimmingCharacters(in: .whitespaces)) else {
                throw UnitError(expected: expected)
            }
            value = percent / 100
        } else {
            guard let plain = number(trimmed) else { throw UnitError(expected: expected) }
            value = plain
        }
        guard value >= 0, value <= 1 else { throw UnitError(expected: expected) }
        return value
    }

    // MARK: Plain numbers

    /// `200ppm` → 200 (parts per million; may be negative).
    public static func partsPerMillion(_ text: String) throws(UnitError) -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasSuffix("ppm"),
              let value = number(String(trimmed.dropLast(3)).trimmingCharacters(in: .whitespaces)),
              value.isFinite
        else { throw UnitError(expected: "a clock drift in parts per million such as 200ppm") }
        return value
    }

    /// A plain decimal number: `3`, `1.5`, `-2`, `1e3`, `1_000`. `nil` for anything else
    /// (including `inf`/`nan`, which YAML spells differently anyway).
    public static func number(_ text: String) -> Double? {
        let cleaned = text.replacingOccurrences(of: "_", with: "")
        guard let first = cleaned.first, first.isNumber || first == "-" || first == "+" || first == "." else {
            return nil
        }
        guard cleaned.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
              let value = Double(cleaned), value.isFinite
        else { return nil }
        return value
    }

    /// Splits `1.5ms` into (1.5, multiplier of `ms`), trying the units in order.
    private static func split(_ text: String, units: [(suffix: String, nanos: Double)]) -> (Double, Double)? {
        for unit in units where text.hasSuffix(unit.suffix) {
            let numberText = String(text.dropLast(unit.suffix.count)).trimmingCharacters(in: .whitespaces)
            if let value = number(numberText) { return (value, unit.nanos) }
        }
        return nil
    }

    private static func split(_ text: String, units: [(suffix: String, bytes: Double)]) -> (Double, Double)? {
        split(text, units: units.map { (suffix: $0.suffix, nanos: $0.bytes) } as [(suffix: String, nanos: Double)])
    }
}
