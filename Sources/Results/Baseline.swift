import Foundation

/// A saved result to compare later runs against (`faultline baseline save NAME DIR`): one
/// pretty-printed JSON file per name, meant to be committed — text-diffable, histograms
/// serialised (base64 of the HdrHistogram encoding), with what produced it.
public struct Baseline: Codable, Sendable {
    public static let formatName = "faultline-baseline/1"
    public var format: String
    public var name: String
    public var scenario: String
    public var mode: String
    public var description: String
    /// ISO-8601.
    public var saved_at: String
    /// Copied from the results' properties: scenario hash, overrides, regression limits, version, host.
    public var properties: [String: String]
    /// Distinct seeds, ascending.
    public var seeds: [UInt64]
    public var slos: [StoredSLO]
    public var runs: [RunRecord]

    public init(name: String, set: RunSet, savedAt: String) {
        format = Self.formatName
        self.name = name
        scenario = set.scenario
        mode = set.mode
        description = set.description
        saved_at = savedAt
        properties = set.properties
        seeds = Array(Set(set.runs.map(\.seed))).sorted()
        slos = set.slos
        // Ordered like reports, so that saving the same results twice gives the same file.
        runs = SummaryBuilder.orderedRuns(set.runs)
    }

    public var runSet: RunSet {
        RunSet(scenario: scenario, mode: mode, description: description, slos: slos, runs: runs, properties: properties)
    }

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text + "\n"
    }

    public enum ReadError: Error, CustomStringConvertible {
        case unreadable(String)
        case notABaseline(String, String)

        public var description: String {
            switch self {
            case .unreadable(let path): return "\(path): cannot be read"
            case let .notABaseline(path, why): return "\(path): not a Faultline baseline (\(why))"
            }
        }
    }

    public static func read(path: String) throws(ReadError) -> Baseline {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let baseline: Baseline
        do {
            baseline = try decoder.decode(Baseline.self, from: data)
        } catch {
            throw .notABaseline(path, "\(error)")
        }
        guard baseline.format == formatName else {
            throw .notABaseline(path, "format '\(baseline.format)', this build reads \(formatName)")
        }
        return baseline
    }
}
