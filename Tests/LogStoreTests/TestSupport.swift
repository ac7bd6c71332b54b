import Foundation
import Replication
import SimCore
import XCTest

/// A fresh directory under the system temp directory, removed by `tearDown`.
class TemporaryDirectoryTestCase: XCTestCase {
    private(set) var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("logstore-tests-\(UUID().uuidString)", isDirectory: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func files(withSuffix suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(suffix) }.sorted()
    }

    func fileSize(_ name: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path(name))[.size] as! Int
    }

    func chop(_ name: String, bytes: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        try handle.truncate(atOffset: UInt64(try fileSize(name) - bytes))
        try handle.close()
    }

    func flipByte(_ name: String, at position: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
        bytes[position] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }
}


/// Entries `start..<start+count` in `epoch`, with distinct message bytes of `size` each.
func makeEntries(from start: UInt64, count: Int, epoch: UInt64 = 1, size: Int = 20) -> [LogEntry] {
    (0..<count).map { i in
        let offset = start + UInt64(i)
        let data = (0..<size).map { UInt8(truncatingIfNeeded: Int(offset) &* 31 &+ $0 &+ Int(epoch)) }
        return LogEntry(
            offset: offset, leaderEpoch: epoch,
            payload: LogPayload(producerID: 7, producerEpoch: epoch + 1, sequence: offset * 3 + epoch, bytes: size, data: data))
    }
}

/// Stored size of a record with `size` message bytes.
func recordSize(_ size: Int) -> Int { 56 + size }
