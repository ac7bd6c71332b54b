import Foundation
@testable import LiveBroker
import LogStore
import Sampling
import XCTest

/// The storage failpoints through the store's file seam: what a power loss keeps, renames,
/// slow and failing fsyncs.
final class StorageFailpointsTests: XCTestCase {
    private var root: String!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("failpoints-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/streams/s-6f", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    private func files(track: Bool = true) -> (FailpointFileSystem, StorageFailpoints) {
        let failpoints = StorageFailpoints(config: FailpointConfig(seed: 1, trackSynced: track), root: root)
        return (FailpointFileSystem(base: PosixFileSystem(), failpoints: failpoints), failpoints)
    }

    private func size(_ relative: String) throws -> UInt64 {
        try XCTUnwrap((FileManager.default.attributesOfItem(atPath: root + "/" + relative)[.size] as? NSNumber)?.uint64Value)
    }

    func testAPowerLossKeepsOnlyWhatWasSynced() throws {
        let (fs, _) = files()
        let segment = try fs.open(root + "/streams/s-6f/00000000.log", create: true, truncate: false, readOnly: false)
        try segment.write(Array(repeating: 1, count: 100), at: 0)
        try segment.sync()
        try segment.write(Array(repeating: 2, count: 50), at: 100)
        let neverSynced = try fs.open(root + "/streams/s-6f/00000001.log", create: true, truncate: false, readOnly: false)
        try neverSynced.write(Array(repeating: 3, count: 30), at: 0)
        segment.close()
        neverSynced.close()
        XCTAssertEqual(try size("streams/s-6f/00000000.log"), 150)

        let dropped = try LoseUnsynced.apply(root: root)
        XCTAssertEqual(dropped, 50 + 30)
        XCTAssertEqual(try size("streams/s-6f/00000000.log"), 100)
        XCTAssertEqual(try size("streams/s-6f/00000001.log"), 0)
        // A second power loss without new writes drops nothing.
        XCTAssertEqual(try LoseUnsynced.apply(root: root), 0)
    }

    func testARenamedCheckpointKeepsItsSyncedLength() throws {
        try FileManager.default.createDirectory(atPath: root + "/raft", withIntermediateDirectories: true)
        let (fs, _) = files()
        let temporary = try fs.open(root + "/raft/hardstate.tmp", create: true, truncate: true, readOnly: false)
        try temporary.write(Array(repeating: 7, count: 24), at: 0)
        try temporary.sync()
        temporary.close()
        try fs.rename(root + "/raft/hardstate.tmp", to: root + "/raft/hardstate")
        XCTAssertEqual(try LoseUnsynced.apply(root: root), 0, "the synced checkpoint survives under its new name")
        XCTAssertEqual(try size("raft/hardstate"), 24)
    }

    func testFsyncErrorFailsTheSyncAndSlowFsyncWaits() throws {
        let (fs, failpoints) = files(track: false)
        let file = try fs.open(root + "/streams/s-6f/00000000.log", create: true, truncate: false, readOnly: false)
        defer { file.close() }
        try file.write([1, 2, 3], at: 0)
        failpoints.arm(.init(fsyncDelay: .constant(80_000_000)))
        let start = Date()
        try file.sync()
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.075)
        failpoints.arm(.init(fsyncError: true))
        XCTAssertThrowsError(try file.sync()) { XCTAssertTrue("\($0)".contains("EIO")) }
        failpoints.arm(.init())
        XCTAssertNoThrow(try file.sync())
    }

    func testSettingsTravelAsJSON() throws {
        let settings = StorageFailpoints.Settings(fsyncDelay: .uniform(low: 2e7, high: 6e7), fsyncError: false)
        let decoded = try JSONDecoder().decode(StorageFailpoints.Settings.self, from: JSONEncoder().encode(settings))
        XCTAssertEqual(decoded, settings)
    }
}
