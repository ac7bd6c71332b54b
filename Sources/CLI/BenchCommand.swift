import ArgumentParser
import Foundation
import Scenario
import Sim
import SimCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel and station-model speed (events per second of wall time). Build with -c release.")

    @Option(name: .long, help: "Events for the kernel benchmark.")
    var events: Int = 20_000_000

    @Option(name: .long, help: "Customers for the M/M/1 station benchmark.")
    var customers: Int = 1_000_000

    @Option(name: .long, help: "Repetitions of each benchmark (the best is reported).")
    var repeats: Int = 3

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    /// A payload as large as the simulator's own events, so the heap moves realistic bytes.
    enum BenchEvent: Sendable {
        case arrival(Int32)
        case delivery(station: Int32, request: UInt64)
        case done(station: Int32, server: Int32, incarnation: UInt32)
    }

    func run() throws {
        guard events > 0, customers > 0, repeats > 0 else { throw BadInput("--events, --customers and --repeats must be positive") }
        let kernel = (0..<repeats).map { _ in kernelRate() }.max()!
        var best: (rate: Double, customers: Double, events: UInt64, seconds: Double) = (0, 0, 0, 0)
        for _ in 0..<repeats {
            let result = try stationRate()
            if result.rate > best.rate { best = result }
        }
        let bare = (0..<repeats).map { _ in queueOnlyRate() }.max { $0.customers < $1.customers }!
        if json {
            print("""
                {"kernel_events_per_s": \(Int(kernel)), "station_events_per_s": \(Int(best.rate)), \
                "station_customers_per_s": \(Int(best.customers)), "station_events": \(best.events), \
                "station_customers": \(customers), "station_seconds": \(best.seconds), \
                "queue_events_per_s": \(Int(bare.events / bare.seconds)), "queue_customers_per_s": \(Int(bare.customers)), \
                "queue_events": \(Int(bare.events)), "queue_seconds": \(bare.seconds), "queue_mean_response_ms": \(bare.meanMs)}
                """)
        } else {
            print("kernel (hold model, 1000 pending events, \(events) events): \(format(kernel)) events/s")
            print("station scenario (M/M/1, ρ=0.5, via the full simulator: client, 2 network hops, checks, histogram; \(customers) customers, \(best.events) events): \(format(best.rate)) events/s, \(format(best.customers)) customers/s")
            print("bare M/M/1 queue (Station + EventQueue only, like SimPy's textbook model; \(customers) customers, \(Int(bare.events)) events): \(format(bare.events / bare.seconds)) events/s, \(format(bare.customers)) customers/s, mean response \(String(format: "%.4f", bare.meanMs)) ms (theory 1 ms)")
        }
    }

    /// The classic "hold" benchmark: pop the earliest event, schedule one a random time later.
    func kernelRate() -> Double {
        var queue = EventQueue<BenchEvent>(capacity: 2048)
        var rng = SeededGenerator(seed: 42)
        let gap = Distribution.exponential(mean: 1_000)
        for i in 0..<1000 { queue.schedule(.arrival(Int32(i)), at: gap.sampleNanos(&rng)) }
        var checksum: UInt64 = 0
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<events {
            let event = queue.popNext()!
            switch event.payload {
            case .arrival(let w): checksum &+= UInt64(w)
            case .delivery(_, let r): checksum &+= r
            case .done(_, let s, _): checksum &+= UInt64(s)
            }
            let next: BenchEvent = checksum & 1 == 0
                ? .delivery(station: 1, request: event.sequence) : .arrival(Int32(truncatingIfNeeded: event.sequence))
            queue.schedule(next, at: event.time + gap.sampleNanos(&rng))
        }
        let seconds = (clock.now - start).seconds
        if checksum == 42 { print("") }  // keeps the loop from being optimised away
        return Double(events) / seconds
    }

    func stationRate() throws -> (rate: Double, customers: Double, events: UInt64, seconds: Double) {
        // λ = 1000/s, mean service 0.5 ms → ρ = 0.5; zero network latency: a pure queue.
        let seconds = Double(customers) / 1000
        let yaml = """
            name: bench-mm1
            duration: \(Int(seconds.rounded(.up)))s
            seeds: 1
            cluster: { nodes: 1 }
            stations: [ { name: server, node: n1, servers: 1, service: { exponential: 0.5ms } } ]
            workload: [ { requests: { station: server, rate: { poisson: 1000/s } } } ]
            """
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "bench-mm1.yaml")
        var simulation = try Simulation(scenario: scenario, seed: 1)
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = simulation.run()
        let elapsed = (clock.now - start).seconds
        let served = outcome.metrics["requests"] ?? 0
        return (Double(outcome.events) / elapsed, served / elapsed, outcome.events, elapsed)
    }

    func queueOnlyRate() -> (customers: Double, events: Double, seconds: Double, meanMs: Double) {
        var model = QueueOnlySimulation(servers: 1, interarrival: .exponential(mean: 1e6), service: .exponential(mean: 0.5e6), seed: 1)
        let clock = ContinuousClock()
        let start = clock.now
        let result = model.run(customers: customers)
        let seconds = (clock.now - start).seconds
        return (Double(customers) / seconds, Double(result.events), seconds, result.meanResponseNanos / 1e6)
    }

    func format(_ rate: Double) -> String {
        rate >= 1e6 ? String(format: "%.2f M", rate / 1e6) : String(format: "%.0f", rate)
    }
}
