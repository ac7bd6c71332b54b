import FaultPlan
import Foundation
import Live
import NIOCore
import Results
import Scenario

/// A live OAuth run's fault schedule: the tokeninfo cluster crashed (SIGKILL, started again
/// over the same config and port when its `for:` ends or at `restart`) or paused (SIGSTOP, a
/// node that accepts connections and answers nothing: the slowdown to a standstill), on the
/// shared timeline (`FaultTimeline`: the simulator's order of faults and undos). Anything else
/// is refused up front (file:line:col, exit 2) rather than skipped.
public struct OAuthLiveFaults: Sendable {
    let scenario: Scenario
    let launcher: PaaSLauncher
    let runStart: NIODeadline
    let log: @Sendable (String) -> Void

    static let actions = ["crash", "restart", "pause", "resume"]

    public static func validate(_ scenario: Scenario) throws {
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard actions.contains(fault.action.keyword) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live OAuth runs inject crash, restart, pause and resume of service(tokeninfo); found '\(fault.action.keyword)'")
            }
            guard fault.action.selectors.allSatisfy({ $0 == .service("tokeninfo") }) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live OAuth runs inject faults into service(tokeninfo) only; found \(fault.action.selectors.map { "\($0)" }.joined(separator: ", "))")
            }
        }
        if scenario.nemesis != nil {
            throw LiveError.badInput("\(scenario.sourceFile): nemesis: live OAuth runs have no nemesis; simulate it with `faultline run`")
        }
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// Runs the schedule; returns what happened, for the run's timeline.
    func run() async throws -> [TimelineEvent] {
        var timeline = FaultTimeline(scenario.faults)
        var events: [TimelineEvent] = []
        let nodes = launcher.tokeninfoNames
        while let (at, step) = timeline.next() {
            let wait = Int64((runStart + .nanoseconds(at)).uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
            let kind: String
            let keyword: String
            switch step {
            case .fault(let index):
                keyword = scenario.faults[index].action.keyword
                kind = "fault"
                try await carryOut(keyword, nodes)
                timeline.fired(index: index, at: at, leftUndo: keyword == "crash" || keyword == "pause")
            case .undo(let index):
                keyword = scenario.faults[index].action.keyword == "crash" ? "restart" : "resume"
                kind = "undo"
                try await carryOut(keyword, nodes)
            case .nemesisStrike, .nemesisHeal:
                continue
            }
            let t = now()
            log(String(format: "t=%.3fs %@ service(tokeninfo) → %@", Double(t) / 1e9, keyword, nodes.joined(separator: ", ")))
            events.append(TimelineEvent(atNanos: t, kind: kind, description: "\(keyword) service(tokeninfo)", nodes: nodes))
        }
        return events
    }

    private func carryOut(_ keyword: String, _ nodes: [String]) async throws {
        for node in nodes {
            switch keyword {
            case "crash": launcher.crash(process: node)
            case "restart": try await launcher.restart(process: node)
            case "pause": launcher.pause(process: node)
            case "resume": launcher.resume(process: node)
            default: break
            }
        }
    }

    /// After a run: every tokeninfo node running and resumed, whatever the schedule left, so the
    /// next strategy's run starts from a whole cluster.
    func restore() async throws {
        for node in launcher.tokeninfoNames {
            launcher.resume(process: node)
            try await launcher.restart(process: node)
        }
    }
}
