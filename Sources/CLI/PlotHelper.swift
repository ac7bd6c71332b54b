import Foundation

/// Faultline's charts and HTML report are drawn by matplotlib through the project's small Python
/// package `python/faultline_plots` (HdrHistogram-style percentile plots, time series with fault
/// bands, heatmaps, Pareto fronts): a well-kept plotting library instead of drawing by hand, and
/// the same code the notebooks in `notebooks/` import. This finds the package and its
/// interpreter, installs the pinned requirements when they are missing, and runs it.
struct PlotHelper {
    /// The folder holding `faultline_plots` and `requirements.txt`.
    let pythonFolder: String
    let interpreter: String

    /// `FAULTLINE_PYTHON` names the folder; otherwise the `python/` folder next to the sources
    /// this binary was built from (found walking up from the executable), or in the current folder.
    static func locate() throws -> PlotHelper {
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
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/faultline_plots/__main__.py") }) else {
            throw InternalFailure("--plots needs the project's python/faultline_plots package; set FAULTLINE_PYTHON to the folder that holds it (looked in \(candidates.joined(separator: ", ")))")
        }
        return PlotHelper(pythonFolder: found, interpreter: interpreter)
    }

    /// Installs `requirements.txt` with pip when its packages do not import.
    func ensureRequirements(log: (String) -> Void) throws {
        if try run(["-c", "import matplotlib, pandas, numpy, markdown"], quiet: true) == 0 { return }
        log("installing the plotting requirements (\(pythonFolder)/requirements.txt)…")
        let status = try run(["-m", "pip", "install", "--quiet", "-r", pythonFolder + "/requirements.txt"], quiet: false)
        guard status == 0 else {
            throw InternalFailure("could not install \(pythonFolder)/requirements.txt (pip exit \(status)); install it yourself: \(interpreter) -m pip install -r \(pythonFolder)/requirements.txt")
        }
    }

    /// Draws the plots of a results folder (and its HTML report when asked); the helper's own
    /// messages go to stderr. Returns its exit status.
    func draw(folder: String, html: Bool) throws -> Int32 {
        try run(["-m", "faultline_plots", folder] + (html ? ["--html"] : []), quiet: false)
    }

    private func run(_ arguments: [String], quiet: Bool) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [interpreter] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = pythonFolder + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        environment["MPLBACKEND"] = "Agg"
        process.environment = environment
        process.standardOutput = quiet ? FileHandle.nullDevice : FileHandle.standardError
        process.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
        do { try process.run() } catch { throw InternalFailure("cannot start \(interpreter): \(error)") }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
