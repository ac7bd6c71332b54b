import Foundation
import Results
import Scenario

/// Faultline's version, recorded with every result and baseline (`faultline --version`).
enum FaultlineVersion {
    static let current = "0.15.0"
}

/// What produced a results set: recorded in its `properties` so that `compare` and `baseline`
/// can tell a changed scenario from a changed system.
enum ProvenanceFacts {
    static func properties(scenario: Scenario, overrides: [String]) -> [String: String] {
        var facts: [String: String] = [
            ResultsProperty.faultlineVersion: FaultlineVersion.current,
            ResultsProperty.overrides: json(overrides),
            ResultsProperty.host: json(hostFacts()),
        ]
        if let hash = ContentHash.hex(ofFile: scenario.sourceFile) { facts[ResultsProperty.scenarioHash] = hash }
        if let data = FileManager.default.contents(atPath: scenario.sourceFile), let text = String(data: data, encoding: .utf8) {
            facts[ResultsProperty.scenarioYAML] = text
        }
        if let regression = scenario.regression { facts[ResultsProperty.regression] = json(regression) }
        return facts
    }

    static func hostFacts() -> [String: String] {
        let info = ProcessInfo.processInfo
        return [
            "hostname": info.hostName,
            "os": info.operatingSystemVersionString,
            "cores": String(info.activeProcessorCount),
            "memory_bytes": String(info.physicalMemory),
        ]
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else { return "null" }
        return text
    }
}

extension StoredSLO {
    /// A scenario's SLO as the results store it.
    init(_ spec: SLOSpec) {
        self.init(name: spec.name, metric: spec.metric, statistic: spec.statistic, limit: spec.limit)
    }
}
