import Foundation
@testable import LogStore
import Replication
import SimCore
import XCTest

/// Random appends, truncations, syncs, reads, checkpoints, reopenings and torn tails, checked
/// against an array after every step. Seeded: a failure names its seed and round.
final class StreamLogStoreModelTests: TemporaryDirectoryTestCase {
    func testRandomOperationsMatchAnInMemoryModel() throws {
        for seed: UInt64 in [1, 2, 3] {
            try run(seed: seed, rounds: 200)
        }
    }

    private func run(seed: UInt64, rounds: Int) throws {
        var random = SplitMix64(seed: seed)
        let directory = self.directory.appendingPathComponent("seed-\(seed)")
        let segmentBytes = Int.random(in: 300...2000, using: &random)
        let indexInterval = Int.random(in: 50...400, using: &random)
        func open() throws -> (StreamLogStore, RecoveredLog) {
            let store = try StreamLogStore(directory: directory, segmentBytes: segmentBytes, indexIntervalBytes: indexInterval)
            return (store, try store.recover())
        }

        var model: [LogEntry] = []
        var highWatermark: UInt64 = 0
        var epochCache: [EpochStart] = []
        var epoch: UInt64 = 1
        var (store, _) = try open()

        for round in 0..<rounds {
            let context = "seed \(seed) round \(round)"
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<45:
                if Int.random(in: 0..<5, using: &random) == 0 { epoch += 1 }
                let batch = (0..<Int.random(in: 1...12, using: &random)).map { i -> LogEntry in
                    let data = (0..<Int.random(in: 0...150, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    let offset = UInt64(model.count + i)
                    return LogEntry(offset: offset, leaderEpoch: epoch,
                                    payload: LogPayload(producerID: seed, sequence: offset, bytes: data.count, data: data))
                }
                try store.append(batch)
                model += batch
            case 45..<60:
                let from = UInt64.random(in: 0...UInt64(model.count), using: &random)
                try store.truncate(from: from)
                model.removeSubrange(Int(from)...)
            case 60..<70:
                try store.sync()
            case 70..<82:
                let from = Int.random(in: 0...model.count + 2, using: &random)
                let maxEntries = Int.random(in: 0...30, using: &random)
                let maxBytes = Int.random(in: 0...3000, using: &random)
                XCTAssertEqual(
                    try store.read(from: UInt64(from), maxEntries: maxEntries, maxBytes: maxBytes),
                    expectedRead(model, from: from, maxEntries: maxEntries, maxBytes: maxBytes), context)
            case 82..<87:
                highWatermark = UInt64.random(in: 0...UInt64(model.count), using: &random)
                try store.writeHighWatermark(highWatermark)
                epochCache = (0..<Int.random(in: 0...4, using: &random)).map {
                    EpochStart(epoch: UInt64($0 + 1), startOffset: UInt64($0 * 10))
                }
                try store.writeEpochCache(epochCache)
            case 87..<95:
                store.close()
                let recovered: RecoveredLog
                (store, recovered) = try open()
                XCTAssertEqual(recovered.entries, model, context)
                XCTAssertEqual(recovered.highWatermarkCheckpoint, highWatermark, context)
                XCTAssertEqual(recovered.epochCache, epochCache, context)
            default:
                // A crash that tore the end of the active segment.
                store.close()
                let logs = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                    .filter { $0.hasSuffix(".log") }.sorted()
                let last = directory.appendingPathComponent(logs.last!).path
                let size = try FileManager.default.attributesOfItem(atPath: last)[.size] as! Int
                let keptBytes = size - Int.random(in: 0...min(size, 200), using: &random)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last))
                try handle.truncate(atOffset: UInt64(keptBytes))
                try handle.close()
                var end = Int(Segment.baseOffset(ofFile: logs.last!, suffix: ".log")!)
                var used = 0
                while end < model.count, used + StreamRecord.encodedSize(model[end]) <= keptBytes {
                    used += StreamRecord.encodedSize(model[end])
                    end += 1
                }
                model.removeSubrange(end...)
                let recovered: RecoveredLog
                (store, recovered) = try open()
                XCTAssertEqual(recovered.entries, model, context)
            }
            XCTAssertEqual(store.endOffset, UInt64(model.count), context)
        }
        store.close()
        XCTAssertEqual(try open().1.entries, model, "seed \(seed) final")
    }

    private func expectedRead(_ model: [LogEntry], from: Int, maxEntries: Int, maxBytes: Int) -> [LogEntry] {
        var result: [LogEntry] = []
        var bytes = 0
        for entry in model.dropFirst(from) {
            let size = StreamRecord.encodedSize(entry)
            if result.count == maxEntries || (!result.isEmpty && bytes + size > maxBytes) { break }
            result.append(entry)
            bytes += size
        }
        return result
    }
}
