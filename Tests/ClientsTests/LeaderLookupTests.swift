import Clients
import XCTest

final class LeaderLookupTests: XCTestCase {
    struct Answer: Equatable {
        var from: String
        var leader: String?
        var epoch: UInt64
    }

    private func pick(_ answers: [Answer]) -> Answer? {
        LeaderLookup.freshest(answers, epoch: \.epoch, namesLeader: { $0.leader != nil })
    }

    func testTheHighestLeaderEpochWinsOverAStaleOldLeader() {
        // n1 was isolated: it still names itself in epoch 4; the majority moved to n2 in epoch 7.
        let answers = [Answer(from: "n1", leader: "n1", epoch: 4), Answer(from: "n2", leader: "n2", epoch: 7),
                       Answer(from: "n3", leader: "n2", epoch: 7)]
        XCTAssertEqual(pick(answers)?.leader, "n2")
        XCTAssertEqual(pick(answers.reversed())?.leader, "n2", "whatever the order asked")
    }

    func testAmongEqualEpochsAnAnswerNamingALeaderWinsThenTheFirst() {
        XCTAssertEqual(pick([Answer(from: "n1", leader: nil, epoch: 5), Answer(from: "n2", leader: "n3", epoch: 5)])?.from, "n2")
        XCTAssertEqual(pick([Answer(from: "n2", leader: "n2", epoch: 5), Answer(from: "n3", leader: "n2", epoch: 5)])?.from, "n2")
        XCTAssertNil(pick([]))
    }
}
