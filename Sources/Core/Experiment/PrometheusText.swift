/// The Prometheus text exposition format, read as far as probes need it: one sample per line,
/// `name{label="value",…} value [timestamp]`; `#` lines (HELP, TYPE) and blank lines skipped.
/// A malformed line is skipped, not fatal: a probe then finds no sample and says so.
public struct PrometheusSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

public enum PrometheusText {
    public static func parse(_ text: String) -> [PrometheusSample] {
        var samples: [PrometheusSample] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            guard !line.isEmpty, line.first != "#" else { continue }
            if let sample = sample(line) { samples.append(sample) }
        }
        return samples
    }

    /// Every sample of each metric family whose name starts with `prefix`, summed (keyed by the
    /// name without the prefix): e.g. a process's gauges over its replicas' labels.
    public static func sums(_ text: String, prefix: String) -> [String: Double] {
        var sums: [String: Double] = [:]
        for sample in parse(text) where sample.name.hasPrefix(prefix) {
            sums[String(sample.name.dropFirst(prefix.count)), default: 0] += sample.value
        }
        return sums
    }

    private static func sample(_ line: Substring) -> PrometheusSample? {
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            var i = line.index(after: brace)
            // label="value" pairs; values may hold escaped quotes, commas and braces.
            while i < line.endIndex, line[i] != "}" {
                while i < line.endIndex, line[i] == "," || line[i] == " " { i = line.index(after: i) }
                guard let eq = line[i...].firstIndex(of: "=") else { return nil }
                let key = String(line[i..<eq])
                var j = line.index(after: eq)
                guard j < line.endIndex, line[j] == "\"" else { return nil }
                j = line.index(after: j)
                var value = ""
                while j < line.endIndex, line[j] != "\"" {
                    if line[j] == "\\", line.index(after: j) < line.endIndex {
                        j = line.index(after: j)
                        value.append(line[j] == "n" ? "\n" : line[j])
                    } else {
                        value.append(line[j])
                    }
                    j = line.index(after: j)
                }
                guard j < line.endIndex else { return nil }
                labels[key] = value
                i = line.index(after: j)
                while i < line.endIndex, line[i] == "," || line[i] == " " { i = line.index(after: i) }
            }
            guard i < line.endIndex else { return nil }
            rest = line[line.index(after: i)...]
        } else {
            guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        rest = rest.drop { $0 == " " || $0 == "\t" }
        let valueText = rest.prefix { $0 != " " && $0 != "\t" }
        guard !name.isEmpty, let value = number(valueText) else { return nil }
        return PrometheusSample(name: String(name), labels: labels, value: value)
    }

    private static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}
