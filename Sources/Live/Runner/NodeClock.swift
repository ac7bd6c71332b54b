import Foundation

/// A broker node's wall clock under a clock fault, through libfaketime (Debian `faketime`): the
/// node starts with the library preloaded and reads its offset and rate from a file the run
/// rewrites (read on every wall-clock call). Only CLOCK_REALTIME is faked (`FAKETIME_DONT_FAKE_MONOTONIC`): the node's timers
/// (Raft ticks, fetch intervals, timeouts) run on the monotonic clock, as they should, so a
/// clock fault reaches exactly what reads the wall clock — as the simulator's node clocks do.
///
/// Drift is the run's, not libfaketime's: its rate factor would also scale the process's sleeps
/// (the node's timers), which the simulator's drift does not touch. A drifting clock is an
/// offset that grows with true time — `offset + ppm·(t − since)` — and the run rewrites the
/// file every 20 ms (`LiveFaults.keepClocksDrifting`): at 200 ppm a step of 4 µs.
struct NodeClock: Sendable, Equatable {
    /// ns added to the real wall clock.
    var offset: Int64 = 0
    /// Runs fast (positive) or slow by this many parts per million, since `driftSince` (ns of
    /// the run), on top of `offset` — the simulator's clock arithmetic.
    var driftPPM: Double = 0
    var driftSince: Int64 = 0

    /// The drift accumulated by run time `t`.
    func drift(at t: Int64) -> Int64 {
        driftPPM == 0 ? 0 : Int64((Double(t - driftSince) * driftPPM / 1e6).rounded())
    }

    /// Changes the rate from `t` on, folding the drift so far into the offset (no step at `t`).
    mutating func setDrift(ppm: Double, at t: Int64) {
        offset += drift(at: t)
        driftSince = t
        driftPPM = ppm
    }

    /// What the node's clock file says at run time `t`: the offset with the drift so far.
    func reading(at t: Int64) -> NodeClock { NodeClock(offset: offset + drift(at: t)) }

    /// Where Debian puts the library.
    static let libraryCandidates = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                    "/usr/lib/faketime/libfaketime.so.1"]
    static var library: String? { libraryCandidates.first { FileManager.default.fileExists(atPath: $0) } }

    /// The environment a node under clock control starts with; its clock file in its folder.
    static func environment(clockFile: String, library: String) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = library
        env["FAKETIME_TIMESTAMP_FILE"] = clockFile
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        // Read the file on every faked call: with libfaketime's cache (FAKETIME_CACHE_DURATION,
        // whole seconds) a fault reached a node's clock only ~1 s after the file changed;
        // without it, within 30 ms (measured through the node's wall-clock gauge). Only wall-clock
        // reads pay for it (monotonic time is not faked).
        env["FAKETIME_NO_CACHE"] = "1"
        return env
    }

    /// libfaketime's relative format: `+3.250000` seconds.
    var specification: String { String(format: "%+.6f", Double(offset) / 1e9) }

    func write(to path: String) throws {
        try (specification + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
