import Broker
import Raft
import Replication
import SimCore
import XCTest

final class BrokerCoreTests: XCTestCase {
    func core(id: Int, peers: [Int]) -> BrokerCore {
        let raft = RaftNode<MetadataCommand>(config: RaftConfig(id: id, peers: peers), rng: SeededGenerator(seed: UInt64(id)))
        return BrokerCore(raft: raft, metadata: MetadataStateMachine(), streamNames: ["orders", "audit"],
                          replicas: [StreamReplica(stream: "orders", config: ReplicaConfig(brokerID: BrokerID(UInt32(id)))), nil])
    }

    func testCommittedCreateReachesTheLocalReplicaOnly() {
        var node = core(id: 1, peers: [1])
        let spec = StreamSpec(name: "orders", subject: "orders", replicationFactor: 1, minISR: 1, replicas: [1])
        let other = StreamSpec(name: "audit", subject: "audit", replicationFactor: 1, minISR: 1, replicas: [2])
        let outputs = node.applyCommitted([
            RaftEntry(term: 1, index: 1, command: nil),
            RaftEntry(term: 1, index: 2, command: .createStream(spec)),
            RaftEntry(term: 1, index: 3, command: .createStream(other)),
            RaftEntry(term: 1, index: 4, command: .createStream(spec)),  // rejected: exists
        ], now: 0)
        XCTAssertEqual(outputs.count, 3)
        guard case .streamState(0, let state) = outputs[0], case .replicaEffects(0, _) = outputs[1],
              case .streamState(1, _) = outputs[2] else { return XCTFail("\(outputs)") }
        XCTAssertEqual(state.leader, 1)
        XCTAssertEqual(node.replicas[0]?.role, .leader)
        XCTAssertEqual(node.metadata.streams.count, 2)
    }

    func testProposalsGoToTheLeaderOrAreDropped() {
        var lone = core(id: 1, peers: [1])
        XCTAssertEqual(lone.route(.deleteStream(name: "orders")), .dropped)  // not elected yet
        for _ in 0..<30 { lone.raft.tick() }
        XCTAssertEqual(lone.raft.role, .leader)
        XCTAssertEqual(lone.route(.deleteStream(name: "orders")), .proposed)
        XCTAssertEqual(lone.raft.log.last?.command, .deleteStream(name: "orders"))
    }
}
