import Checkers
import Foundation
import Raft
import Replication
import SimCore
import Stats

extension BrokerModel {
    /// Metrics of the broker model, added to the run's outcome.
    mutating func brokerMetrics(_ metrics: inout [String: Double], _ units: inout [String: String],
                                _ histograms: inout [String: LatencyHistogram], _ cluster: inout VirtualCluster) {
        let end = cluster.now
        for stream in world.streamNames.indices {
            if let since = world.underReplicatedSince[stream] { world.underReplicatedTotal[stream] += end - since }
            if let since = world.leaderlessSince[stream] { world.leaderlessTotal[stream] += end - since }
        }
        let committed = committedLogs(cluster)
        var duplicates = 0
        for log in committed {
            guard let log else { continue }
            duplicates += log.count - MessageIDSet(log).count
        }
        let lost = acknowledgedVerdict(committed, at: end).lost
        histograms["publish_latency"] = world.publishLatency
        histograms["end_to_end_latency"] = world.endToEndLatency
        histograms["failover_time"] = world.failoverTime
        let values: [(String, Double, String)] = [
            ("messages_published", Double(world.publishers.reduce(0) { $0 + $1.core.ledger.messageCount }), "count"),
            ("messages_acked", Double(world.publishers.reduce(0) { $0 + $1.core.ledger.ackedCount }), "count"),
            ("messages_lost", Double(lost), "count"),
            ("messages_duplicated", Double(duplicates), "count"),
            ("messages_consumed", Double(world.consumers.reduce(0) { $0 + $1.core.received }), "count"),
            ("publish_failures", Double(world.publishers.reduce(0) { $0 + $1.core.ledger.failedCount }), "count"),
            ("publish_retries", Double(world.publishers.reduce(0) { $0 + $1.core.ledger.retries }), "count"),
            ("raft_elections", Double(world.electionSafety.elections), "count"),
            ("raft_max_term", Double(world.electionSafety.highestTerm), "count"),
            ("stream_leader_changes", Double(world.leaderEpochs.leaderChanges), "count"),
            ("under_replicated_s", Double(world.underReplicatedTotal.reduce(0, +)) / 1e9, "s"),
            ("unavailable_s", Double(world.leaderlessTotal.reduce(0, +)) / 1e9, "s"),
            ("disk_bytes_written", Double(world.diskBytesWritten), "bytes"),
            ("fsyncs", Double(world.fsyncs), "count"),
            ("log_cuts_on_recovery", Double(world.recoveryCuts), "count"),
            ("node_fail_stops", Double(world.failStops), "count"),
            // Peer messages in flight on a link when it was reset (`reset:`), as the live proxy counts them.
            ("network_frames_reset", Double(cluster.network.stats.droppedByReset), "count"),
            ("log_bytes_cut_on_recovery", Double(world.recoveryCutBytes), "bytes"),
            ("convergence_s", world.convergedAt.map { Double($0 - cluster.scenario.duration) / 1e9 } ?? -1, "s"),
        ]
        for (name, value, unit) in values {
            metrics[name] = value
            units[name] = unit
        }
        units["publish_latency"] = "ms"
        units["end_to_end_latency"] = "ms"
        units["failover_time"] = "ms"
    }

    /// The readable prefix of each stream: its current leader's log below the leader's HW.
    /// Computed once at the end of the run (several checks and metrics read it).
    mutating func committedLogs(_ cluster: VirtualCluster) -> [[ObservedEntry]?] {
        if let cached = committedAtEnd { return cached }
        let logs = computeCommittedLogs(cluster)
        committedAtEnd = logs
        return logs
    }

    /// The acknowledged-loss verdict over the committed logs, worked out once per run.
    mutating func acknowledgedVerdict(_ committed: [[ObservedEntry]?], at end: Int64) -> (report: CheckReport, lost: Int) {
        if let cached = acknowledgedAtEnd { return cached }
        let verdict = world.acknowledged.verify(streamNames: world.streamNames, committed: committed, at: end)
        acknowledgedAtEnd = (verdict.0, verdict.lost)
        return (verdict.0, verdict.lost)
    }

