import Foundation
import Stats
@testable import Results

func latencies(_ pairs: [(ms: Double, count: UInt64)]) -> LatencyHistogram {
    var h = LatencyHistogram()
    for p in pairs { h.record(Int64(p.ms * 1e6), count: p.count) }
    return h
}

func makeRun(seed: UInt64, parameters: [String: String] = [:], passed: Bool = true,
             errorRate: Double = 0.1, latency: LatencyHistogram = latencies([(1, 10)]),
             checks: [CheckResult] = [CheckResult(name: "no_acknowledged_loss", passed: true, violations: 0)],
             violations: [Violation] = []) -> RunRecord {
    RunRecord(scenario: "leader-failover", mode: "sim", parameters: parameters, seed: seed,
              startedAt: "2026-01-01T00:00:0\(seed % 10)Z", wallSeconds: 0.5, events: 1000 + seed % 1000,
              traceHash: String(format: "%016llx", seed &* 0x9E37_79B9_7F4A_7C15), passed: passed,
              metrics: ["error_rate": errorRate, "throughput_per_s": 2000],
              metricUnits: ["error_rate": "ratio", "throughput_per_s": "/s", "request_latency": "ms"],
              histograms: ["request_latency": latency], checks: checks, violations: violations)
}

func temporaryPath(_ name: String = "results") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-results-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("\(name).sqlite").path
}
