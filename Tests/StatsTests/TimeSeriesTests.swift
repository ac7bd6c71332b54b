import XCTest
@testable import Stats

final class TimeSeriesTests: XCTestCase {
    private let second: Int64 = 1_000_000_000

    func testRatesRatiosGaugesAndLatenciesPerWindow() {
        var recorder = TimeSeriesRecorder(window: second, span: 3 * second)
        let done = recorder.rate("throughput")
        let errors = recorder.ratio("error_rate")
        let leader = recorder.gauge("leader.orders", unit: "node")
        let latency = recorder.latency("request_latency")
        for i in 0..<10 { recorder.count(done, at: Int64(i) * 100_000_000) }   // 10 in window 0
        recorder.count(done, at: 2 * second + 5, 4)                                // 4 in window 2
        recorder.trial(errors, at: 10, hit: true)
        recorder.trial(errors, at: 20, hit: false)
        recorder.trial(errors, at: 2 * second, hit: false)
        recorder.set(leader, at: second + 1, 2)
        recorder.set(leader, at: second + 2, .nan)  // leaderless later in the same window: last value wins
        recorder.set(leader, at: 2 * second, 3)
        for ms in 1...100 { recorder.latency(latency, at: 500, Int64(ms) * 1_000_000) }
        let series = Dictionary(uniqueKeysWithValues: recorder.finished().map { ($0.name, $0) })
        XCTAssertEqual(recorder.finished().map(\.name), ["error_rate", "leader.orders", "request_latency.p50",
                                                         "request_latency.p99", "throughput"])
        XCTAssertEqual(series["throughput"]?.points, [10, 0, 4])
        XCTAssertEqual(series["throughput"]?.unit, "/s")
        XCTAssertEqual(series["error_rate"]?.points, [0.5, nil, 0])
        XCTAssertEqual(series["leader.orders"]?.points, [nil, nil, 3])
        XCTAssertEqual(series["request_latency.p50"]?.points[0] ?? 0, 50, accuracy: 1)
        XCTAssertEqual(series["request_latency.p99"]?.points[0] ?? 0, 99, accuracy: 1.5)
        XCTAssertNil(series["request_latency.p50"]?.points[1] ?? nil)
    }

    /// `outcome` records what `trial`, `count` and `latency` would: a failure is an error-rate hit
    /// only; a success a miss, a count and a latency, each in the window of its time.
    func testAnOutcomeRecordsWhatTheThreeSeparateCallsWould() {
        func declare(_ recorder: inout TimeSeriesRecorder) -> TimeSeriesRecorder.OutcomeHandles {
            .init(throughput: recorder.rate("throughput"), errors: recorder.ratio("error_rate"),
                  latency: recorder.latency("request_latency"))
        }
        var combined = TimeSeriesRecorder(window: second, span: 3 * second)
        var separate = combined
        let a = declare(&combined), b = declare(&separate)
        let outcomes: [(at: Int64, succeeded: Bool, latency: Int64)] = [
            (5, true, 3_000_000), (7, false, 9_000_000), (second + 1, true, 40_000_000),
            (second + 2, true, 1_000_000), (2 * second + 3, false, 1), (5 * second, true, 250_000_000),
        ]
        for o in outcomes {
            combined.outcome(a, at: o.at, succeeded: o.succeeded, latency: o.latency)
            separate.trial(b.errors, at: o.at, hit: !o.succeeded)
            if o.succeeded {
                separate.count(b.throughput, at: o.at)
                separate.latency(b.latency, at: o.at, o.latency)
            }
        }
        XCTAssertEqual(combined.finished(), separate.finished())
        let series = Dictionary(uniqueKeysWithValues: combined.finished().map { ($0.name, $0) })
        XCTAssertEqual(series["throughput"]?.points, [1, 2, 1])  // the late success lands in the last window
        XCTAssertEqual(series["error_rate"]?.points, [0.5, 0, 0.5])
        XCTAssertEqual(series["request_latency.p50"]?.points[1] ?? 0, 1, accuracy: 0.05)
    }

    func testGaugesCarryForwardAndLateValuesLandInTheLastWindow() {
        var recorder = TimeSeriesRecorder(window: second, span: 4 * second)
        let isr = recorder.gauge("isr_size.orders", unit: "count")
        let done = recorder.rate("throughput")
        recorder.set(isr, at: 0, 3)
        recorder.set(isr, at: 2 * second, 2)
        recorder.count(done, at: 60 * second)  // after the span: counted in the last window
        let series = recorder.finished()
        XCTAssertEqual(series.first { $0.name == "isr_size.orders" }?.points, [3, 3, 2, 2])
        XCTAssertEqual(series.first { $0.name == "throughput" }?.points, [0, 0, 0, 1])
    }

    func testLongRunsGetWiderWindowsAndEarlyEndsDropEmptyWindows() {
        let recorder = TimeSeriesRecorder(window: second, span: 10_000 * second, maxWindows: 2_000)
        XCTAssertEqual(recorder.windowNanos, 5 * second)
        XCTAssertEqual(recorder.windows, 2_000)
        var short = TimeSeriesRecorder(window: second, span: 60 * second)
        _ = short.rate("throughput")
        XCTAssertEqual(short.finished(end: 2_500_000_000).first?.points.count, 3)
    }

    func testWindowedOutcomesGrowMergeAndNameTheirSeries() {
        var a = WindowedOutcomes(windowNanos: second)
        var b = WindowedOutcomes(windowNanos: second)
        a.succeeded(at: 100, latency: 2_000_000)
        a.failed(at: 200)
        b.succeeded(at: 2 * second + 1, latency: 4_000_000)
        b.failed(at: 2 * second + 2, count: 3)
        a.merge(b)
        let series = Dictionary(uniqueKeysWithValues: a.series(latencyName: "publish_latency", throughputName: "publish_throughput",
                                                               errorName: "publish_error_rate").map { ($0.name, $0.points) })
        XCTAssertEqual(series["publish_throughput"], [1, 0, 1])
        XCTAssertEqual(series["publish_error_rate"], [0.5, nil, 0.75])
        XCTAssertEqual(series["publish_latency.p50"]?[0] ?? 0, 2, accuracy: 0.05)
        XCTAssertEqual(series["publish_latency.p50"]?[2] ?? 0, 4, accuracy: 0.05)
        XCTAssertNil(series["publish_latency.p99"]?[1] ?? nil)
    }
}
