import Raft
import SimCore
import XCTest

/// Randomized safety and liveness: five nodes under a seeded nemesis (drops, reordering,
/// duplicates, partitions, crashes that keep only the disk), then a healed liveness phase.
/// Checkers (in `RaftCluster`) watch every driver step; a failure reports the seed.
final class RaftPropertyTests: XCTestCase {
    struct Outcome {
        var failures: [String]
        var commits: Int
        var maxTerm: Term
        var trace: UInt64
    }

    /// One seed. Swarm testing (as TigerBeetle's VOPR does): each seed draws its own fault rates
    /// and protocol options, so some seeds are calm and some are brutal.
    static func runSeed(_ seed: UInt64, steps: Int = 10_000) -> Outcome {
        var nemesis = SeededGenerator(seed: seed).stream("nemesis")
        let dropRate = [0.0, 0.02, 0.1, 0.25][nemesis.index(below: 4)]
        let duplicateRate = [0.0, 0.02, 0.1][nemesis.index(below: 3)]
        let reorderRate = [0.0, 0.2, 0.6][nemesis.index(below: 3)]
        let crashRate = [0.0, 0.002, 0.01][nemesis.index(below: 3)]
        let partitionRate = [0.0, 0.003, 0.01][nemesis.index(below: 3)]
        let preVote = nemesis.index(below: 4) != 0
        let checkQuorum = nemesis.index(below: 4) != 0
        let maxAppend = [1, 3, 64][nemesis.index(below: 3)]
        var cluster = RaftCluster(ids: [1, 2, 3, 4, 5], seed: seed) { c in
            c.preVote = preVote
            c.checkQuorum = checkQuorum
            c.maxEntriesPerAppend = maxAppend
        }
        var proposals = 0
        var trace: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ x: UInt64) { trace = (trace ^ x) &* 0x0000_0100_0000_01B3 }

        // Safety phase.
        for step in 0..<steps {
            let r = nemesis.nextUnit()
            if r < 0.25 {
                // One unit of time passes for everyone that is up.
                for id in cluster.upIDs { cluster.tick(id) }
            } else if r < 0.85 {
                guard !cluster.pending.isEmpty else { continue }
                let position = nemesis.chance(reorderRate) ? nemesis.index(below: cluster.pending.count) : 0
                if nemesis.chance(dropRate) {
                    cluster.pending.remove(at: position)
                } else if nemesis.chance(duplicateRate) {
                    cluster.deliver(cluster.pending[position])
                } else {
                    cluster.deliver(at: position)
                }
            } else if r < 0.93 {
                // Mostly at a node that believes it leads (clients find the leader), sometimes anywhere.
                let leaders = cluster.leaders
                let id = !leaders.isEmpty && nemesis.chance(0.8)
                    ? leaders[nemesis.index(below: leaders.count)] : nemesis.index(below: 5) + 1
                if cluster.propose(id, "s\(seed)-\(proposals)") != nil { proposals += 1 }
            } else if r < 0.93 + crashRate * 4 {
                let id = nemesis.index(below: 5) + 1
                if cluster.isUp(id) {
                    // At most two down at a time keeps a majority around long enough to matter.
                    if cluster.upIDs.count > 3 { cluster.crash(id) }
                } else {
                    cluster.restart(id)
                }
            } else if r < 0.93 + crashRate * 4 + partitionRate * 4 {
                if cluster.groups.allSatisfy({ $0 == 0 }) {
                    cluster.groups = (0..<5).map { _ in nemesis.index(below: 2) }
                } else {
                    cluster.groups = Array(repeating: 0, count: 5)
                }
            }
            if step % 100 == 0 { cluster.checkAll() }
            mix(UInt64(cluster.pending.count))
            if !cluster.failures.isEmpty { break }
        }
        cluster.checkAll()

        // Liveness phase: heal everything, FIFO delivery, no faults. A leader must emerge and
        // commit a new proposal within a bounded number of ticks (paper §5.2, §9.3).
        cluster.groups = Array(repeating: 0, count: 5)
        for id in cluster.ids { cluster.restart(id) }
        let marker = "final-\(seed)"
        var committed = false
        var ticks = 0
        while ticks < 300 && !committed && cluster.failures.isEmpty {
            for id in cluster.ids { cluster.tick(id) }
            ticks += 1
            var deliveries = 0
            while !cluster.pending.isEmpty && deliveries < 10_000 {
                cluster.deliver(at: 0)
                deliveries += 1
            }
            if let leader = cluster.leaders.max(by: { cluster.node($0)!.term < cluster.node($1)!.term }),
               !cluster.node(leader)!.log.contains(where: { $0.command == marker }) {
                cluster.propose(leader, marker)
            }
            committed = cluster.ids.allSatisfy { id in cluster.disks[id - 1].applied.contains { $0.command == marker } }
        }
        cluster.checkAll()
        var failures = cluster.failures
        if !committed && failures.isEmpty {
            failures.append("liveness: no proposal committed on all nodes within \(ticks) ticks after healing")
        }
        for e in cluster.committed { mix(e.term); mix(e.index) }
        let maxTerm = cluster.ids.map { cluster.disks[$0 - 1].hardState.term }.max() ?? 0
        mix(maxTerm)
        return Outcome(failures: failures, commits: cluster.committed.count, maxTerm: maxTerm, trace: trace)
    }

    func testSafetyAndLivenessAcrossSeeds() {
        var totalCommits = 0
        for seed in UInt64(1)...20 {
            let outcome = Self.runSeed(seed)
            for f in outcome.failures { XCTFail("seed \(seed): \(f)") }
            totalCommits += outcome.commits
        }
        // Guards against a vacuous pass (a harness that never replicates anything).
        XCTAssertGreaterThan(totalCommits, 20 * 20)
        print("raft property test: 20 seeds, \(totalCommits) entries committed")
    }

    /// Principle 2: the same seed gives the same run, bit for bit.
    func testSameSeedSameRun() {
        let a = Self.runSeed(7, steps: 1_500)
        let b = Self.runSeed(7, steps: 1_500)
        XCTAssertEqual(a.trace, b.trace)
        XCTAssertEqual(a.commits, b.commits)
    }
}
