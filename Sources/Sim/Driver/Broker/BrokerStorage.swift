import Foundation
import Raft
import Replication
import SimCore

/// How a simulated broker lays its state out on its `SimDisk`, and how it reads it back after
/// a crash. Every record carries a checksum, so a torn write or a flipped bit ends recovery at
/// the last intact record instead of inventing data — what a real segment reader does.
enum BrokerStorage {
    static let raftState = "raft/state"
    static let raftLog = "raft/log"
    static func streamLog(_ stream: Int) -> String { "stream-\(stream)/log" }
    static func highWatermark(_ stream: Int) -> String { "stream-\(stream)/hw" }
    static func epochCache(_ stream: Int) -> String { "stream-\(stream)/epochs" }

    /// offset, leader epoch, producer, sequence (8 bytes each), size (4), checksum (4).
    static let logRecordSize = 40

    // MARK: Encoding

    static func encode(_ entry: LogEntry) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(logRecordSize)
        append(entry.offset, to: &bytes)
        append(entry.leaderEpoch, to: &bytes)
        append(entry.payload.producerID, to: &bytes)
        append(entry.payload.sequence, to: &bytes)
        append32(UInt32(clamping: entry.payload.bytes), to: &bytes)
        append32(checksum(bytes), to: &bytes)
        return bytes
    }

    static func encode(_ entries: [LogEntry]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * logRecordSize)
        for entry in entries { bytes += encode(entry) }
        return bytes
    }

    static func encodeHighWatermark(_ hw: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        append(hw, to: &bytes)
        append32(checksum(bytes), to: &bytes)
        return bytes
    }

    static func encode(_ cache: [EpochStart]) -> [UInt8] {
        var bytes: [UInt8] = []
        append32(UInt32(cache.count), to: &bytes)
        for start in cache {
            append(start.epoch, to: &bytes)
            append(start.startOffset, to: &bytes)
        }
        append32(checksum(bytes), to: &bytes)
        return bytes
    }

    static func encode(_ state: HardState) -> [UInt8] {
        var bytes: [UInt8] = []
        append(state.term, to: &bytes)
        append(state.votedFor.map { UInt64($0) } ?? UInt64.max, to: &bytes)
        append(state.commitIndex, to: &bytes)
        append32(checksum(bytes), to: &bytes)
        return bytes
    }

    /// term, index, command length (4), command JSON (keys sorted), checksum (4).
    static func encode(_ entry: RaftEntry<MetadataCommand>) -> [UInt8] {
        var bytes: [UInt8] = []
        append(entry.term, to: &bytes)
        append(entry.index, to: &bytes)
        let command = entry.command.map { encodeCommand($0) } ?? []
        append32(UInt32(command.count), to: &bytes)
        bytes += command
        append32(checksum(bytes), to: &bytes)
        return bytes
    }

    static func encodeCommand(_ command: MetadataCommand) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(command)) ?? Data())
    }

    // MARK: Recovery

    static func recoverStream(_ stream: Int, from disk: SimDisk) -> RecoveredLog {
        let bytes = disk.read(streamLog(stream))
        var entries: [LogEntry] = []
        var position = 0
        while position + logRecordSize <= bytes.count {
            let record = Array(bytes[position..<(position + logRecordSize)])
            guard read32(record, 36) == checksum(Array(record[0..<36])) else { break }
            let entry = LogEntry(
                offset: read64(record, 0), leaderEpoch: read64(record, 8),
                payload: LogPayload(producerID: read64(record, 16), sequence: read64(record, 24), bytes: Int(read32(record, 32))))
            guard entry.offset == UInt64(entries.count) else { break }
            entries.append(entry)
            position += logRecordSize
        }
        var hw: UInt64 = 0
        let hwBytes = disk.read(highWatermark(stream))
        if hwBytes.count == 12, read32(hwBytes, 8) == checksum(Array(hwBytes[0..<8])) { hw = read64(hwBytes, 0) }
        var cache: [EpochStart] = []
        let cacheBytes = disk.read(epochCache(stream))
        if cacheBytes.count >= 8 {
            let count = Int(read32(cacheBytes, 0))
            let end = 4 + count * 16
            if cacheBytes.count == end + 4, read32(cacheBytes, end) == checksum(Array(cacheBytes[0..<end])) {
                for i in 0..<count {
                    cache.append(EpochStart(epoch: read64(cacheBytes, 4 + i * 16), startOffset: read64(cacheBytes, 12 + i * 16)))
                }
            }
        }
        return RecoveredLog(entries: entries, highWatermarkCheckpoint: hw, epochCache: cache)
    }

    /// The Raft hard state and the intact prefix of the Raft log, with each entry's byte
    /// offset in the file (needed to truncate it later).
    static func recoverRaft(from disk: SimDisk) -> (HardState, [RaftEntry<MetadataCommand>], [Int]) {
        var state = HardState.initial
        let stateBytes = disk.read(raftState)
        if stateBytes.count == 28, read32(stateBytes, 24) == checksum(Array(stateBytes[0..<24])) {
            let vote = read64(stateBytes, 8)
            state = HardState(term: read64(stateBytes, 0), votedFor: vote == UInt64.max ? nil : Int(vote),
                              commitIndex: read64(stateBytes, 16))
        }
        let bytes = disk.read(raftLog)
        var entries: [RaftEntry<MetadataCommand>] = []
        var offsets: [Int] = []
        var position = 0
        let decoder = JSONDecoder()
        while position + 24 <= bytes.count {
            let length = Int(read32(bytes, position + 16))
            let end = position + 20 + length
            guard end + 4 <= bytes.count, read32(bytes, end) == checksum(Array(bytes[position..<end])) else { break }
            let index = read64(bytes, position + 8)
            guard index == UInt64(entries.count + 1) else { break }
            var command: MetadataCommand?
            if length > 0 {
                guard let decoded = try? decoder.decode(MetadataCommand.self, from: Data(bytes[(position + 20)..<end])) else { break }
                command = decoded
            }
            entries.append(RaftEntry(term: read64(bytes, position), index: index, command: command))
            offsets.append(position)
            position = end + 4
        }
        return (state, entries, offsets)
    }

    // MARK: Bytes

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    static func read64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[at + i]) << UInt64(8 * i) }
        return value
    }

    static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[at + i]) << UInt32(8 * i) }
        return value
    }

    /// FNV-1a folded to 32 bits: enough to catch torn and flipped records in a simulation.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
    }
}
