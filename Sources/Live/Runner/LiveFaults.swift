import Foundation
import NIOCore
import Scenario
import SimCore

/// Runs a scenario's fault schedule against live processes: `crash` (SIGKILL), `restart`,
/// `pause` (SIGSTOP) and `resume` (SIGCONT), by node name or by role — `leader(stream)`,
/// `follower(stream)`, `metadata-leader` — resolved at the moment the fault fires. Network,
/// clock and disk faults need the chaos runner of a later issue and are refused up front.
struct LiveFaults: Sendable {
    let scenario: Scenario
    let environment: LiveEnvironment
    let runStart: NIODeadline
    let log: @Sendable (String) -> Void

    struct Fired: Sendable {
        /// ns since the run's start.
        var at: Int64
        var action: String
        var nodes: [String]
        /// A stream leader was crashed: the load driver measures the failover.
        var leaderCrash: Bool
    }

    static let supportedActions = ["crash", "restart", "pause", "resume"]

    static func validate(_ scenario: Scenario) throws {
        for fault in scenario.faults {
            let where_ = "\(fault.location.file):\(fault.location.line):\(fault.location.column)"
            guard supportedActions.contains(fault.action.keyword) else {
                throw LiveError.badInput("\(where_): faults.\(fault.action.keyword): live mode runs \(supportedActions.joined(separator: ", ")); found '\(fault.action.keyword)' (network, clock and disk faults are simulator-only for now)")
            }
            let selector: Selector
            switch fault.action {
            case .crash(let s), .restart(let s), .pause(let s), .resume(let s): selector = s
            default: continue
            }
            switch selector {
            case .node, .leader, .follower, .metadataLeader, .crashed, .paused, .all, .randomNode: break
            default:
                throw LiveError.badInput("\(where_): selector \(selector) is not supported live; use a node name, leader(…), follower(…), metadata-leader, crashed, paused, random-node or all")
            }
        }
    }

    func run() async throws -> [Fired] {
        var fired: [Fired] = []
        var crashed: [String] = []
        var paused: [String] = []
        var rng = SeededGenerator(seed: 0x5eed).stream("live.faults")
        // A fault with `for:` is undone later: keep the undo events in time order with the rest.
        var schedule: [(at: Int64, action: FaultAction)] = scenario.faults.map { ($0.at, $0.action) }
        for fault in scenario.faults {
            guard let d = fault.duration else { continue }
            switch fault.action {
            case .crash: schedule.append((fault.at + d, .restart(.crashed)))  // `for:` restarts what is down
            case .pause: schedule.append((fault.at + d, .resume(.paused)))
            default: break
            }
        }
        schedule = schedule.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        for (at, action) in schedule {
            let due = runStart + .nanoseconds(at)
            let wait = Int64(due.uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
            let selector: Selector
            switch action {
            case .crash(let s), .restart(let s), .pause(let s), .resume(let s): selector = s
            default: continue
            }
            let nodes = await resolve(selector, crashed: crashed, paused: paused, rng: &rng)
            var leaderCrash = false
            switch action {
            case .crash:
                if case .leader = selector { leaderCrash = !nodes.isEmpty }
                for node in nodes {
                    try await environment.crash(node: node)
                    crashed.append(node)
                }
            case .restart:
                for node in nodes {
                    try await environment.restart(node: node)
                    crashed.removeAll { $0 == node }
                }
            case .pause:
                for node in nodes {
                    environment.pause(node: node)
                    paused.append(node)
                }
            case .resume:
                for node in nodes {
                    environment.resume(node: node)
                    paused.removeAll { $0 == node }
                }
            default: break
            }
            let t = Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds)
            log(String(format: "t=%.3fs %@ %@ → %@", Double(t) / 1e9, action.keyword, "\(selector)",
                       nodes.isEmpty ? "no node" : nodes.joined(separator: ", ")))
            fired.append(Fired(at: t, action: action.keyword, nodes: nodes, leaderCrash: leaderCrash))
        }
        return fired
    }

    private func resolve(_ selector: Selector, crashed: [String], paused: [String], rng: inout SeededGenerator) async -> [String] {
        let names = environment.nodeNames
        switch selector {
        case .node(let name): return [name]
        case .leader(let stream): return await environment.leader(of: stream).map { [$0] } ?? []
        case .follower(let stream):
            let leader = await environment.leader(of: stream)
            return await environment.replicas(of: stream).filter { $0 != leader }
        case .metadataLeader: return await environment.metadataLeader().map { [$0] } ?? []
        case .crashed: return crashed
        case .paused: return paused
        case .all: return names
        case .randomNode:
            let running = names.filter { environment.isRunning(node: $0) }
            return running.isEmpty ? [] : [running[Int(rng.next() % UInt64(running.count))]]
        default: return []
        }
    }
}
