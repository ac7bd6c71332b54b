import ArgumentParser
import Foundation
import Scenario
import Sim

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check scenario files without running them (exit 2 if any is invalid).")

    @Argument(help: "Scenario files (YAML).")
    var scenarios: [String]

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a scenario value.", valueName: "key.path=value"))
    var overrides: [String] = []

    func run() throws {
        guard !scenarios.isEmpty else { throw BadInput("validate needs at least one scenario file") }
        var invalid = 0
        for path in scenarios {
            do {
                let model = try ScenarioLoader.load(path: path, overrides: overrides)
                // Building the world catches what only the simulator knows (e.g. a selector
                // for a model this scenario does not run).
                _ = try Simulation(scenario: model, seed: 1)
                var parts = ["\(model.cluster.nodes.count) nodes", "\(model.stations.count) stations"]
                if let mesh = model.mesh { parts.append("\(mesh.graph.serviceNames.count) services (\(mesh.graph.keyword))") }
                if let broker = model.broker { parts.append("\(broker.streams.count) streams") }
                if model.organisation != nil, let accounts = model.accounts {
                    parts.append("an organisation placed \(accounts.strategy.rawValue)")
                }
                parts.append("\(model.faults.count) faults")
                print("\(path): ok (\(model.name): \(parts.joined(separator: ", ")))")
            } catch let errors as ScenarioErrors {
                invalid += 1
                printError(errors.description)
            } catch let error as SimulationError {
                invalid += 1
                printError("\(path): \(error.description)")
            }
        }
        if invalid > 0 { throw ExitStatus.badInput.code }
    }
}
