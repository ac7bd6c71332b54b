import Stats
import Experiment
import Foundation
import LoadCore
import NIOConcurrencyHelpers
import NIOCore
import Results
import Scenario

/// The live driver of a steady-state hypothesis (`HypothesisRun`, module Experiment, holds every
/// decision): it reads the probes when the run asks — the producers' recent acks and failures,
/// the cluster's metadata, the nodes' `/metrics` — and turns the run's decisions into the
/// method's control (go, no go, abort). Observes only: it asks what any client may ask.
final class HypothesisWatch: Sendable {
    let spec: HypothesisSpec
    let environment: LiveEnvironment
    let sessions: [ProducerSession]
    let streams: [String]
    let runStart: NIODeadline
    /// The schedule's end (ns since the run's start): no reading is due after it.
    let loadEnd: Int64
    let control: MethodControl
    let log: @Sendable (String) -> Void
    private let methodStart: Int64
    private let methodEnd = NIOLockedValueBox<Int64?>(nil)

    init(spec: HypothesisSpec, methodStart: Int64, environment: LiveEnvironment, sessions: [ProducerSession], streams: [String],
         runStart: NIODeadline, loadEnd: Int64, control: MethodControl, log: @escaping @Sendable (String) -> Void) {
        self.spec = spec
        self.methodStart = methodStart
        self.environment = environment
        self.sessions = sessions
        self.streams = streams
        self.runStart = runStart
        self.loadEnd = loadEnd
        self.control = control
        self.log = log
    }

    private func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) - Int64(runStart.uptimeNanoseconds) }

    /// The method's last step ran (or the abort's heal finished).
    func methodEnded() { methodEnd.withLockedValue { $0 = now() } }

    func run() async -> HypothesisRun {
        var run = HypothesisRun(spec, methodStart: methodStart)
        while run.phase != .done {
            if run.phase == .during, let end = methodEnd.withLockedValue({ $0 }) { run.methodEnded(at: end) }
            let t = now()
            if t > loadEnd {
                // The load is over: no reading can be trusted any more.
                if run.phase == .before { control.cancelStart() }
                break
            }
            guard let due = run.nextReading, due.at <= t else {
                let wait = run.nextReading.map { $0.at - t } ?? 20_000_000
                try? await Task.sleep(nanoseconds: UInt64(max(1_000_000, min(wait, 20_000_000))))
                continue
            }
            let reading = await read(from: due.from, to: due.at, probes: due.probes)
            if run.phase == .during, let end = methodEnd.withLockedValue({ $0 }) {
                // The method's last step (an undo) ran while this reading was taken: it no longer
                // shows the method in force. The after phase judges from here.
                run.methodEnded(at: end)
                continue
            }
            let phase = run.phase
            let decision = run.judge(reading, at: due.at)
            if let evaluation = run.evaluations.last {
                log(String(format: "t=%.3fs hypothesis %@: %@ — %@", Double(due.at) / 1e9, phase.rawValue,
                           evaluation.held ? "holds" : "deviates", evaluation.outcomes.map(\.description).joined(separator: "; ")))
            }
            switch decision {
            case .startMethod: control.allowStart()
            case .abortBeforeMethod:
                control.cancelStart()
                log("the steady state does not hold before the method: nothing is injected")
            case .abortMethod:
                control.abort()
                log("deviation during the method: stopping it and healing")
            case .recovered(let after): log(String(format: "the steady state holds again %.1f s after the method", Double(after) / 1e9))
            case .notRecovered: log("the steady state did not hold again within \(Double(spec.recoverWithin) / 1e9) s of the method")
            case .proceed: break
            }
        }
        return run
    }

    /// One reading: the connections' windows, the metadata and the scrapes all at once, so the
    /// reading that gates the method delays its first step as little as possible.
    private func read(from: Int64, to: Int64, probes: [ProbeSpec]) async -> ProbeReading {
        let quantities = probes.map(\.quantity)
        let needsView = quantities.contains(.leaderPresent) || quantities.contains(.isrSize)
        let scraped = probes.filter { if case .scraped = $0.quantity { true } else { false } }
        let windows = sessions.map { $0.window(from: from, to: to) }
        async let view = needsView ? environment.view(of: streams) : nil
        async let text = scraped.isEmpty ? "" : environment.scrapeMetrics()
        var load = LoadWindow(seconds: Double(to - from) / 1e9)
        for window in windows {
            if let w = try? await window.get() { load.merge(w) }
        }
        var reading = ProbeReading(load: load)
        if needsView, let view = await view {
            reading.leaderPresent = streams.allSatisfy { view.streams[$0]?.leader != nil }
                && (!view.hasMetadataGroup || view.metadataLeader != nil)
            reading.smallestISR = streams.compactMap { view.streams[$0]?.inSyncReplicas?.count }.min()
        }
        if !scraped.isEmpty {
            let samples = PrometheusText.parse(await text)
            for probe in scraped {
                guard case .scraped(let metric, let labels, let combine) = probe.quantity else { continue }
                reading.scraped[probe.name] = ProbeReading.combine(samples, metric: metric, labels: labels, combine)
            }
        }
        return reading
    }

    /// The run's readings as timeline entries.
    static func timeline(_ run: HypothesisRun) -> [TimelineEvent] {
        run.evaluations.map { e in
            TimelineEvent(atNanos: e.at, kind: "probe",
                          description: "\(e.phase.rawValue): \(e.held ? "holds" : "deviates") — " + e.outcomes.map(\.description).joined(separator: "; "),
                          nodes: [])
        }
    }
}
