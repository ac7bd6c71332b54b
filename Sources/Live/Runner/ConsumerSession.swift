import Clients
import Foundation
import LiveClient
import NIOCore
import Stats

/// A live `- consume:` workload: reads a stream's committed messages from offset 0 at the
/// stream's leader, fetching again at once after a non-empty batch and after `poll` otherwise,
/// and measures end-to-end latency from each message's intended send time (stamped in its
/// first bytes by the producer) to its delivery — the simulator's `end_to_end_latency`.
/// After a failure (leader crashed, not the leader any more) it finds the leader again and
/// goes on from its own offset, as a consumer tracking its offsets does. Those decisions are
/// `ConsumerCore`'s (module Clients), which the simulator drives too; this only does the I/O.
struct ConsumerSession: Sendable {
    let stream: String
    let launcher: ClusterLauncher
    let eventLoop: EventLoop
    let start: Int64
    let pollInterval: Int64
    let maxBatch: Int
    let runStart: NIODeadline
    /// Messages due before this are read but not timed (the scenario's warmup).
    let measureFrom: Int64

    struct Result: Sendable {
        var endToEnd = LatencyHistogram()
        var consumed = 0
        var errors = 0
    }

    /// Set once the producers are done: the consumer stops when it has caught up.
    final class Stop: @unchecked Sendable {
        private let lock = NSLock()
        private var requested = false
        func request() { lock.withLock { requested = true } }
        var isRequested: Bool { lock.withLock { requested } }
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    private func sleep(_ nanos: Int64) async {
        if nanos > 0 { try? await Task.sleep(nanoseconds: UInt64(nanos)) }
    }

    func run(stop: Stop, deadline: Int64) async -> Result {
        var result = Result()
        var core = ConsumerCore<String>(start: start, pollInterval: pollInterval, maxEntries: maxBatch)
        var client: BrokerClient?
        var connectedTo: String?
        polling: while now() < deadline {
            switch core.poll(now: now()) {
            case .wait(let until):
                await sleep(min(until, deadline) - now())
            case .lookUpLeader:
                let leader = try? await launcher.waitForLeader(stream: stream, timeout: 1)
                core.leaderFound(leader, now: now())
            case .fetch(let request, let leader, let offset, let maxEntries):
                do {
                    if client == nil || connectedTo != leader {
                        client?.close()
                        client = try await launcher.client(for: leader)
                        connectedTo = leader
                    }
                    let (entries, _) = try await client!.fetch(stream: stream, offset: offset, maxEntries: UInt32(maxEntries))
                    let delivered = now()
                    let fresh = core.delivered(request: request, firstOffset: entries.first?.offset ?? offset, count: entries.count, now: delivered)
                    for entry in entries[fresh] {
                        if let intended = MessageStamp.intended(entry.payload),
                           let latency = ConsumerCore<String>.endToEnd(intended: intended, delivered: delivered, measureFrom: measureFrom) {
                            result.endToEnd.record(latency)
                        }
                    }
                    if entries.isEmpty && stop.isRequested { break polling }
                } catch {
                    client?.close()
                    client = nil
                    core.failed(request: request, leaderHint: nil, now: now())
                }
            }
        }
        client?.close()
        result.consumed = Int(core.received)
        result.errors = Int(core.errors)
        return result
    }
}
