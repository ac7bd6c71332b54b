import Broker
import Raft
import Replication
import SimCore
import XCTest

final class BrokerCoreReadyTests: XCTestCase {
    func lone(streams: [String] = ["orders"]) -> BrokerCore {
        let raft = RaftNode<MetadataCommand>(config: RaftConfig(id: 1, peers: [1]), rng: SeededGenerator(seed: 1))
        return BrokerCore(raft: raft, metadata: MetadataStateMachine(), streamNames: streams,
                          replicas: streams.map { StreamReplica(stream: $0, config: ReplicaConfig(brokerID: 1)) })
    }

    /// Elects the lone node, driving the Ready loop as a driver would.
    func elect(_ core: inout BrokerCore) {
        for _ in 0..<30 where core.raft.role != .leader { core.raft.tick() }
        drain(&core)
        XCTAssertEqual(core.raft.role, .leader)
    }

    @discardableResult
    func drain(_ core: inout BrokerCore) -> [BrokerCore.Output] {
        var outputs: [BrokerCore.Output] = []
        while core.nextReady() != nil {
            while let applied = core.applyNextCommitted(now: 0) { outputs += applied }
            core.advance()
        }
        return outputs
    }

    func testOneReadyAtATimeUntilAdvanced() {
        var core = lone()
        for _ in 0..<30 where core.raft.role != .leader { core.raft.tick() }
        XCTAssertNotNil(core.nextReady())
        XCTAssertTrue(core.isReadyInFlight)
        _ = core.route(.deleteStream(name: "x"))  // more work while the first Ready is in flight
        XCTAssertNil(core.nextReady(), "a second Ready must wait for advance()")
        core.advance()
        XCTAssertFalse(core.isReadyInFlight)
        XCTAssertNotNil(core.nextReady())
    }

    func testCommittedEntriesApplyOneAtATimeInOrder() {
        var core = lone(streams: ["orders", "audit"])
        elect(&core)
        let orders = StreamSpec(name: "orders", subject: "orders", replicationFactor: 1, minISR: 1, replicas: [1])
        let audit = StreamSpec(name: "audit", subject: "audit", replicationFactor: 1, minISR: 1, replicas: [1])
        XCTAssertEqual(core.route(.createStream(orders)), .proposed)
        XCTAssertEqual(core.route(.createStream(audit)), .proposed)
        var perEntry: [[BrokerCore.Output]] = []
        while core.nextReady() != nil {
            while let applied = core.applyNextCommitted(now: 0) {
                guard !applied.isEmpty else { continue }  // the election's empty entry
                if perEntry.isEmpty {
                    XCTAssertNil(core.metadata.stream(named: "audit"), "the next entry waits until this one's outputs are handled")
                }
                perEntry.append(applied)
            }
            core.advance()
        }
        XCTAssertEqual(perEntry.count, 2)
        guard case .streamState(0, let first) = perEntry[0].first, case .streamState(1, let second) = perEntry[1].first else {
            return XCTFail("\(perEntry)")
        }
        XCTAssertEqual(first.name, "orders")
        XCTAssertEqual(second.name, "audit")
    }

    func testNotLeaderAnswerNamesTheKnownLeader() {
        var core = lone()
        XCTAssertNil(core.notLeaderHere(stream: "orders"), "unknown stream: no not-leader answer")
        elect(&core)
        _ = core.route(.createStream(StreamSpec(name: "orders", subject: "orders", replicationFactor: 1, minISR: 1, replicas: [1])))
        drain(&core)
        XCTAssertEqual(core.notLeaderHere(stream: "orders"), .notLeader(leader: 1))
    }

    func testPlacementSpreadsLeadersOverMembers() {
        let members: [BrokerID] = [0, 1, 2, 3, 4]
        XCTAssertEqual(StreamPlacement.spread(streamIndex: 0, replicationFactor: 3, members: members), [0, 1, 2])
        XCTAssertEqual(StreamPlacement.spread(streamIndex: 3, replicationFactor: 3, members: members), [3, 4, 0])
        let firsts = (0..<5).map { StreamPlacement.spread(streamIndex: $0, replicationFactor: 3, members: members)[0] }
        XCTAssertEqual(Set(firsts).count, 5, "each of five streams prefers a different leader")
    }
}
