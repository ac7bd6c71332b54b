/// Unit tests of the metadata state machine: validation, stale-epoch rejection, witness
/// quorums, deterministic leader choice, unclean election.
import Replication
import XCTest

final class MetadataStateMachineTests: XCTestCase {
    private func machine(_ config: MetadataConfig = MetadataConfig(), minISR: Int = 2) -> MetadataStateMachine {
        var m = MetadataStateMachine(config: config)
        let spec = StreamSpec(name: "s", subject: "s.>", replicationFactor: 3, minISR: minISR, replicas: [3, 1, 2])
        XCTAssertTrue(m.apply(.createStream(spec), index: 1).isAccepted)
        return m
    }

    func testCreateStreamPrefersFirstReplicaAndSortsSets() {
        let m = machine()
        let s = m.stream(named: "s")!
        XCTAssertEqual(s.leader, 3)
        XCTAssertEqual(s.replicas, [1, 2, 3])
        XCTAssertEqual(s.isr, [1, 2, 3])
        XCTAssertEqual(s.leaderEpoch, 1)
        XCTAssertEqual(s.epoch, 1)
    }

    func testCreateStreamValidation() {
        var m = machine()
        XCTAssertEqual(
            m.apply(.createStream(StreamSpec(name: "s", subject: "x", replicationFactor: 1, minISR: 1, replicas: [1])), index: 2),
            .rejected(.streamExists))
        XCTAssertFalse(
            m.apply(.createStream(StreamSpec(name: "t", subject: "x", replicationFactor: 2, minISR: 1, replicas: [1])), index: 3).isAccepted)
        XCTAssertFalse(
            m.apply(.createStream(StreamSpec(name: "t", subject: "x", replicationFactor: 2, minISR: 3, replicas: [1, 2])), index: 4).isAccepted)
        XCTAssertFalse(
            m.apply(.createStream(StreamSpec(name: "t", subject: "x", replicationFactor: 2, minISR: 1, replicas: [1, 1])), index: 5).isAccepted)
        XCTAssertEqual(m.apply(.deleteStream(name: "s"), index: 5), .rejected(.alreadyApplied(lastAppliedIndex: 5)))
        XCTAssertTrue(m.apply(.createStream(StreamSpec(name: "a", subject: "x", replicationFactor: 1, minISR: 1, replicas: [1])), index: 6).isAccepted)
        XCTAssertEqual(m.streams.map(\.name), ["a", "s"])
        XCTAssertEqual(m.apply(.deleteStream(name: "s"), index: 7), .accepted(.deleted(stream: "s")))
        XCTAssertNil(m.stream(named: "s"))
    }

