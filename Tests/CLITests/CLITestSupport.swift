import Foundation
import XCTest

/// Runs the built `faultline` executable in a separate process (so each run gets its own
/// randomised hashing seed, which is what the determinism test relies on).
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var executable: URL {
        // The test bundle sits next to the products it was built with (.build/<config>/).
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("faultline")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/faultline")
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: URL? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? packageRoot
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting: a full pipe would otherwise block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("faultline-tests-\(ProcessInfo.processInfo.globallyUniqueString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

/// Scenarios several CLI tests share.
enum CLIFixtures {
    /// One stream on n1 and n2 with lazy fsync (every 1 s) under 300 msg/s, `ack: all`: losing
    /// power on both replicas loses acknowledged messages. Callers add `faults:` and `checks:`.
    static func lazyFsyncStream(name: String, duration: String) -> String {
        """
        name: \(name)
        duration: \(duration)
        warmup: 500ms
        cluster:
          nodes: 3
          network: { latency: { constant: 0.3ms } }
          disk: { fsync: { constant: 1ms } }
        broker:
          streams: [{ name: orders, replication_factor: 2, min_isr: 1, replicas: [n1, n2] }]
          ack_policy: all
          fsync: { interval: 1s }
        workload:
          - publish: { stream: orders, rate: 300/s, size: 64B, timeout: 500ms, retries: 5 }

        """
    }
}
