import Foundation
import Sim
import Stats
import XCTest

/// The simulator must reproduce closed-form queueing results inside its own 95%
/// confidence interval over 20 seeds (DESIGN.md, "Analytic fidelity tests").
final class QueueFidelityTests: XCTestCase {
    /// M/M/1 mean response time W = 1 / (μ − λ).
    func mm1ResponseTimeMs(lambda: Double, mu: Double) -> Double { 1000 / (mu - lambda) }

    /// M/M/c mean response time via Erlang C: W = C(c, a) / (cμ − λ) + 1/μ, a = λ/μ.
    func erlangCResponseTimeMs(servers c: Int, lambda: Double, mu: Double) -> Double {
        let a = lambda / mu
        let rho = a / Double(c)
        var term = 1.0  // a^k / k!
        var sum = 1.0
        for k in 1..<c {
            term *= a / Double(k)
            sum += term
        }
        let last = term * a / Double(c) / (1 - rho)  // a^c / c! · 1/(1−ρ)
        let probabilityOfWaiting = last / (sum + last)
        return 1000 * (probabilityOfWaiting / (Double(c) * mu - lambda) + 1 / mu)
    }

    func assertMeanResponseTime(servers: Int, lambda: Double, mu: Double, expectedMs: Double,
                                duration: String, warmup: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let scenario = try loadScenario(queueScenario(
            servers: servers, arrivalsPerSecond: lambda, meanServiceMs: 1000 / mu, duration: duration, warmup: warmup))
        let outcomes = try runSeeds(scenario, seeds: 1...20)
        for outcome in outcomes {
            XCTAssertTrue(outcome.passed, "seed \(outcome.seed): \(outcome.checks)", file: file, line: line)
        }
        let means = outcomes.map { $0.metrics["latency_mean_ms"]! }
        let summary = Summary(means)
        XCTAssertEqual(summary.n, 20, file: file, line: line)
        XCTAssertLessThanOrEqual(summary.ciLow, expectedMs,
                                 "closed form \(expectedMs) ms outside CI [\(summary.ciLow), \(summary.ciHigh)]", file: file, line: line)
        XCTAssertGreaterThanOrEqual(summary.ciHigh, expectedMs,
                                    "closed form \(expectedMs) ms outside CI [\(summary.ciLow), \(summary.ciHigh)]", file: file, line: line)
        // A CI that contains everything proves nothing: it must also be tight.
        XCTAssertLessThan(summary.ciHigh - summary.ciLow, expectedMs * 0.2, "CI too wide to be a test", file: file, line: line)
    }

    func testMM1AtHalfLoad() throws {
        XCTAssertEqual(mm1ResponseTimeMs(lambda: 1000, mu: 2000), 1, accuracy: 1e-12)
        try assertMeanResponseTime(servers: 1, lambda: 1000, mu: 2000, expectedMs: 1, duration: "10s", warmup: "1s")
    }

    func testMM1AtNinetyPercentLoad() throws {
        try assertMeanResponseTime(servers: 1, lambda: 1800, mu: 2000,
                                   expectedMs: mm1ResponseTimeMs(lambda: 1800, mu: 2000), duration: "30s", warmup: "3s")
    }

    func testMMcErlangC() throws {
        // c = 4, ρ = 0.8: λ = 0.8 · 4 · μ.
        let mu = 2000.0
        let lambda = 0.8 * 4 * mu
        let expected = erlangCResponseTimeMs(servers: 4, lambda: lambda, mu: mu)
        // Sanity of the closed form itself: C(4, 3.2) = 0.5964 (tables), W = 0.5964/1600 + 1/2000 s.
        XCTAssertEqual(expected, 1000 * (0.596_4 / 1600 + 0.000_5), accuracy: 0.001)
        try assertMeanResponseTime(servers: 4, lambda: lambda, mu: mu, expectedMs: expected, duration: "10s", warmup: "1s")
    }

    func testUtilisationMatchesOfferedLoad() throws {
        let scenario = try loadScenario(queueScenario(servers: 2, arrivalsPerSecond: 1200, meanServiceMs: 1, duration: "20s", warmup: "0s"))
        let outcomes = try runSeeds(scenario, seeds: 1...5)
        let utilisation = Summary(outcomes.map { $0.metrics["utilization.queue"]! })
        XCTAssertEqual(utilisation.mean, 0.6, accuracy: 0.01)  // ρ = λ / (c μ) = 1200 / 2000
    }
}

final class QueueOnlySimulationTests: XCTestCase {
    func testBareMM1MatchesClosedFormAndIsDeterministic() {
        var first = QueueOnlySimulation(servers: 1, interarrival: .exponential(mean: 1e6), service: .exponential(mean: 0.5e6), seed: 4)
        var second = QueueOnlySimulation(servers: 1, interarrival: .exponential(mean: 1e6), service: .exponential(mean: 0.5e6), seed: 4)
        let a = first.run(customers: 200_000)
        let b = second.run(customers: 200_000)
        XCTAssertEqual(a.events, b.events)
        XCTAssertEqual(a.meanResponseNanos, b.meanResponseNanos)
        XCTAssertEqual(a.events, 400_000, "one arrival and one departure per customer")
        XCTAssertEqual(a.meanResponseNanos / 1e6, 1.0, accuracy: 0.05)  // W = 1/(μ−λ) = 1 ms
    }

    func testBareMMcWithSeveralServers() {
        var model = QueueOnlySimulation(servers: 4, interarrival: .exponential(mean: 1e9 / 6400), service: .exponential(mean: 0.5e6), seed: 2)
        let result = model.run(customers: 300_000)
        // Erlang C, c = 4, ρ = 0.8: W = 0.5964 / 1600 s + 0.5 ms = 0.8728 ms.
        XCTAssertEqual(result.meanResponseNanos / 1e6, 0.8728, accuracy: 0.04)
    }
}
