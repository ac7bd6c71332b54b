import Stats
import FaultPlan
import Foundation
import Live
import NIOCore
import Results
import Scenario

/// A live OAuth run's fault schedule on the shared timeline (`FaultTimeline`: the simulator's
/// order of faults and undos):
/// - `service(tokeninfo)`: the tokeninfo cluster crashed (SIGKILL, started again over the same
///   config and port when its `for:` ends or at `restart`) or paused (SIGSTOP, a node that
///   accepts connections and answers nothing: the slowdown to a standstill);
/// - `jwks` and `token-provider` (the simulator's two provider processes): the provider's JWKS
///   and revocation endpoints, or its token endpoint, stop answering (`ProviderOutages`) —
///   a JWKS partition, an issuance outage, both together a provider outage — `crash` and
///   `pause` alike, until the `for:` ends or `restart`/`resume`.
/// Anything else is refused up front (file:line:col, exit 2) rather than skipped.
public struct OAuthLiveFaults: Sendable {
    let scenario: Scenario
    let launcher: PaaSLauncher
    let runStart: NIODeadline
    let log: @Sendable (String) -> Void

    static let actions = ["crash", "restart", "pause", "resume"]
    static let targets: [Selector] = [.service("tokeninfo")] + ProviderOutages.faces.map { .node($0) }

    public static func validate(_ scenario: Scenario) throws {
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard actions.contains(fault.action.keyword) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live OAuth runs inject crash, restart, pause and resume of service(tokeninfo), jwks and token-provider; found '\(fault.action.keyword)'")
            }
            guard fault.action.selectors.allSatisfy(targets.contains) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live OAuth runs inject faults into service(tokeninfo), jwks and token-provider only; found \(fault.action.selectors.map { "\($0)" }.joined(separator: ", "))")
            }
        }
        if scenario.nemesis != nil {
            throw LiveError.badInput("\(scenario.sourceFile): nemesis: live OAuth runs have no nemesis; simulate it with `faultline run`")
        }
    }

    /// Whether the schedule takes a face of the provider down (its outage switch is then on).
    public static func touchesProvider(_ scenario: Scenario) -> Bool {
        scenario.faults.contains { $0.action.selectors.contains { ProviderOutages.faces.map(Selector.node).contains($0) } }
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// Runs the schedule; returns what happened, for the run's timeline.
    func run() async throws -> [TimelineEvent] {
        var timeline = FaultTimeline(scenario.faults)
        var events: [TimelineEvent] = []
        while let (at, step) = timeline.next() {
            let wait = Int64((runStart + .nanoseconds(at)).uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
            let kind: String
            let keyword: String
            let fault: FaultEvent
            switch step {
            case .fault(let index):
                fault = scenario.faults[index]
                keyword = fault.action.keyword
                kind = "fault"
                timeline.fired(index: index, at: at, leftUndo: keyword == "crash" || keyword == "pause")
            case .undo(let index):
                fault = scenario.faults[index]
                keyword = fault.action.keyword == "crash" ? "restart" : "resume"
                kind = "undo"
            case .nemesisStrike, .nemesisHeal:
                continue
            }
            for selector in fault.action.selectors {
                let nodes = try await carryOut(keyword, selector)
                let t = now()
                log(String(format: "t=%.3fs %@ %@ → %@", Double(t) / 1e9, keyword, "\(selector)", nodes.joined(separator: ", ")))
                events.append(TimelineEvent(atNanos: t, kind: kind, description: "\(keyword) \(selector)", nodes: nodes))
            }
        }
        return events
    }

    /// Carries out `keyword` on what `selector` names; returns the processes (or faces) hit.
    private func carryOut(_ keyword: String, _ selector: Selector) async throws -> [String] {
        if case .node(let face) = selector {
            // crash and pause both silence the face; restart and resume bring it back.
            try launcher.setOutage(face, down: keyword == "crash" || keyword == "pause")
            return [face]
        }
        let nodes = launcher.tokeninfoNames
        for node in nodes {
            switch keyword {
            case "crash": launcher.crash(process: node)
            case "restart": try await launcher.restart(process: node)
            case "pause": launcher.pause(process: node)
            case "resume": launcher.resume(process: node)
            default: break
            }
        }
        return nodes
    }

    /// After a run: every tokeninfo node running and resumed and every provider face up,
    /// whatever the schedule left, so the next strategy's run starts from a whole cluster.
    func restore() async throws {
        for node in launcher.tokeninfoNames {
            launcher.resume(process: node)
            try await launcher.restart(process: node)
        }
        if Self.touchesProvider(scenario) {
            for face in ProviderOutages.faces { try launcher.setOutage(face, down: false) }
        }
    }
}
