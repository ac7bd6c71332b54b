import ArgumentParser
import Foundation
import Live
import LiveHTTP
import LivePaaS
import NIOCore
import NIOPosix

/// The live PaaS's two ceilings, measured (never asserted): local ES256 verifications per
/// second on one core, and the load driver's maximum request rate against an HTTP endpoint
/// (compare with `wrk` on the same endpoint: `scripts/bench-paas` does both comparisons).
struct BenchPaaSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-paas",
        abstract: "Measure ES256 verifications per second per core and the HTTP load driver's maximum rate. Build with -c release.")

    @Option(help: "Seconds of the verification benchmark (0: skip it).")
    var verifySeconds: Double = 3

    @Option(help: "An http://host:port/path to drive closed-loop at full speed (wrk's model).")
    var http: String?

    @Option(help: "Connections for --http.")
    var connections: Int = 8

    @Option(help: "Requests in flight per connection for --http (1 = no pipelining, like wrk).")
    var inFlight: Int = 1

    @Option(help: "Seconds of the --http run.")
    var seconds: Double = 5

    @Option(help: "Event-loop threads of the driver for --http.")
    var threads: Int = 1

    func validate() throws {
        if connections < 1 || inFlight < 1 || threads < 1 || seconds <= 0 || verifySeconds < 0 {
            throw ValidationError("--connections, --in-flight, --threads and --seconds must be positive")
        }
    }

    func run() throws {
        if verifySeconds > 0 {
            let rates = VerifyBenchmark.run(seconds: verifySeconds)
            print("es256 verify (signature only, 1 thread): \(Int(rates.verify))/s")
            print("es256 local validation (decode + TokenRules.check, 1 thread): \(Int(rates.validate))/s")
        }
        if let http {
            let endpoint = try runLive { try HTTPEndpoint(http) }
            let (connections, inFlight, seconds, threads) = (connections, inFlight, seconds, threads)
            let result = try runLive {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
                let load = OpenLoopHTTPLoad(host: endpoint.host, port: endpoint.port, connections: connections,
                                            maxInFlightPerConnection: inFlight, timeout: .seconds(5))
                let result = try await load.runClosedLoop(duration: .nanoseconds(Int64(seconds * 1e9)), group: group) { _ in
                    .get(endpoint.path)
                }
                try? await group.shutdownGracefully()
                return result
            }
            let l = result.recorder.uncorrected
            print("http driver (closed loop, \(connections) connections × \(inFlight), \(threads) thread(s), \(seconds) s): "
                  + "\(Int(result.achievedRate)) req/s, p50 \(String(format: "%.3f", l.percentile(50) / 1e6)) ms, "
                  + "p99 \(String(format: "%.3f", l.percentile(99) / 1e6)) ms, errors \(result.errors), statuses \(result.statusCounts.map { "\($0.status): \($0.count)" }.joined(separator: ", "))")
        }
    }
}
