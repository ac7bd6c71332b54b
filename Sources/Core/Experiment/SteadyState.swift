import Foundation
import LoadCore
import Scenario

/// What a driver measured for one reading of the probes: the load over the probe window, the
/// cluster's leaders and ISRs, and each scraped metric's samples combined over the running nodes.
public struct ProbeReading: Sendable {
    public var load: LoadWindow
    /// Every stream and the metadata group have a leader (nil: not looked at).
    public var leaderPresent: Bool?
    /// The smallest in-sync replica set over the streams (nil: not looked at or unknown).
    public var smallestISR: Int?
    /// Per scraped probe (by its name): the combined value, nil when no node exposed the metric.
    public var scraped: [String: Double?]

    public init(load: LoadWindow, leaderPresent: Bool? = nil, smallestISR: Int? = nil, scraped: [String: Double?] = [:]) {
        self.load = load
        self.leaderPresent = leaderPresent
        self.smallestISR = smallestISR
        self.scraped = scraped
    }

    /// Combines the nodes' samples of one scraped probe: those with the probe's name whose
    /// labels include all of the probe's labels.
    public static func combine(_ samples: [PrometheusSample], metric: String, labels: [ProbeSpec.Label],
                               _ combine: ProbeSpec.Combine) -> Double? {
        let values = samples.filter { s in s.name == metric && labels.allSatisfy { s.labels[$0.name] == $0.value } }.map(\.value)
        guard !values.isEmpty else { return nil }
        switch combine {
        case .sum: return values.reduce(0, +)
        case .min: return values.min()
        case .max: return values.max()
        }
    }
}

/// One probe judged against one reading.
public struct ProbeOutcome: Sendable, Equatable {
    public var probe: String
    /// nil: nothing to measure (no ack in the window for a latency, no node exposing a metric).
    public var value: Double?
    public var held: Bool
    /// "publish_latency_p99 812 ms > 250 ms".
    public var description: String
}

public enum SteadyState {
    /// Judges each probe against the reading. A value that cannot be measured does not hold: a
    /// window without acks has no latency to trust, a metric no node exposes proves nothing.
    public static func judge(_ probes: [ProbeSpec], _ reading: ProbeReading) -> [ProbeOutcome] {
        probes.map { probe in
            let value: Double?
            var missing = "not measured"
            switch probe.quantity {
            case .throughput: value = reading.load.throughput
            case .errorRate: value = reading.load.errorRate
            case .publishLatency(let quantile):
                missing = "no ack in the window"
                if reading.load.latency.isEmpty { value = nil } else {
                    value = (quantile.map { reading.load.latency.percentile($0 * 100) } ?? reading.load.latency.max) / 1e6
                }
            case .leaderPresent:
                missing = "no node answered the metadata request"
                value = reading.leaderPresent.map { $0 ? 1 : 0 }
            case .isrSize:
                missing = "no node answered the metadata request"
                value = reading.smallestISR.map(Double.init)
            case .scraped:
                missing = "no running node exposes it"
                value = reading.scraped[probe.name] ?? nil
            }
            guard let value else {
                return ProbeOutcome(probe: probe.name, value: nil, held: false, description: "\(probe.name): \(missing)")
            }
            let broken = probe.bounds.first { bound in
                switch bound {
                case .atLeast(let limit): !(value >= limit)
                case .atMost(let limit): !(value <= limit)
                }
            }
            let shown = format(value, probe)
            guard let broken else {
                return ProbeOutcome(probe: probe.name, value: value, held: true, description: "\(probe.name) \(shown)")
            }
            let limit: String = switch broken {
            case .atLeast(let l): "< \(format(l, probe))"
            case .atMost(let l): "> \(format(l, probe))"
            }
            return ProbeOutcome(probe: probe.name, value: value, held: false, description: "\(probe.name) \(shown) \(limit)")
        }
    }

    static func format(_ value: Double, _ probe: ProbeSpec) -> String {
        switch probe.quantity {
        case .throughput: String(format: "%.0f/s", value)
        case .errorRate: String(format: "%.2f%%", value * 100)
        case .publishLatency: String(format: "%.1f ms", value)
        case .leaderPresent: value >= 1 ? "yes" : "no"
        case .isrSize: String(format: "%.0f", value)
        case .scraped: value == value.rounded() && abs(value) < 1e15 ? String(format: "%.0f", value) : String(format: "%.4g", value)
        }
    }
}
