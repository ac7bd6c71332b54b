import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every process this one started, directly or through its children (broker nodes, nats-server,
/// PaaS services), found in `/proc` by parent pid. An interrupted run stops them all without
/// each launcher keeping a list that a signal handler would have to reach.
public enum Descendants {
    /// Pids of every live descendant of `root`, parents before their children.
    public static func of(_ root: Int32 = getpid()) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), let ppid = status(of: pid)?.parent else { continue }
            children[ppid, default: []].append(pid)
        }
        var found: [Int32] = []
        var frontier = [root]
        while let next = frontier.popLast() {
            for child in (children[next] ?? []).sorted() {
                found.append(child)
                frontier.append(child)
            }
        }
        return found
    }

    /// State letter and parent pid from `/proc/<pid>/stat` (the fields after the parenthesised
    /// command name, which may itself hold spaces and parentheses); nil once the pid is gone.
    public static func status(of pid: Int32) -> (state: Character, parent: Int32)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return (state, parent)
    }

    /// Running (a zombie has exited; only its parent's wait is missing).
    public static func isAlive(_ pid: Int32) -> Bool {
        status(of: pid).map { $0.state != "Z" } ?? false
    }

    /// Stops every descendant: SIGCONT (a paused node must be able to die) and SIGTERM, then
    /// SIGKILL for whatever still runs after `grace` seconds. Returns how many it stopped.
    @discardableResult
    public static func terminateAll(grace: Double = 2) -> Int {
        let pids = of()
        for pid in pids { kill(pid, SIGCONT); kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, pids.contains(where: isAlive) { usleep(20_000) }
        for pid in pids where isAlive(pid) { kill(pid, SIGKILL) }
        return pids.count
    }
}
