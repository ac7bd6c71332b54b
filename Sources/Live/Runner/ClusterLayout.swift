import Foundation
import NIOConcurrencyHelpers
import LiveBroker
import Replication
import Scenario
import BrokerSetup
#if canImport(Glibc)
import Glibc
#endif

/// What `cluster up` started, written to `<folder>/cluster.json` so that `status`, `down` and
/// the load driver find the processes (by pid) and their ports again.
public struct ClusterState: Codable, Sendable {
    public struct Node: Codable, Sendable {
        public var name: String
        public var config: String
        public var log: String
        public var pid: Int32?
        public var metricsPort: Int
        public var address: BrokerAddress
    }

    public var scenario: String
    public var folder: String
    public var nodes: [Node]
    public var nats: NATSState?
    public var streams: [StreamDefinitionState]

    public struct NATSState: Codable, Sendable {
        public var pids: [Int32]
        public var clientPorts: [Int]
        public var logs: [String]
    }

    public struct StreamDefinitionState: Codable, Sendable {
        public var name: String
        public var subject: String
        public var replicationFactor: Int
        public var minISR: Int
        /// The scenario's explicit placement (`replicas:`), as the simulator places it; nil = spread.
        public var replicas: [String]? = nil
    }

    public static func path(in folder: String) -> String { folder + "/cluster.json" }

    public func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.path(in: folder)), options: .atomic)
    }

    public static func load(folder: String) throws -> ClusterState {
        let path = path(in: folder)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LiveError.badInput("no cluster state at \(path): run `faultline cluster up` first (or pass the folder it printed)")
        }
        return try JSONDecoder().decode(ClusterState.self, from: data)
    }
}

public enum LiveError: Error, CustomStringConvertible, Sendable {
    /// The scenario or the command line asks for something live mode cannot do (exit code 2).
    case badInput(String)
    /// Something failed while running (exit code 3).
    case failed(String)

    public var description: String {
        switch self {
        case .badInput(let s), .failed(let s): s
        }
    }
}

/// Ports for the servers a run starts, free on 127.0.0.1 when chosen and released for the
/// server to bind. They come from *outside* the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`): a port the kernel hands out for `bind(0)` is
/// also what it hands any outgoing connection as its source port, so between choosing one and
/// the server binding it, a client connection (the load driver's, the fault proxy's) could take
/// it — it did: a node died on "Address already in use" in a chaos run. Ports below the range
/// are never taken implicitly. Each port is handed out once per process.
public enum Ports {
    private static let handedOut = NIOLockedValueBox<Set<Int>>([])

    /// The ports to choose from: below the ephemeral range (from 10000), else above it.
    static func candidates() -> ClosedRange<Int> {
        var low = 32768, high = 60999
        if let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) {
            let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
            if parts.count == 2 { (low, high) = (parts[0], parts[1]) }
        }
        if low > 12000 { return 10000...(low - 1) }
        if high < 63000 { return (high + 1)...65535 }
        return 10000...65535  // no room outside the range: any port, checked free
    }

    /// Whether `port` can be bound on 127.0.0.1 now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port that was free on 127.0.0.1 a moment ago, outside the ephemeral range.
    public static func free() throws -> Int {
        try free(1)[0]
    }

    /// `count` distinct free ports, from a random place in the candidates on.
    public static func free(_ count: Int) throws -> [Int] {
        let range = candidates()
        var generator = SystemRandomNumberGenerator()
        var port = Int.random(in: range, using: &generator)
        var ports: [Int] = []
        var tried = 0
        while ports.count < count {
            guard tried < range.count else { throw LiveError.failed("no free port on 127.0.0.1 in \(range)") }
            tried += 1
            port = port == range.upperBound ? range.lowerBound : port + 1
            let fresh = handedOut.withLockedValue { $0.insert(port).inserted }
            if fresh && isFree(port) { ports.append(port) }
        }
        return ports
    }
}

/// The broker settings of a scenario as the live nodes' replica template: the shared
/// mapping (BrokerSetup), plus fetch bounds that keep a fetch response under the peer frame limit,
/// and long-poll fetches unless the scenario sets `broker.fetch_wait` (the simulator's default
/// stays 0 so that its traces do not change).
enum LiveReplicaConfig {
    static func from(_ spec: BrokerSpec) -> ReplicaConfig {
        var config = ReplicaConfig(scenario: spec, brokerID: BrokerID(0))
        config.fetchWaitNanos = spec.fetchWait ?? min(BrokerNodeConfig.defaultFetchWaitNanos, spec.leaderTimeout / 3)
        config.maxFetchBatch = 4096
        config.maxFetchBytes = 8 << 20
        return config
    }
}
