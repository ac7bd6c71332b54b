import Foundation
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

public enum Ports {
    /// A port that was free on 127.0.0.1 a moment ago (the kernel picks it; we release it).
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LiveError.failed("socket(): errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw LiveError.failed("bind(): errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw LiveError.failed("getsockname(): errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `count` distinct free ports.
    public static func free(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        while ports.count < count {
            let port = try free()
            if !ports.contains(port) { ports.append(port) }
        }
        return ports
    }
}

/// The broker settings of a scenario as the live nodes' replica template: the shared
/// mapping (BrokerSetup), plus fetch bounds that keep a fetch response under the peer frame limit.
enum LiveReplicaConfig {
    static func from(_ spec: BrokerSpec) -> ReplicaConfig {
        var config = ReplicaConfig(scenario: spec, brokerID: BrokerID(0))
        config.maxFetchBatch = 4096
        config.maxFetchBytes = 8 << 20
        return config
    }
}
