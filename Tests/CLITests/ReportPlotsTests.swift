import Foundation
import XCTest

/// `faultline report DIR --plots --html` end to end: the simulated failover's time series drawn
/// with its fault band, the percentile plot, the links in report.md and one self-contained HTML
/// file (the Chromium rendering check is in python/tests).
final class ReportPlotsTests: XCTestCase {
    /// A simulated leader crash at 1 s, 2 seeds, 100 ms windows (shared with python/tests).
    let scenario = CLI.packageRoot.appendingPathComponent("python/tests/failover-probe.yaml").path

    func testPlotsAndHTMLReportOfASimulatedFailover() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("out").path
        let run = try CLI.run(["run", scenario, "--out", out])
        XCTAssertEqual(run.status, 0, run.stderr + run.stdout)
        let report = try CLI.run(["report", out, "--plots", "--html"])
        XCTAssertEqual(report.status, 0, report.stderr)

        let indexData = try Data(contentsOf: URL(fileURLWithPath: out + "/plots/index.json"))
        let index = try XCTUnwrap(try JSONSerialization.jsonObject(with: indexData) as? [[String: Any]])
        let kinds = Set(index.compactMap { $0["kind"] as? String })
        XCTAssertTrue(kinds.contains("timeseries"), "\(kinds)")
        XCTAssertTrue(kinds.contains("percentiles"), "\(kinds)")
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("<!-- faultline-plots:begin -->"), markdown)
        for entry in index {
            let name = try XCTUnwrap(entry["file"] as? String)
            XCTAssertTrue(markdown.contains("plots/" + name), name)
            let size = try FileManager.default.attributesOfItem(atPath: out + "/plots/" + name)[.size] as? Int ?? 0
            XCTAssertGreaterThan(size, 1_000, name)
        }
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("data:image/png;base64,"), "images must be inline")
        XCTAssertFalse(html.contains("src=\"plots/"), "no external image references")

        // Drawing twice keeps one plots section.
        XCTAssertEqual(try CLI.run(["report", out, "--plots"]).status, 0)
        let again = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertEqual(again.components(separatedBy: "<!-- faultline-plots:begin -->").count, 2)
    }

    func testPlotsOfAMissingFolderAreBadInput() throws {
        let result = try CLI.run(["report", "/nonexistent/results", "--plots"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("no such file or folder"), result.stderr)
    }
}
