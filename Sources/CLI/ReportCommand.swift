import ArgumentParser
import Foundation
import Results

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a results folder (or its results.sqlite) as Markdown, JSON or CSV; draw its plots and HTML report.")

    @Argument(help: "A results folder or a results.sqlite file.")
    var source: String

    @Option(name: .long, help: "md, json or csv.")
    var format: String = "md"

    @Flag(name: .long, help: "Also draw the results' charts into DIR/plots and link them from DIR/report.md (matplotlib, through python/faultline_plots).")
    var plots = false

    @Flag(name: .long, help: "Also write DIR/report.html: the report with its charts inline, one self-contained file (implies --plots).")
    var html = false

    /// A results folder (or its results.sqlite) read whole; whether `source` is a folder.
    static func loadResults(_ source: String) throws -> (RunSet, isDirectory: Bool) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw BadInput("\(source): no such file or folder")
        }
        let database = isDirectory.boolValue ? source + "/results.sqlite" : source
        guard FileManager.default.fileExists(atPath: database) else {
            throw BadInput("\(source): no results.sqlite inside")
        }
        do {
            return (try ResultsStore(path: database).load(), isDirectory.boolValue)
        } catch {
            throw BadInput("\(database): not a Faultline results database (\(error))")
        }
    }

    func run() throws {
        guard let format = ReportFormat(rawValue: format) else {
            throw BadInput("--format: expected md, json or csv, found '\(format)'")
        }
        let (set, isDirectory) = try Self.loadResults(source)
        let summary = format == .csv && !(plots || html) ? nil : SummaryBuilder.build(set)
        print(ReportRenderer.render(set, summary: summary, format: format))
        guard plots || html else { return }
        let folder = isDirectory ? source : (source as NSString).deletingLastPathComponent
        let reportPath = (folder.isEmpty ? "." : folder) + "/report.md"
        if !FileManager.default.fileExists(atPath: reportPath) {
            // A bare results.sqlite: the plots link from a report next to it.
            try ReportRenderer.render(set, summary: summary, format: .md).write(toFile: reportPath, atomically: true, encoding: .utf8)
        }
        let helper = try PythonHelper.locate(package: "faultline_plots", neededFor: "--plots")
        try helper.ensureRequirements(imports: "matplotlib, pandas, numpy, markdown") { printError($0) }
        let status = try helper.runModule("faultline_plots", [folder.isEmpty ? "." : folder] + (html ? ["--html"] : []))
        if status == 2 { throw BadInput("\(source): the plot helper refused these results (its message is above)") }
        guard status == 0 else { throw InternalFailure("the plot helper failed (exit \(status))") }
    }
}
