import Foundation
import XCTest

/// The architecture as a test (in the spirit of ArchUnit): reads the source tree and fails when a
/// driver reaches into the other driver, or when two modules define a type of the same name
/// (two `PublishLedger`s is how the simulator and the live client drifted apart).
final class LayeringTests: XCTestCase {
    /// `Sources/`, found from this file's path (Tests/ArchitectureTests/LayeringTests.swift).
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Every Swift file under `Sources/`, with the module (SwiftPM target) it belongs to: the
    /// folder that holds a module's files directly or through sub-folders, as Package.swift maps it.
    func swiftFiles() throws -> [(module: String, path: String, text: String)] {
        let package = try String(contentsOf: sources.deletingLastPathComponent().appendingPathComponent("Package.swift"), encoding: .utf8)
        // target name → folder (its `path:`, else Sources/<name>), one declaration at a time.
        var folders: [(name: String, folder: String)] = []
        let name = try NSRegularExpression(pattern: #"name: "([A-Za-z]+)""#)
        let path = try NSRegularExpression(pattern: #"path: "([^"]+)""#)
        for chunk in package.components(separatedBy: ".target(").dropFirst()
            + package.components(separatedBy: ".executableTarget(").dropFirst() {
            // A declaration ends where the next element of `targets:` starts (8 spaces in).
            let declaration = chunk.components(separatedBy: "\n        .")[0]
            let range = NSRange(declaration.startIndex..., in: declaration)
            guard let n = name.firstMatch(in: declaration, range: range) else { continue }
            let target = String(declaration[Range(n.range(at: 1), in: declaration)!])
            let folder = path.firstMatch(in: declaration, range: range)
                .map { String(declaration[Range($0.range(at: 1), in: declaration)!]) } ?? "Sources/\(target)"
            folders.append((target, folder))
        }
        XCTAssertGreaterThan(folders.count, 10, "Package.swift's targets were not found")
        let root = sources.deletingLastPathComponent().path + "/"
        var files: [(String, String, String)] = []
        let enumerator = FileManager.default.enumerator(atPath: sources.path)!
        for case let relative as String in enumerator where relative.hasSuffix(".swift") {
            let path = "Sources/" + relative
            // The longest matching folder owns the file (Sources/Core/X inside Sources/Core …).
            guard let owner = folders.filter({ path.hasPrefix($0.folder + "/") }).max(by: { $0.folder.count < $1.folder.count }) else {
                XCTFail("\(path) belongs to no target of Package.swift")
                continue
            }
            files.append((owner.name, path, try String(contentsOfFile: root + path, encoding: .utf8)))
        }
        return files.sorted { $0.1 < $1.1 }
    }

    func testLiveDriversDoNotImportTheSimulator() throws {
        let offenders = try swiftFiles().filter { $0.module.hasPrefix("Live") }
            .filter { $0.text.split(separator: "\n").contains { $0 == "import Sim" || $0 == "@testable import Sim" } }
            .map(\.path)
        XCTAssertEqual(offenders, [], "the live drivers share cores with the simulator, never the simulator itself")
    }

    /// Sans-IO cores, shared values and the live side never link the simulation kernel (virtual
    /// time, simulated network and disk); seeded randomness comes from `Sampling`.
    func testOnlyTheSimulatorUsesTheSimulationKernel() throws {
        let offenders = try swiftFiles()
            .filter { $0.path.hasPrefix("Sources/Core/") || $0.path.hasPrefix("Sources/Shared/") || $0.path.hasPrefix("Sources/Live/") }
            .filter { $0.text.split(separator: "\n").contains { $0 == "import SimCore" || $0 == "import Sim" } }
            .map(\.path)
        XCTAssertEqual(offenders, [])
    }

    /// The simulator's models (a folder each under `Sources/Sim/Driver`: stations, broker, mesh,
    /// accounts) own their state and events as value types: none extends `Simulation` (the run
    /// only routes events and carries out faults) and none hides its state in a class.
    func testSimulationModelsAreValueTypesThatOwnTheirState() throws {
        let modelFiles = try swiftFiles().filter { $0.module == "Sim" && $0.path.split(separator: "/").count == 5 }
        XCTAssertGreaterThanOrEqual(Set(modelFiles.map { $0.path.split(separator: "/")[3] }).count, 4, "the model folders moved")
        let offenders = modelFiles.filter {
            $0.text.contains("extension Simulation") || $0.text.range(of: #"(?m)^\s*(final\s+)?class\s"#, options: .regularExpression) != nil
        }.map(\.path)
        XCTAssertEqual(offenders, [])
    }

    func testNoTwoModulesDefineTheSameTypeName() throws {
        let declaration = try NSRegularExpression(
            pattern: #"^(?:(?:public|package|internal|fileprivate|private|final|indirect)\s+)*(?:struct|class|enum|protocol|actor|typealias)\s+([A-Z][A-Za-z0-9_]*)"#,
            options: [.anchorsMatchLines])
        var modulesOf: [String: Set<String>] = [:]
        for file in try swiftFiles() {
            let range = NSRange(file.text.startIndex..., in: file.text)
            for match in declaration.matches(in: file.text, range: range) {
                let name = String(file.text[Range(match.range(at: 1), in: file.text)!])
                modulesOf[name, default: []].insert(file.module)
            }
        }
        let clashes = modulesOf.filter { $0.value.count > 1 }.map { "\($0.key): \($0.value.sorted().joined(separator: ", "))" }.sorted()
        XCTAssertEqual(clashes, [], "one name, one meaning: rename one of each pair")
    }
}
