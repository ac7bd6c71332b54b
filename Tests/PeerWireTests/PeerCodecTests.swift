import XCTest
import PeerWire
import Raft
import Replication
import Wire

final class PeerCodecTests: XCTestCase {
    private func roundTrip(_ m: PeerMessage, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = PeerCodec.encode(m)
        let length = bytes[0 ..< 4].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(length, bytes.count - 4, "length prefix", file: file, line: line)
        XCTAssertEqual(bytes[4], PeerCodec.frameVersion, file: file, line: line)
        XCTAssertEqual(try PeerCodec.decodeFrameBody(bytes[4...]), m, file: file, line: line)
    }

    func testHelloRoundTrips() {
        Samples.hellos.forEach { roundTrip($0) }
    }

    func testEveryRaftKindRoundTrips() {
        XCTAssertEqual(Samples.raft.count, Samples.raftKinds.count)
        Samples.raft.forEach { roundTrip($0) }
    }

    func testAppendCarriesEveryMetadataCommandCase() throws {
        // One entry per command case (both expandISR partition epochs) plus the leader's no-op.
        let m = PeerMessage.raft(RaftMessage(from: 3, to: 1, term: 2,
                                             kind: .append(prevIndex: 0, prevTerm: 0, entries: Samples.entries, leaderCommit: 1)))
        guard case .raft(let back) = try PeerCodec.decodeFrameBody(PeerCodec.encode(m)[4...]),
              case .append(_, _, let entries, _) = back.kind
        else { return XCTFail("not an append") }
        XCTAssertEqual(entries, Samples.entries)
        XCTAssertEqual(entries.compactMap(\.command), Samples.commands + [.deleteStream(name: "last")])
        XCTAssertEqual(entries.filter { $0.command == nil }.count, 1)
    }

    func testEveryReplicationCaseRoundTrips() {
        Samples.replication.forEach { roundTrip($0) }
    }

    func testForwardedProposalsRoundTrip() {
        XCTAssertFalse(Samples.proposals.isEmpty)
        Samples.proposals.forEach { roundTrip($0) }
    }

    func testLivePayloadBytesSurviveTheFetchResponse() throws {
        let entry = LogEntry(offset: 7, leaderEpoch: 2, payload: LogPayload(producerID: 1, sequence: 9, data: [0, 255, 7, 42]))
        let m = PeerMessage.replication(.fetchResponse(FetchResponse(
            stream: "s", from: 1, leaderEpoch: 2, fetchOffset: 7, highWatermark: 7, logEndOffset: 8, entries: [entry], error: nil)))
        guard case .replication(.fetchResponse(let back)) = try PeerCodec.decodeFrameBody(PeerCodec.encode(m)[4...])
        else { return XCTFail("not a fetch response") }
        XCTAssertEqual(back.entries.first?.payload.data, [0, 255, 7, 42])
        XCTAssertEqual(back.entries.first?.payload.bytes, 4)
    }

    func testSingleFieldsChangeTheEncoding() {
        // Guards against a field being silently dropped by both sides.
        let a = PeerMessage.raft(RaftMessage(from: 1, to: 2, term: 3, kind: .append(
            prevIndex: 1, prevTerm: 1, entries: [RaftEntry(term: 1, index: 2, command: .expandISR(
                stream: "s", replica: 1, leader: 2, leaderEpoch: 3, partitionEpoch: 4))], leaderCommit: 1)))
        let b = PeerMessage.raft(RaftMessage(from: 1, to: 2, term: 3, kind: .append(
            prevIndex: 1, prevTerm: 1, entries: [RaftEntry(term: 1, index: 2, command: .expandISR(
                stream: "s", replica: 1, leader: 2, leaderEpoch: 3, partitionEpoch: 5))], leaderCommit: 1)))
        XCTAssertNotEqual(PeerCodec.encode(a), PeerCodec.encode(b))
    }

    func testHelloLayout() {
        XCTAssertEqual(PeerCodec.encode(.hello(from: 0x0102_0304, clusterID: "c", protocolVersion: 0x0506)),
                       [0, 0, 0, 11, PeerCodec.frameVersion, 1, 1, 2, 3, 4, 0, 1, 0x63, 5, 6])
    }

    // MARK: - Strict decoding

