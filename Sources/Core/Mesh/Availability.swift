import Scenario

/// Availability of a mesh run, counted alike by the simulator and the live load: every
/// legitimate request counts once, a success when it was answered `ok` (a timeout, an error or
/// a refusal is a failure), overall, inside each scheduled fault's window by when it was sent
/// (`availability_during_fault<i>_<action>`), and outside every window.
public struct Availability: Sendable {
    struct Window { var name: String; var from: Int64; var to: Int64 }
    private let windows: [Window]
    private var ok = 0.0, finished = 0.0, outsideOk = 0.0, outsideFinished = 0.0
    private var windowOk: [Double]
    private var windowFinished: [Double]

    public init(faults: [FaultEvent]) {
        windows = faults.enumerated().compactMap { i, fault in
            fault.duration.map { Window(name: "availability_during_fault\(i + 1)_\(fault.action.keyword)", from: fault.at, to: fault.at + $0) }
        }
        windowOk = Array(repeating: 0, count: windows.count)
        windowFinished = windowOk
    }

    /// One request, sent at `sentAt` (ns since the run's start).
    public mutating func count(sentAt: Int64, success: Bool) {
        let value = success ? 1.0 : 0.0
        finished += 1
        ok += value
        var inside = false
        for (w, window) in windows.enumerated() where sentAt >= window.from && sentAt < window.to {
            windowFinished[w] += 1
            windowOk[w] += value
            inside = true
        }
        if !inside {
            outsideFinished += 1
            outsideOk += value
        }
    }

    /// `availability`, each window's and `availability_outside_faults`, for what was counted.
    public var metrics: [(name: String, value: Double)] {
        var result: [(String, Double)] = []
        if finished > 0 { result.append(("availability", ok / finished)) }
        for (w, window) in windows.enumerated() where windowFinished[w] > 0 { result.append((window.name, windowOk[w] / windowFinished[w])) }
        if !windows.isEmpty && outsideFinished > 0 { result.append(("availability_outside_faults", outsideOk / outsideFinished)) }
        return result
    }
}