    func computeCommittedLogs(_ cluster: VirtualCluster) -> [[ObservedEntry]?] {
        world.streamNames.indices.map { stream in
            guard let leader = streamLeader(stream, cluster), let replica = world.nodes[leader]?.core.replicas[stream] else { return nil }
            return replica.log.prefix(Int(replica.highWatermark)).map(Self.observed)
        }
    }

    static func observed(_ entry: LogEntry) -> ObservedEntry {
        ObservedEntry(offset: entry.offset, leaderEpoch: entry.leaderEpoch,
                      message: MessageID(producer: UInt32(truncatingIfNeeded: entry.payload.producerID), sequence: entry.payload.sequence))
    }

    /// Runs one broker check by name; nil if the name is not a broker check.
    mutating func brokerCheck(_ name: String, _ cluster: VirtualCluster) -> CheckReport? {
        let end = cluster.now
        switch name {
        case AcknowledgedLossChecker.name:
            let committed = committedLogs(cluster)
            var report = acknowledgedVerdict(committed, at: end).report
            report.violations += world.consumerViolations
            // What consumers read was committed: it must still be there at the end.
            for (stream, read) in world.consumedLog.enumerated() {
                guard !read.isEmpty else { continue }
                let log = committed[stream] ?? []
                if let offset = read.indices.first(where: { $0 >= log.count || log[$0].message != read[$0] }) {
                    let now = offset < log.count ? "\(log[offset].message)" : "nothing (log ends at \(log.count))"
                    report.violations.append(CheckViolation(check: name,
                        description: "stream \(world.streamNames[stream]): consumers read \(read[offset]) at offset \(offset); the committed log now holds \(now)",
                        time: end))
                }
            }
            return report
        case ReplicasAgreeChecker.name:
            let snapshots: [[ReplicaSnapshot]] = world.streamNames.indices.map { stream in
                world.replicaNodes[stream].compactMap { node in
                    guard let replica = world.nodes[node]?.core.replicas[stream] else { return nil }
                    return ReplicaSnapshot(node: node, nodeName: cluster.processes[node].name, alive: cluster.processes[node].state == .running,
                                           highWatermark: replica.highWatermark, log: replica.log.map(Self.observed))
                }
            }
            return ReplicasAgreeChecker.verify(streamNames: world.streamNames, replicas: snapshots, at: end)
        case HighWatermarkMonotonicChecker.name:
            return world.hwMonotonic.verify()
        case OneLeaderPerEpochChecker.name:
            return world.leaderEpochs.verify()
        case RaftElectionSafetyChecker.name:
            return world.electionSafety.verify()
        case RaftLogMatchingChecker.name:
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let logs = cluster.clusterNodes.compactMap { node -> (node: String, entries: [(term: UInt64, digest: UInt64)])? in
                guard let raft = world.nodes[node]?.core.raft else { return nil }
                return (cluster.processes[node].name, raft.log.map { entry in
                    (entry.term, entry.command.map { stableHash(String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self)) } ?? 0)
                })
            }
            return RaftLogMatchingChecker.verify(logs: logs, at: end)
        case MinISRCommitChecker.name:
            return world.minISR.verify()
        case ProducerOrderChecker.name:
            let publishers = world.publishers
            var lookup = world  // the slot lookups borrow mutably (see `BrokerWorld.publisherSlot`)
            return ProducerOrderChecker.verify(
                streamNames: world.streamNames, committed: committedLogs(cluster), at: end,
                sentAt: { message in lookup.publisherSlot(of: message).map { publishers[$0.publisher].core.ledger.intended[$0.slot] } },
                ackedAt: { message in
                    lookup.publisherSlot(of: message).flatMap { p, slot in
                        publishers[p].core.ledger.isAcked(slot) ? publishers[p].core.ledger.ackedAt[slot] : nil
                    }
                })
        case NoDuplicatesChecker.name:
            return NoDuplicatesChecker.verify(streamNames: world.streamNames, committed: committedLogs(cluster),
                                              idempotence: world.spec.idempotence, at: end)
        case LivenessAfterHeal.name:
            if world.converged { return CheckReport(name: name, violations: []) }
            return CheckReport(name: name, violations: [CheckViolation(
                check: name,
                description: "no convergence within \(livenessTimeout / Nanos.second)s after healing every fault: \(world.lastConvergenceProblem)",
                time: end)])
        default:
            return nil
        }
    }
}
