import XCTest
@testable import SimCore

final class DiskTests: XCTestCase {
    func makeDisk(_ config: DiskConfig = DiskConfig(), seed: UInt64 = 1) -> SimDisk {
        SimDisk(config: config, rng: SeededGenerator(seed: seed).stream("disk"))
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testWritesAreVisibleButNotDurable() {
        var disk = makeDisk(DiskConfig(writeLatency: .constant(500)))
        XCTAssertEqual(disk.append("log", bytes("abc")), 500)
        XCTAssertEqual(disk.read("log"), bytes("abc"))
        XCTAssertEqual(disk.durableContents("log"), [])
        XCTAssertEqual(disk.files, ["log"])
        disk.crash()
        XCTAssertEqual(disk.read("log"), [])
        XCTAssertFalse(disk.exists("log"))
        XCTAssertEqual(disk.files, [])
        XCTAssertEqual(disk.crashCount, 1)
    }

    func testFsyncedDataSurvivesCrashUnsyncedIsLost() {
        var disk = makeDisk(DiskConfig(fsyncLatency: .constant(2_000)))
        _ = disk.append("log", bytes("durable"))
        let ticket = disk.beginFsync("log")
        XCTAssertEqual(ticket.latency, 2_000)
        XCTAssertEqual(disk.name(of: ticket.file), "log")
        disk.completeFsync(ticket)
        _ = disk.append("log", bytes("-volatile"))
        XCTAssertEqual(disk.durableContents("log"), bytes("durable"))
        disk.crash()
        XCTAssertEqual(disk.read("log"), bytes("durable"))
        // Appending after a crash continues from the durable state.
        _ = disk.append("log", bytes("!"))
        XCTAssertEqual(disk.read("log"), bytes("durable!"))
    }

    func testFsyncMakesDurableOnlyTheSnapshot() {
        var disk = makeDisk()
        _ = disk.append("log", bytes("one"))
        let ticket = disk.beginFsync("log")
        _ = disk.append("log", bytes("two"))
        _ = disk.write("log", at: 0, bytes("ONE"))   // rewrites bytes inside the snapshot
        disk.completeFsync(ticket)
        XCTAssertEqual(disk.durableContents("log"), bytes("one"))
        XCTAssertEqual(disk.read("log"), bytes("ONEtwo"))
        disk.crash()
        XCTAssertEqual(disk.read("log"), bytes("one"))
    }

    func testOutOfOrderCompletionKeepsTheNewerSnapshot() {
        var disk = makeDisk()
        _ = disk.append("log", bytes("a"))
        let older = disk.beginFsync("log")
        _ = disk.append("log", bytes("b"))
        let newer = disk.beginFsync("log")
        disk.completeFsync(newer)
        disk.completeFsync(older)
        XCTAssertEqual(disk.durableContents("log"), bytes("ab"))
        disk.completeFsync(newer)   // twice: no-op
        XCTAssertEqual(disk.pendingFsyncCount, 0)
    }

    func testCrashVoidsPendingTickets() {
        var disk = makeDisk()
        _ = disk.append("log", bytes("lost"))
        let ticket = disk.beginFsync("log")
        disk.crash()
        disk.completeFsync(ticket)
        XCTAssertEqual(disk.durableContents("log"), [])
        XCTAssertEqual(disk.read("log"), [])
        // A new ticket after the crash has a fresh id and works.
        _ = disk.append("log", bytes("kept"))
        let fresh = disk.beginFsync("log")
        XCTAssertNotEqual(fresh.id, ticket.id)
        disk.completeFsync(ticket)
        XCTAssertEqual(disk.durableContents("log"), [])
        disk.completeFsync(fresh)
        XCTAssertEqual(disk.durableContents("log"), bytes("kept"))
    }

    func testTruncateAndRemoveBecomeDurableOnFsync() {
        var disk = makeDisk()
        _ = disk.append("log", bytes("0123456789"))
        _ = disk.append("tmp", bytes("x"))
        disk.completeFsync(disk.beginFsync("log"))
        disk.completeFsync(disk.beginFsync("tmp"))

        disk.truncate("log", to: 4)
        disk.remove("tmp")
        XCTAssertEqual(disk.read("log"), bytes("0123"))
        XCTAssertFalse(disk.exists("tmp"))
        XCTAssertEqual(disk.durableContents("log"), bytes("0123456789"))
        XCTAssertTrue(disk.durablyExists("tmp"))

        // Crash before the fsync: truncation and removal are undone.
        var undone = disk
        undone.crash()
        XCTAssertEqual(undone.read("log"), bytes("0123456789"))
        XCTAssertEqual(undone.read("tmp"), bytes("x"))
        XCTAssertEqual(undone.files, ["log", "tmp"])

        disk.completeFsync(disk.beginFsync("log"))
        disk.completeFsync(disk.beginFsync("tmp"))
        disk.crash()
        XCTAssertEqual(disk.read("log"), bytes("0123"))
        XCTAssertFalse(disk.exists("tmp"))
        XCTAssertEqual(disk.files, ["log"])
    }

    func testWriteAtOffsetExtendsAndZeroFills() {
        var disk = makeDisk()
        _ = disk.write("f", at: 2, bytes("ab"))
        XCTAssertEqual(disk.read("f"), [0, 0] + bytes("ab"))
        _ = disk.write("f", at: 3, bytes("XYZ"))
        XCTAssertEqual(disk.read("f"), [0, 0] + bytes("aXYZ"))
        disk.truncate("f", to: 8)
        XCTAssertEqual(disk.read("f").count, 8)
    }

    func testTornWritesKeepAPrefixOfTheUnsyncedTail() {
        var sawPartial = false, sawNone = false
        for seed in 0..<200 as Range<UInt64> {
            var disk = makeDisk(DiskConfig(tornWrites: true), seed: seed)
            _ = disk.append("log", bytes("synced|"))
            disk.completeFsync(disk.beginFsync("log"))
            let tail = bytes("unsynced-tail-0123456789")
            _ = disk.append("log", tail)
            disk.crash()
            let survived = disk.read("log")
            XCTAssertTrue(survived.starts(with: bytes("synced|")))
            let kept = Array(survived.dropFirst(7))
            XCTAssertLessThanOrEqual(kept.count, tail.count, "never more than was written")
            XCTAssertEqual(kept, Array(tail.prefix(kept.count)), "a prefix, byte for byte")
            XCTAssertEqual(disk.durableContents("log"), survived, "what survived is on disk")
            if kept.isEmpty { sawNone = true } else if kept.count < tail.count { sawPartial = true }
        }
        XCTAssertTrue(sawPartial)
        XCTAssertTrue(sawNone)
    }

    func testWithoutTornWritesTheTailIsAlwaysLost() {
        var disk = makeDisk(DiskConfig(tornWrites: false))
        _ = disk.append("log", bytes("a"))
        disk.completeFsync(disk.beginFsync("log"))
        _ = disk.append("log", bytes("bcdef"))
        disk.crash()
        XCTAssertEqual(disk.read("log"), bytes("a"))
    }

    func testCorruptionFlipsExactlyOneBit() {
        for seed in 0..<50 as Range<UInt64> {
            var disk = makeDisk(DiskConfig(corruptionProbability: 1), seed: seed)
            let a = (0..<64).map { UInt8($0) }, b = [UInt8](repeating: 0xAA, count: 32)
            _ = disk.append("a", a)
            _ = disk.append("b", b)
            disk.completeFsync(disk.beginFsync("a"))
            disk.completeFsync(disk.beginFsync("b"))
            disk.crash()
            var flipped = 0
            for (before, after) in zip(a + b, disk.read("a") + disk.read("b")) {
                flipped += (before ^ after).nonzeroBitCount
            }
            XCTAssertEqual(flipped, 1)
            let c = disk.lastCorruption!
            XCTAssertEqual(disk.durableContents(c.file), disk.read(c.file))
        }
        var clean = makeDisk(DiskConfig(corruptionProbability: 0))
        _ = clean.append("a", bytes("abc"))
        clean.completeFsync(clean.beginFsync("a"))
        clean.crash()
        XCTAssertEqual(clean.read("a"), bytes("abc"))
        XCTAssertNil(clean.lastCorruption)
    }

    func testFilesAreSortedAndCrashIsDeterministic() {
        func run() -> [[UInt8]] {
            var disk = makeDisk(DiskConfig(tornWrites: true, corruptionProbability: 0.5), seed: 9)
            for name in ["zeta", "alpha", "mid", "beta"] {
                _ = disk.append(name, bytes(name))
                disk.completeFsync(disk.beginFsync(name))
                _ = disk.append(name, bytes("-tail-of-\(name)"))
            }
            XCTAssertEqual(disk.files, ["alpha", "beta", "mid", "zeta"])
            disk.crash()
            return disk.files.map { disk.read($0) }
        }
        XCTAssertEqual(run(), run())
    }

    func testAppendHeavyLogStaysConsistentAcrossManyFsyncs() {
        var disk = makeDisk()
        var expected: [UInt8] = []
        var tickets: [FsyncTicket] = []
        for i in 0..<1_000 {
            let chunk = [UInt8(i & 0xFF)]
            _ = disk.append("log", chunk)
            expected += chunk
            tickets.append(disk.beginFsync("log"))
            if i % 3 == 0 { disk.completeFsync(tickets.removeFirst()) }
        }
        for ticket in tickets.reversed() { disk.completeFsync(ticket) }
        XCTAssertEqual(disk.durableContents("log"), expected)
    }
}

/// `SimDisk` remembers where recently used names sit; every operation that adds or drops a
/// name must leave later look-ups right.
final class DiskLookupCacheTests: XCTestCase {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testLookupsStayRightAcrossRemovesRenamesTruncatesAndCrashes() {
        var disk = SimDisk(config: DiskConfig(), rng: SeededGenerator(seed: 3))
        // More files than the cache holds, written round-robin at their ends (the cached path).
        let names = (0..<6).map { "streams/s/\($0).log" }
        for round in 0..<3 {
            for name in names { _ = disk.write(name, at: round, bytes("\(round)")) }
        }
        for name in names { XCTAssertEqual(disk.read(name), bytes("012")) }
        // A removed file is gone for the cached path too; re-creating it starts empty.
        let ticket = disk.beginFsync(names[0])
        disk.remove(names[1])
        XCTAssertFalse(disk.exists(names[1]))
        _ = disk.write(names[1], at: 0, bytes("x"))
        XCTAssertEqual(disk.read(names[1]), bytes("x"))
        disk.completeFsync(ticket)
        XCTAssertEqual(disk.durableContents(names[0]), bytes("012"))
        // Rename moves contents; the old name's cached slot must not be written through.
        XCTAssertTrue(disk.rename(names[2], to: "streams/s/renamed.log"))
        _ = disk.write("streams/s/renamed.log", at: 3, bytes("3"))
        XCTAssertEqual(disk.read("streams/s/renamed.log"), bytes("0123"))
        XCTAssertFalse(disk.exists(names[2]))
        _ = disk.write(names[2], at: 0, bytes("new"))
        XCTAssertEqual(disk.read(names[2]), bytes("new"))
        // Truncate, then append at the new end through the cache.
        disk.truncate(names[3], to: 1)
        _ = disk.write(names[3], at: 1, bytes("9"))
        XCTAssertEqual(disk.read(names[3]), bytes("09"))
        // Only the fsynced file survives a crash; writes after it land in the right files.
        let sync = disk.beginFsync(names[4])
        disk.completeFsync(sync)
        disk.crash()
        XCTAssertEqual(disk.files, [names[0], names[4]])
        _ = disk.write(names[4], at: 3, bytes("!"))
        XCTAssertEqual(disk.read(names[4]), bytes("012!"))
        XCTAssertEqual(disk.read(names[0]), bytes("012"))
    }
}
