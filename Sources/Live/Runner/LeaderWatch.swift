import Stats
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Results

/// Watches the cluster's metadata during a live run (every 100 ms) and records each change of a
/// stream's leader and of the metadata leader, with the time since the run's start, for the
/// run's timeline. Observes only: it asks what any client may ask.
final class LeaderWatch: Sendable {
    let environment: LiveEnvironment
    let streams: [String]
    let runStart: NIODeadline
    private let stopped = NIOLockedValueBox(false)

    init(environment: LiveEnvironment, streams: [String], runStart: NIODeadline) {
        self.environment = environment
        self.streams = streams
        self.runStart = runStart
    }

    func stop() { stopped.withLockedValue { $0 = true } }

    func run() async -> [TimelineEvent] {
        var events: [TimelineEvent] = []
        var leaders: [String: String?] = [:]
        var metadataLeader: String?? = .none
        while !stopped.withLockedValue({ $0 }) {
            let at = Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds)
            let seen = await environment.leaders(of: streams)
            for stream in streams {
                let now = seen.streams[stream]
                if let before = leaders[stream], before == now { continue }
                let was = leaders[stream].flatMap { $0 } ?? "none"
                leaders[stream] = now
                events.append(TimelineEvent(atNanos: at, kind: "leader", description: "\(stream): \(was) → \(now ?? "none")",
                                            nodes: now.map { [$0] } ?? []))
            }
            let now = seen.metadata
            if metadataLeader == nil || metadataLeader! != now {
                let was = metadataLeader.flatMap { $0 } ?? "none"
                metadataLeader = .some(now)
                events.append(TimelineEvent(atNanos: at, kind: "metadata_leader", description: "\(was) → \(now ?? "none")",
                                            nodes: now.map { [$0] } ?? []))
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return events
    }
}
