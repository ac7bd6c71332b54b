import Foundation
import Live
import NIOPosix
import Sampling
import Scenario
import XCTest

/// `faultline calibrate` for broker scenarios: its measurements run through the broker's own
/// store and a loopback connection, and its profile applies to the scenario it measured.
final class BrokerCalibrationTests: XCTestCase {
    func testMeasuresTheStoreAndLoopbackAndWritesAProfileTheScenarioAccepts() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calibration-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var result = BrokerCalibrationResult(messageBytes: 512)
        try BrokerCalibration.measureDisk(folder: folder + "/disk", nodes: 2, samples: 40, into: &result)
        // Two stores, 40 samples each (after a warm-up tenth); a synced batch costs more than a write.
        XCTAssertEqual(result.writeBatch.count, 80)
        XCTAssertEqual(result.syncedBatch.count, 80)
        XCTAssertGreaterThan(result.syncedBatch.percentile(50), result.writeBatch.percentile(50))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/disk"), "the measured files are removed")

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        try await BrokerCalibration.measureLoopback(samples: 50, group: group, into: &result)
        try await group.shutdownGracefully()
        XCTAssertEqual(result.loopbackRoundTrip.count, 50)
        XCTAssertGreaterThan(result.oneWay.p50, 0)

        result.liveSteadyP50 = 3000
        result.simSteadyP50 = 2990
        result.fittedOneWay = (400, 900)
        let profile = folder + "/broker-profile.yaml"
        try result.profile(host: "test", date: "2026-12-04T00:00:00Z").write(toFile: profile, atomically: true, encoding: .utf8)
        let overrides = try ScenarioProfile.overrides(fromFile: profile)
        XCTAssertEqual(overrides.count, 3)
        XCTAssertTrue(overrides.contains("cluster.network.latency={lognormal: {median: 400us, p99: 900us}}"), "\(overrides)")
        let scenario = try ScenarioLoader.load(path: repositoryRoot + "/Scenarios/live/broker-failover.yaml", overrides: overrides)
        // A lognormal of median 400 µs and p99 900 µs has a mean of about 425 µs.
        XCTAssertEqual(scenario.cluster.network.latency.mean ?? 0, 425_000, accuracy: 10_000)
        XCTAssertGreaterThan(scenario.cluster.disk.fsync.mean ?? 0, 0)
    }

    private var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
