import ArgumentParser
import Foundation

/// The one place that knows Faultline's exit codes (DESIGN.md, "Command line").
enum ExitStatus: Int32 {
    case ok = 0
    /// A check or SLO failed.
    case checkFailed = 1
    /// Bad input: usage or scenario error.
    case badInput = 2
    /// Internal error: a bug or an environment failure (disk full, unwritable output…).
    case internalError = 3
    /// Stopped by SIGINT or SIGTERM (128 + SIGINT, the shell's convention); everything the run
    /// started was stopped first.
    case interrupted = 130

    var code: ExitCode { ExitCode(rawValue) }
}

/// Bad input discovered by a command (not by ArgumentParser): printed, exit 2.
struct BadInput: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Anything else that stops a command: printed, exit 3.
struct InternalFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}
