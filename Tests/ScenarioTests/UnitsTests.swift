import XCTest
@testable import Scenario

final class UnitsTests: XCTestCase {
    func testDurations() throws {
        XCTAssertEqual(try Units.duration("250us"), 250_000)
        XCTAssertEqual(try Units.duration("3ms"), 3_000_000)
        XCTAssertEqual(try Units.duration("1.5ms"), 1_500_000)
        XCTAssertEqual(try Units.duration("10s"), 10_000_000_000)
        XCTAssertEqual(try Units.duration("5m"), 300_000_000_000)
        XCTAssertEqual(try Units.duration("1h"), 3_600_000_000_000)
        XCTAssertEqual(try Units.duration("0s"), 0)
        XCTAssertEqual(try Units.duration("100ns"), 100)
        XCTAssertEqual(try Units.duration("-1s", allowNegative: true), -1_000_000_000)
        XCTAssertEqual(try Units.durationNanos("0.4ms"), 400_000)
    }

    func testDurationErrors() {
        XCTAssertThrowsError(try Units.duration("10")) { error in
            XCTAssertEqual((error as? UnitError)?.expected, "a duration with a unit such as 10ms")
        }
        for bad in ["10sec", "ms", "", "1.2.3s", "ten seconds", "1d", "-1s"] {
            XCTAssertThrowsError(try Units.duration(bad), "'\(bad)' should not parse")
        }
    }

    func testRates() throws {
        XCTAssertEqual(try Units.rate("2000/s"), 2000)
        XCTAssertEqual(try Units.rate("5/ms"), 5000)
        XCTAssertEqual(try Units.rate("120/m"), 2)
        XCTAssertEqual(try Units.rate("3600/h"), 1)
        for bad in ["2000", "2000/sec", "/s", "-5/s", "fast"] {
            XCTAssertThrowsError(try Units.rate(bad), "'\(bad)' should not parse")
        }
    }

    func testSizes() throws {
        XCTAssertEqual(try Units.size("512B"), 512)
        XCTAssertEqual(try Units.size("4KiB"), 4096)
        XCTAssertEqual(try Units.size("1MiB"), 1_048_576)
        XCTAssertEqual(try Units.size("1GiB"), 1_073_741_824)
        XCTAssertEqual(try Units.size("4KB"), 4000)
        XCTAssertEqual(try Units.size("1.5KiB"), 1536)
        for bad in ["512", "4kib", "KiB", "-1B"] {
            XCTAssertThrowsError(try Units.size(bad), "'\(bad)' should not parse")
        }
    }

    func testBandwidth() throws {
        XCTAssertEqual(try Units.bandwidth("125MB/s"), 125e6)
        XCTAssertEqual(try Units.bandwidth("1Gbit/s"), 125e6)
        XCTAssertEqual(try Units.bandwidth("8Mbit/s"), 1e6)
        XCTAssertEqual(try Units.bandwidth("1MiB/ms"), 1_048_576_000)
        for bad in ["125MB", "125/s", "1Gb/s"] {
            XCTAssertThrowsError(try Units.bandwidth(bad), "'\(bad)' should not parse")
        }
    }

    func testProbabilities() throws {
        XCTAssertEqual(try Units.probability("1%"), 0.01, accuracy: 1e-15)
        XCTAssertEqual(try Units.probability("0.01"), 0.01)
        XCTAssertEqual(try Units.probability("0"), 0)
        XCTAssertEqual(try Units.probability("100%"), 1)
        for bad in ["150%", "2", "-0.1", "often", "%"] {
            XCTAssertThrowsError(try Units.probability(bad), "'\(bad)' should not parse")
        }
    }

    func testPartsPerMillion() throws {
        XCTAssertEqual(try Units.partsPerMillion("200ppm"), 200)
        XCTAssertEqual(try Units.partsPerMillion("-50ppm"), -50)
        XCTAssertThrowsError(try Units.partsPerMillion("200"))
    }

    func testSuggestions() {
        XCTAssertEqual(Suggest.closest(to: "sevrers", in: ["name", "servers", "service"]), "servers")
        XCTAssertEqual(Suggest.closest(to: "dur", in: ["duration", "description"]), "duration")
        XCTAssertNil(Suggest.closest(to: "zzzzzz", in: ["name", "servers"]))
        XCTAssertEqual(Suggest.levenshtein("kitten", "sitting"), 3)
    }
}
