import ArgumentParser
import Foundation
import Results

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a results folder (or its results.sqlite) as Markdown, JSON or CSV.")

    @Argument(help: "A results folder or a results.sqlite file.")
    var source: String

    @Option(name: .long, help: "md, json or csv.")
    var format: String = "md"

    func run() throws {
        guard let format = ReportFormat(rawValue: format) else {
            throw BadInput("--format: expected md, json or csv, found '\(format)'")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw BadInput("\(source): no such file or folder")
        }
        let database = isDirectory.boolValue ? source + "/results.sqlite" : source
        guard FileManager.default.fileExists(atPath: database) else {
            throw BadInput("\(source): no results.sqlite inside")
        }
        let set: RunSet
        do {
            set = try ResultsStore(path: database).load()
        } catch {
            throw BadInput("\(database): not a Faultline results database (\(error))")
        }
        print(ReportRenderer.render(set, format: format))
    }
}