    func testISRChangesRequireCurrentLeaderAndEpoch() {
        var m = machine()
        XCTAssertEqual(
            m.apply(.shrinkISR(stream: "s", replica: 1, leader: 3, leaderEpoch: 0), index: 2),
            .rejected(.staleLeaderEpoch(currentLeader: 3, currentLeaderEpoch: 1)))
        XCTAssertEqual(
            m.apply(.shrinkISR(stream: "s", replica: 1, leader: 2, leaderEpoch: 1), index: 3),
            .rejected(.staleLeaderEpoch(currentLeader: 3, currentLeaderEpoch: 1)))
        XCTAssertEqual(m.apply(.shrinkISR(stream: "s", replica: 3, leader: 3, leaderEpoch: 1), index: 4), .rejected(.cannotRemoveLeader))
        XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 1, leader: 3, leaderEpoch: 1), index: 5).isAccepted)
        var s = m.stream(named: "s")!
        XCTAssertEqual(s.isr, [2, 3])
        XCTAssertEqual(s.epoch, 5)
        XCTAssertEqual(s.leaderEpoch, 1, "ISR changes do not bump the leader epoch")
        XCTAssertEqual(m.apply(.expandISR(stream: "s", replica: 2, leader: 3, leaderEpoch: 1), index: 6), .rejected(.alreadyInISR(2)))
        XCTAssertTrue(m.apply(.expandISR(stream: "s", replica: 1, leader: 3, leaderEpoch: 1), index: 7).isAccepted)
        s = m.stream(named: "s")!
        XCTAssertEqual(s.isr, [1, 2, 3])
        XCTAssertEqual(s.epoch, 7)
    }

    func testChangeLeaderUsesRaftIndexAsLeaderEpochAndRejectsStaleExpectations() {
        var m = machine()
        XCTAssertEqual(
            m.apply(.changeLeader(stream: "s", newLeader: 1, expectedLeaderEpoch: 0), index: 2),
            .rejected(.staleLeaderEpoch(currentLeader: 3, currentLeaderEpoch: 1)))
        XCTAssertTrue(m.apply(.changeLeader(stream: "s", newLeader: 1, expectedLeaderEpoch: 1), index: 3).isAccepted)
        let s = m.stream(named: "s")!
        XCTAssertEqual(s.leader, 1)
        XCTAssertEqual(s.leaderEpoch, 3)
        XCTAssertEqual(s.isr, [1, 2, 3])
        XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 2, leader: 1, leaderEpoch: 3), index: 4).isAccepted)
        XCTAssertEqual(m.apply(.changeLeader(stream: "s", newLeader: 2, expectedLeaderEpoch: 3), index: 5), .rejected(.notInISR(2)))
    }

    func testLeaderFailureWaitsForMajorityOfOtherISRAndPicksLowestLiveCandidate() {
        var m = machine()
        // Leader 3; other ISR {1, 2}: a majority of two is two.
        XCTAssertEqual(m.apply(.reportLeaderFailure(stream: "s", witness: 2, leader: 3, leaderEpoch: 1), index: 2), .accepted(.recorded))
        XCTAssertEqual(m.apply(.reportLeaderFailure(stream: "s", witness: 2, leader: 3, leaderEpoch: 1), index: 3), .accepted(.recorded))
        XCTAssertEqual(m.apply(.reportLeaderFailure(stream: "s", witness: 3, leader: 3, leaderEpoch: 1), index: 4), .rejected(.notAReplica(3)))
        let result = m.apply(.reportLeaderFailure(stream: "s", witness: 1, leader: 3, leaderEpoch: 1), index: 5)
        let s = m.stream(named: "s")!
        XCTAssertEqual(result, .accepted(.updated(s)))
        XCTAssertEqual(s.leader, 1)
        XCTAssertEqual(s.leaderEpoch, 5)
        XCTAssertEqual(s.isr, [1, 2])
    }

    func testFixedWitnessQuorumPrefersWitnessesAsLiveCandidates() {
        var m = machine(MetadataConfig(witnessQuorum: .fixed(1)))
        // Witness 2 proves it is alive; 1 said nothing, so 2 is preferred despite its id.
        XCTAssertTrue(m.apply(.reportLeaderFailure(stream: "s", witness: 2, leader: 3, leaderEpoch: 1), index: 2).isAccepted)
        XCTAssertEqual(m.stream(named: "s")!.leader, 2)
    }

    func testNoCleanCandidateTakesStreamOfflineUnlessUncleanElectionIsOn() {
        for unclean in [false, true] {
            var m = machine(MetadataConfig(uncleanElection: unclean), minISR: 1)
            XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 1, leader: 3, leaderEpoch: 1), index: 2).isAccepted)
            XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 2, leader: 3, leaderEpoch: 1), index: 3).isAccepted)
            XCTAssertEqual(
                m.apply(.changeLeader(stream: "s", newLeader: 2, expectedLeaderEpoch: 1), index: 4).isAccepted, unclean)
            if unclean { continue }
            XCTAssertTrue(m.apply(.reportLeaderFailure(stream: "s", witness: 2, leader: 3, leaderEpoch: 1), index: 5).isAccepted)
            let s = m.stream(named: "s")!
            XCTAssertNil(s.leader)
            XCTAssertEqual(s.isr, [3])
            XCTAssertEqual(s.leaderEpoch, 5)
        }
        var m = machine(MetadataConfig(uncleanElection: true), minISR: 1)
        XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 1, leader: 3, leaderEpoch: 1), index: 2).isAccepted)
        XCTAssertTrue(m.apply(.shrinkISR(stream: "s", replica: 2, leader: 3, leaderEpoch: 1), index: 3).isAccepted)
        XCTAssertTrue(m.apply(.reportLeaderFailure(stream: "s", witness: 2, leader: 3, leaderEpoch: 1), index: 4).isAccepted)
        XCTAssertEqual(m.stream(named: "s")!.leader, 2)
        XCTAssertEqual(m.stream(named: "s")!.isr, [2])
    }

    func testCommandsAndStateRoundTripThroughCodable() throws {
        let commands: [MetadataCommand] = [
            .createStream(StreamSpec(name: "s", subject: "x", replicationFactor: 1, minISR: 1, replicas: [4])),
            .deleteStream(name: "s"),
            .changeLeader(stream: "s", newLeader: 2, expectedLeaderEpoch: 9),
            .shrinkISR(stream: "s", replica: 1, leader: 2, leaderEpoch: 3),
            .expandISR(stream: "s", replica: 1, leader: 2, leaderEpoch: 3),
            .reportLeaderFailure(stream: "s", witness: 1, leader: 2, leaderEpoch: 3),
        ]
        let data = try JSONEncoder().encode(commands)
        XCTAssertEqual(try JSONDecoder().decode([MetadataCommand].self, from: data), commands)
        let m = machine()
        XCTAssertEqual(try JSONDecoder().decode(MetadataStateMachine.self, from: JSONEncoder().encode(m)), m)
    }
}
