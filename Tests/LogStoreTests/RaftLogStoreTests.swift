import Foundation
@testable import LogStore
import Raft
import Replication
import XCTest

final class RaftLogStoreTests: TemporaryDirectoryTestCase {
    typealias Entry = RaftEntry<MetadataCommand>

    func open() throws -> (RaftLogStore, hardState: HardState, entries: [Entry]) {
        let store = try RaftLogStore(directory: directory)
        let (hardState, entries) = try store.recover()
        return (store, hardState, entries)
    }

    func entries(_ indexes: ClosedRange<LogIndex>, term: Term) -> [Entry] {
        indexes.map { index in
            let command: MetadataCommand? = switch index % 3 {
            case 0: nil
            case 1: .createStream(StreamSpec(name: "s\(index)", subject: "orders.\(index)", replicationFactor: 3,
                                             minISR: 2, replicas: [BrokerID(1), BrokerID(2), BrokerID(3)]))
            default: .shrinkISR(stream: "s\(index)", replica: BrokerID(2), leader: BrokerID(1), leaderEpoch: term)
            }
            return Entry(term: term, index: index, command: command)
        }
    }

    func testNewDirectoryRecoversInitialState() throws {
        let (store, hardState, stored) = try open()
        XCTAssertEqual(hardState, .initial)
        XCTAssertEqual(stored, [])
        XCTAssertEqual(store.lastIndex, 0)
    }

    func testAppendTruncateHardStateRecover() throws {
        do {
            let (store, _, _) = try open()
            try store.append(entries(1...5, term: 1))
            try store.setHardState(HardState(term: 1, votedFor: 2, commitIndex: 3))
            try store.sync()
            // A new leader's conflicting suffix (the order of a RaftReady: truncate, append,
            // hard state, one sync).
            try store.truncate(from: 4)
            try store.append(entries(4...6, term: 2))
            try store.setHardState(HardState(term: 2, votedFor: nil, commitIndex: 5))
            try store.sync()
            store.close()
        }
        do {
            let (store, hardState, stored) = try open()
            XCTAssertEqual(hardState, HardState(term: 2, votedFor: nil, commitIndex: 5))
            XCTAssertEqual(stored, entries(1...3, term: 1) + entries(4...6, term: 2))
            XCTAssertEqual(store.lastIndex, 6)
            try store.truncate(from: 1)
            XCTAssertEqual(store.lastIndex, 0)
            try store.append(entries(1...2, term: 3)) // terms may restart low once the log is empty
            try store.sync()
            store.close()
        }
        XCTAssertEqual(try open().entries, entries(1...2, term: 3))
    }

    func testAppendRefusesGapsAndTermsGoingBackwards() throws {
        let (store, _, _) = try open()
        try store.append(entries(1...3, term: 2))
        XCTAssertThrowsError(try store.append(entries(5...5, term: 2))) {
            XCTAssertEqual($0 as? LogStoreError, .nonContiguousAppend(expected: 4, found: 5))
        }
        XCTAssertThrowsError(try store.append(entries(4...4, term: 1))) {
            XCTAssertEqual($0 as? LogStoreError, .epochWentBackwards(position: 4, epoch: 1, previous: 2))
        }
        try store.truncate(from: 3)
        try store.append(entries(3...3, term: 2))
        XCTAssertEqual(store.lastIndex, 3)
    }

    func testHardStateIsWrittenOnlyBySync() throws {
        do {
            let (store, _, _) = try open()
            try store.append(entries(1...2, term: 1))
            try store.setHardState(HardState(term: 1, votedFor: 1, commitIndex: 2))
            try store.sync()
            try store.setHardState(HardState(term: 9, votedFor: 3, commitIndex: 2))
            store.close() // no sync: as if the process died here
        }
        XCTAssertEqual(try open().hardState, HardState(term: 1, votedFor: 1, commitIndex: 2))
    }

    func testTornTailIsCutAndAppendsContinue() throws {
        do {
            let (store, _, _) = try open()
            try store.append(entries(1...4, term: 1))
            try store.setHardState(HardState(term: 1, votedFor: 1, commitIndex: 4))
            try store.sync()
            store.close()
        }
        try chop(RaftLogStore.logFile, bytes: 2)
        do {
            let (store, hardState, stored) = try open()
            XCTAssertEqual(stored, entries(1...3, term: 1))
            XCTAssertEqual(hardState, HardState(term: 1, votedFor: 1, commitIndex: 3), "commit index capped at the log")
            try store.append(entries(4...5, term: 2))
            try store.sync()
            store.close()
        }
        let all = entries(1...3, term: 1) + entries(4...5, term: 2)
        XCTAssertEqual(try open().entries, all)

        // A flipped byte inside entry 3 loses entries 3 and later, and only those.
        let sizes = try all.map { 8 + 16 + (try $0.command.map { try JSONEncoder().encode($0) } ?? Data()).count }
        XCTAssertEqual(sizes.reduce(0, +), try fileSize(RaftLogStore.logFile))
        let entry3 = sizes[0] + sizes[1]
        try flipByte(RaftLogStore.logFile, at: entry3 + 20)
        let (store, _, stored) = try open()
        XCTAssertEqual(stored, Array(all.prefix(2)))
        XCTAssertEqual(try fileSize(RaftLogStore.logFile), entry3)
        try store.append(entries(3...3, term: 4))
        XCTAssertEqual(store.lastIndex, 3)
    }

    func testCorruptHardStateRefusesToRecover() throws {
        do {
            let (store, _, _) = try open()
            try store.setHardState(HardState(term: 5, votedFor: 2, commitIndex: 0))
            try store.sync()
            store.close()
        }
        try flipByte(RaftLogStore.hardStateFile, at: 13)
        let store = try RaftLogStore(directory: directory)
        XCTAssertThrowsError(try store.recover()) {
            XCTAssertEqual($0 as? LogStoreError, .corruptCheckpoint(path: path(RaftLogStore.hardStateFile)))
        }
    }

    func testIntactButUndecodableRecordRefusesToRecover() throws {
        do {
            let (store, _, _) = try open()
            try store.append(entries(1...2, term: 1))
            store.close()
        }
        // A well-formed record (valid checksum) whose command is not JSON we know.
        var record: [UInt8] = []
        let json = Array("{\"futureCommand\":{}}".utf8)
        record.appendLittleEndian(UInt32(16 + json.count))
        record.appendLittleEndian(UInt32(0))
        record.appendLittleEndian(UInt64(3))
        record.appendLittleEndian(UInt64(1))
        record += json
        let crc = record.withUnsafeBytes { $0.checksum(0..<4, 8..<$0.count) }
        record.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(RaftLogStore.logFile)))
        try handle.seekToEnd()
        try handle.write(contentsOf: record)
        try handle.close()
        let store = try RaftLogStore(directory: directory)
        XCTAssertThrowsError(try store.recover()) {
            guard case .undecodableRecord = $0 as? LogStoreError else { return XCTFail("\($0)") }
        }
    }
}