    private func assertThrows(_ body: [UInt8], _ expected: WireError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PeerCodec.decodeFrameBody(body[...]), file: file, line: line) { error in
            XCTAssertEqual(error as? WireError, expected, file: file, line: line)
        }
    }

    private func body(_ m: PeerMessage) -> [UInt8] { Array(PeerCodec.encode(m).dropFirst(4)) }

    func testRejectsMalformedFrames() {
        assertThrows([], .frameTooSmall(0))
        assertThrows([1], .frameTooSmall(1))
        assertThrows([1, 1], .unsupportedVersion(1))  // before producer epochs
        assertThrows([3, 1], .unsupportedVersion(3))
        assertThrows([2, 0], .unknownType(0))
        assertThrows([2, 99], .unknownType(99))
        assertThrows([2, 1], .truncated(field: "hello.from"))
        assertThrows(body(Samples.hellos[0]) + [0], .trailingBytes(1))
    }

    func testRejectsUnknownTagsAndBadFlags() {
        let raftHeader: [UInt8] = [PeerCodec.frameVersion, 2] + Array(repeating: 0, count: 24)
        assertThrows(raftHeader + [8], .invalidValue(field: "raft.kind"))
        assertThrows(raftHeader + [1, 2], .invalidValue(field: "preVoteResponse.granted"))
        assertThrows(raftHeader + [5, 0xFF] + Array(repeating: 0, count: 8), .invalidValue(field: "appendResponse.success"))
        // An append with one entry whose command presence byte is 2, then one with an unknown command tag.
        let appendHead = raftHeader + [4] + Array(repeating: 0, count: 16) + [0, 0, 0, 1] + Array(repeating: 0, count: 16)
        assertThrows(appendHead + [2] + Array(repeating: 0, count: 8), .invalidValue(field: "entry.command"))
        assertThrows(appendHead + [1, 7] + Array(repeating: 0, count: 8), .invalidValue(field: "command"))
        assertThrows([PeerCodec.frameVersion, 3, 4], .invalidValue(field: "replication"))
        var request = body(.replication(.epochEndOffsetRequest(EpochEndOffsetRequest(
            stream: "", from: 0, version: .v1, requestedEpoch: 0, leaderEpoch: 0))))
        request[2 + 1 + 2 + 4] = 3
        assertThrows(request, .invalidValue(field: "epochEndOffsetRequest.version"))
        var response = body(.replication(.epochEndOffsetResponse(EpochEndOffsetResponse(
            stream: "", from: 0, leaderEpoch: 0, requestedEpoch: 0, epoch: nil, endOffset: 0, error: .notLeader))))
        response[response.count - 1] = 5
        assertThrows(response, .invalidValue(field: "epochEndOffsetResponse.error"))
        response[response.count - 2] = 2
        assertThrows(response, .invalidValue(field: "epochEndOffsetResponse.error"))
    }

    func testRaftNodeIDExtremesRoundTrip() throws {
        // Node ids travel as i64; on 64-bit platforms every i64 is an Int (32-bit peers refuse the rest).
        let m = PeerMessage.raft(RaftMessage(from: Int.min, to: Int.max, term: 0, kind: .heartbeatResponse))
        XCTAssertEqual(try PeerCodec.decodeFrameBody(PeerCodec.encode(m)[4...]), m)
    }

    func testHostileCountsThrowBeforeAllocating() {
        // 2^32-1 Raft entries (≥ 17 bytes each) announced in a 40-byte frame: refused by the count
        // check; were it reserved, 2^32 entries would need hundreds of GiB.
        let raftAppend: [UInt8] = [PeerCodec.frameVersion, 2] + Array(repeating: 0, count: 24) + [4] + Array(repeating: 0, count: 16)
        assertThrows(raftAppend + [0xFF, 0xFF, 0xFF, 0xFF], .truncated(field: "append.entries"))
        // 16 entries need at least 272 bytes; only 20 follow.
        assertThrows(raftAppend + [0, 0, 0, 16] + Array(repeating: 0, count: 20), .truncated(field: "append.entries"))

        let fetchHead: [UInt8] = [PeerCodec.frameVersion, 3, 1, 0, 0] + Array(repeating: 0, count: 4 + 8 * 4)
        assertThrows(fetchHead + [0xFF, 0xFF, 0xFF, 0xFF], .truncated(field: "fetchResponse.entries"))
        let createHead: [UInt8] = [PeerCodec.frameVersion, 2] + Array(repeating: 0, count: 24) + [4] + Array(repeating: 0, count: 16)
            + [0, 0, 0, 1] + Array(repeating: 0, count: 16) + [1, 0] + [0, 0, 0, 0] + Array(repeating: 0, count: 16)
        assertThrows(createHead + [0xFF, 0xFF, 0xFF, 0xFF], .truncated(field: "createStream.replicas"))
        assertThrows([PeerCodec.frameVersion, 1, 0, 0, 0, 0, 0xFF, 0xFF], .truncated(field: "hello.clusterID"))
    }
}
