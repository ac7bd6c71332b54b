import ArgumentParser
import Foundation
import Scenario
import Sim

struct Faultline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faultline",
        abstract: "Simulate (deterministically) or run live a cluster scenario, with faults, checks and honest statistics.",
        discussion: """
            Exit codes: 0 all checks and SLOs held; 1 a check or SLO failed; 2 bad input; 3 internal error.
            """,
        version: FaultlineVersion.current,
        subcommands: [RunCommand.self, ValidateCommand.self, ReplayCommand.self, ShrinkCommand.self, ExplainCommand.self, SweepCommand.self,
                      ReportCommand.self, BenchCommand.self, LoadCommand.self, ChaosCommand.self, ClusterCommand.self, ServeCommand.self,
                      CalibrateCommand.self, BenchPaaSCommand.self, CompareCommand.self, BaselineCommand.self,
                      RunJobsCommand.self, MergeCommand.self])
}

// ArgumentParser's own exit code for usage errors is 64; Faultline's contract says 2.
/// The arguments: argv, or — for a broker node started under libfaketime (live clock faults),
/// where the preloaded library's constructor leaves Swift an empty argv — the launcher's copy in
/// `FAULTLINE_ARGUMENTS` (separated by U+001F, the unit separator: an environment value cannot hold NUL).
func commandArguments() -> [String] {
    let argv = Array(CommandLine.arguments.dropFirst())
    if argv.isEmpty, let saved = ProcessInfo.processInfo.environment["FAULTLINE_ARGUMENTS"] {
        return saved.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
    }
    return argv
}

do {
    let arguments = commandArguments()
    AllocatorTuning.applyIfSimulating(arguments)
    var command = try Faultline.parseAsRoot(arguments)
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch let errors as ScenarioErrors {
    printError(errors.description)
    Foundation.exit(ExitStatus.badInput.rawValue)
} catch let error as BadInput {
    printError("error: \(error.description)")
    Foundation.exit(ExitStatus.badInput.rawValue)
} catch let error as SimulationError {
    printError("error: \(error.description)")
    Foundation.exit(ExitStatus.badInput.rawValue)
} catch let error as InternalFailure {
    printError("internal error: \(error.description)")
    Foundation.exit(ExitStatus.internalError.rawValue)
} catch {
    let code = Faultline.exitCode(for: error)
    if code == .success {
        print(Faultline.fullMessage(for: error))
        Foundation.exit(0)
    }
    // Errors thrown by ArgumentParser while parsing are usage errors; anything else is ours.
    let message = Faultline.fullMessage(for: error)
    printError(message)
    let isUsage = code == .validationFailure || message.hasPrefix("Error:") || message.contains("Usage:")
    Foundation.exit(isUsage ? ExitStatus.badInput.rawValue : ExitStatus.internalError.rawValue)
}
