import Foundation

/// Faultline's Python side: charts and the HTML report are drawn by matplotlib through
/// `python/faultline_plots` (a well-kept plotting library instead of drawing by hand, and the same
/// code the notebooks import); sweeps beyond one machine run on Dask through
/// `python/faultline_dask`. This finds the project's `python/` folder and an interpreter,
/// installs the pinned requirements when they are missing, and runs a package's module.
struct PythonHelper {
    /// The folder holding the packages and `requirements.txt`.
    let pythonFolder: String
    let interpreter: String

    /// `FAULTLINE_PYTHON` names the folder; otherwise the `python/` folder next to the sources
    /// this binary was built from (found walking up from the executable), or in the current folder.
    static func locate(package: String, neededFor purpose: String) throws -> PythonHelper {
        let environment = ProcessInfo.processInfo.environment
        let interpreter = environment["FAULTLINE_PYTHON_BIN"] ?? "python3"
        var candidates: [String] = []
        if let explicit = environment["FAULTLINE_PYTHON"] { candidates.append(explicit) }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent("python").path)
            folder.deleteLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/python")
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: "\($0)/\(package)/__main__.py") }) else {
            throw InternalFailure("\(purpose) needs the project's python/\(package) package; set FAULTLINE_PYTHON to the folder that holds it (looked in \(candidates.joined(separator: ", ")))")
        }
        return PythonHelper(pythonFolder: found, interpreter: interpreter)
    }

    /// Installs `requirements.txt` with pip when `imports` (a comma-separated module list) fail.
    func ensureRequirements(imports: String, log: (String) -> Void) throws {
        if try run(["-c", "import \(imports)"], quiet: true) == 0 { return }
        log("installing the Python requirements (\(pythonFolder)/requirements.txt)…")
        let status = try run(["-m", "pip", "install", "--quiet", "-r", pythonFolder + "/requirements.txt"], quiet: false)
        guard status == 0 else {
            throw InternalFailure("could not install \(pythonFolder)/requirements.txt (pip exit \(status)); install it yourself: \(interpreter) -m pip install -r \(pythonFolder)/requirements.txt")
        }
    }

    /// Runs `python -m module arguments…`. Its stdout goes to stderr unless `stdoutToStdout`
    /// (a command whose stdout is a report keeps it clean). Returns the exit status.
    func runModule(_ module: String, _ arguments: [String], stdoutToStdout: Bool = false) throws -> Int32 {
        try run(["-m", module] + arguments, quiet: false, stdoutToStdout: stdoutToStdout)
    }

    /// Runs `python -m module arguments…` and returns its exit status and stdout (stderr passes through).
    func runModuleCapturing(_ module: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = makeProcess(["-m", module] + arguments)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { throw InternalFailure("cannot start \(interpreter): \(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func makeProcess(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = pythonFolder + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        environment["MPLBACKEND"] = "Agg"
        process.environment = environment
        return process
    }

    private func run(_ arguments: [String], quiet: Bool, stdoutToStdout: Bool = false) throws -> Int32 {
        let process = makeProcess(arguments)
        process.standardOutput = quiet ? FileHandle.nullDevice : (stdoutToStdout ? FileHandle.standardOutput : FileHandle.standardError)
        process.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
        do { try process.run() } catch { throw InternalFailure("cannot start \(interpreter): \(error)") }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
