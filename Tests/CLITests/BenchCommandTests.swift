import Foundation
import XCTest

/// `faultline bench`: figures with goals, recorded as a results folder that `compare` reads.
final class BenchCommandTests: XCTestCase {
    func testQuickBenchPrintsFiguresWithGoalsAndRecordsThemForCompare() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("bench").path
        let result = try CLI.run(["bench", "--quick", "--only", "kernel,station,report,replication", "--rounds", "2", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        for figure in ["kernel_events_per_s", "station_events_per_s", "report_seconds", "replication_events_per_s",
                       "replication_process_realtime_x"] {
            XCTAssertTrue(result.stdout.contains("| \(figure) |"), "\(figure) missing:\n\(result.stdout)")
        }
        XCTAssertTrue(result.stdout.contains("≥ 200.0"), "the 200x goal of the whole process is shown")
        XCTAssertFalse(result.stdout.contains("mesh_events_per_s"), "--only limits the benchmarks")

        // The folder holds one run per round with every figure as a metric and goals as checks.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")), as: UTF8.self)
        XCTAssertTrue(text.contains("replication_events_per_s"), text)
        XCTAssertTrue(text.contains("goal_replication_process_realtime_x"), text)
        XCTAssertEqual((summary["runs"] as? [Any])?.count, 2, "one run per round")

        // compare reads it; the same folder against itself regresses nothing.
        let compare = try CLI.run(["compare", out, out])
        XCTAssertEqual(compare.status, 0, compare.stdout + compare.stderr)
        XCTAssertTrue(compare.stdout.contains("replication_events_per_s"), compare.stdout)
    }

    func testUnknownBenchmarkIsBadInput() throws {
        let result = try CLI.run(["bench", "--only", "kernel,warp-drive"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("unknown benchmark 'warp-drive'"), result.stderr)
    }
}
