import Checkers
import Clients
import Experiment
import FaultPlan
import Foundation
import Links
import LiveClient
import LoadCore
import NIOCore
import Results
import Scenario
import Sampling
import Stats
import Wire

/// Which system a live run drives.
public enum LoadTarget: String, Sendable, CaseIterable {
    /// The Faultline broker, publishing over its client protocol.
    case faultline
    /// The Faultline broker, publishing through a nats-server on the streams' subjects
    /// (Liftbridge-style ingestion; acks come back on the reply subject).
    case faultlineNATS = "faultline-nats"
    /// NATS JetStream, the peer comparison.
    case natsJetStream = "nats-jetstream"
}

/// One live run of a scenario's publish workload against one target, with the scenario's
/// crash/restart/pause/resume faults, ending in a read-back of every stream and the same
/// checkers the simulator applies. Produces the results schema's `RunRecord` (`mode: live`).
public struct LoadRun: Sendable {
    public var scenario: Scenario
    public var target: LoadTarget
    /// The compare/sweep values this run stands for (shown as its group in the report).
    public var parameters: [String: String]
    public var seed: UInt64
    /// This run's folder (cluster data, logs).
    public var folder: String
    public var executable: String
    /// Whether the peer links run through the fault proxy; nil: when the fault schedule has
    /// network faults. Calibration forces it on for such scenarios, so that the hop it fits
    /// includes the proxy the faulted run goes through.
    public var faultProxy: Bool?
    /// An existing cluster to run against (`faultline chaos --cluster`: its folder or
    /// cluster.json) instead of starting one; it keeps running afterwards.
    public var cluster: String?

    public init(scenario: Scenario, target: LoadTarget, parameters: [String: String], seed: UInt64, folder: String, executable: String) {
        self.scenario = scenario
        self.target = target
        self.parameters = parameters
        self.seed = seed
        self.folder = folder
        self.executable = executable
    }

    /// Refuses, before anything is written or started, faults and probes this run cannot carry
    /// out — against an existing cluster (`cluster`) also what that cluster lacks.
    public func preflight() throws {
        try LiveFaults.validate(scenario, network: target != .natsJetStream)
        guard let cluster else { return }
        let folder = cluster.hasSuffix(".json") ? URL(fileURLWithPath: cluster).deletingLastPathComponent().path : cluster
        let state: ClusterState
        do { state = try ClusterState.load(folder: folder) } catch {
            throw LiveError.badInput("--cluster \(cluster): no cluster.json to attach to (\(error)); start one with `faultline cluster up`")
        }
        try LiveFaults.validateAttached(scenario, state: state, clusterPath: cluster)
    }

    /// Whether a live run of `scenario` puts the fault proxy on the peer links by default.
    public static func needsFaultProxy(_ scenario: Scenario) -> Bool { LiveFaults.needsNetwork(scenario) }

    /// Splits a workload's arrival rate evenly over `n` producer connections.
    public static func perConnection(_ process: ArrivalProcess, _ n: Int) throws -> ArrivalProcess {
        let k = Double(n)
        switch process {
        case .poisson(let r): return .poisson(perSecond: r / k)
        case .constant(let r): return .constant(perSecond: r / k)
        case .ramp(let a, let b, let over): return .ramp(fromPerSecond: a / k, toPerSecond: b / k, over: over)
        case .interarrival:
            if n == 1 { return process }
            throw LiveError.badInput("live mode splits a workload's rate over `live.connections`; give the publish workload a rate (constant, poisson or ramp), or set live.connections: 1")
        }
    }

    public func execute(group: EventLoopGroup, log: @escaping @Sendable (String) -> Void) async throws -> RunRecord {
        let started = Date()
        let live = scenario.live ?? LiveSpec()
        guard scenario.broker != nil, !scenario.publishes.isEmpty else {
            throw LiveError.badInput("\(scenario.sourceFile): `faultline load` needs a `broker:` section and at least one `- publish:` workload")
        }
        try LiveFaults.validate(scenario, network: target != .natsJetStream)
        if faultProxy == true && target == .natsJetStream {
            throw LiveError.badInput("the fault proxy sits on the Faultline broker's peer links; nats-jetstream has none")
        }
        let environment: LiveEnvironment
        switch target {
        case .faultline where cluster != nil:
            environment = try BrokerEnvironment.attach(cluster: cluster!, scenario: scenario, executable: executable, loop: group.next())
        case _ where cluster != nil:
            throw LiveError.badInput("--cluster runs against a Faultline broker cluster (`faultline cluster up`); target \(target.rawValue) starts its own")
        case .faultline, .faultlineNATS:
            environment = try await BrokerEnvironment.start(scenario: scenario, folder: folder, executable: executable,
                                                            loop: group.next(), nats: live.nats || target == .faultlineNATS,
                                                            publishThroughNATS: target == .faultlineNATS,
                                                            networkFaults: faultProxy ?? LiveFaults.needsNetwork(scenario),
                                                            failpoints: LiveFaults.failpoints(scenario, seed: seed),
                                                            faketime: LiveFaults.needsClock(scenario) ? NodeClock.library : nil, seed: seed, log: log)
        case .natsJetStream:
            environment = try await JetStreamEnvironment.start(scenario: scenario, folder: folder, replicas: live.jetstreamReplicas,
                                                               loop: group.next(), log: log)
        }
        do {
            let record = try await drive(environment, live: live, group: group, started: started, log: log)
            await environment.stop()
            return record
        } catch {
            await environment.stop()
            throw error
        }
    }

    private func drive(_ environment: LiveEnvironment, live: LiveSpec, group: EventLoopGroup, started: Date,
                       log: @escaping @Sendable (String) -> Void) async throws -> RunRecord {
        let root = SeededGenerator(seed: seed)
        let runStart = NIODeadline.now() + .milliseconds(300)
        var sessions: [ProducerSession] = []
        // An existing cluster's streams hold earlier runs' messages: this run's producer ids are
        // its own (from the wall clock, 10,000 per run) and the read-back keeps only theirs.
        let producerBase: UInt32 = cluster == nil ? 0 : UInt32(UInt64(Date().timeIntervalSince1970) % 400_000) * 10_000
        // Idempotent producers' epoch (`ProducerCore.Config.producerEpoch`): the run's start in
        // milliseconds, so a later run's producers with the same ids fence this run's and start
        // their own sequences instead of having them taken for re-sends.
        let producerEpoch = UInt64(Date().timeIntervalSince1970 * 1000)
        for (w, workload) in scenario.publishes.enumerated() {
            let arrivals = try Self.perConnection(workload.arrivals, live.connections)
            for c in 0..<live.connections {
                let producer = producerBase + UInt32(w * 1000 + c + 1)
                let transport = try await environment.transport(stream: workload.stream, producer: producer, loop: group.next())
                let schedule = ArrivalSchedule(arrivals, start: workload.start, stop: min(workload.stop ?? scenario.duration, scenario.duration),
                                               generator: root.stream("live.publish.\(w).\(c)"))
                sessions.append(ProducerSession(
                    producer: producer, producerEpoch: producerEpoch, stream: workload.stream, transport: transport, schedule: schedule,
                    payloadSize: max(1, workload.sizeBytes), maxInFlight: live.maxInFlight, timeoutNanos: workload.timeout,
                    retries: workload.retries, runStart: runStart, measureFrom: scenario.warmup,
                    recentWindow: scenario.hypothesis.map { $0.window + 1_000_000_000 }, timeSeriesWindow: scenario.timeSeriesWindow))
            }
        }
        // Connect everyone before time zero.
        for session in sessions { try await session.connect().get() }
        log("\(target.rawValue): \(sessions.count) producer connection(s) ready; running \(Double(scenario.duration) / 1e9) s")

        let faults = LiveFaults(scenario: scenario, environment: environment, runStart: runStart, seed: seed, log: log)
        // A steady-state hypothesis gates the method (nothing is injected unless it holds
        // before), may abort it (a `during:` deviation: stop and heal), and is read again after it.
        // Without one the method starts as scheduled; the control still lets a failing load
        // stop it and heal before the rollbacks.
        let control = MethodControl()
        let watch: HypothesisWatch? = scenario.hypothesis.flatMap { spec in
            scenario.methodSpan.map { span in
                HypothesisWatch(spec: spec, methodStart: span.start, environment: environment, sessions: sessions,
                                streams: Set(scenario.publishes.map(\.stream)).sorted(), runStart: runStart,
                                loadEnd: scenario.duration, control: control, log: log)
            }
        }
        if watch == nil { control.allowStart() }
        let hypothesisTask = watch.map { w in Task { await w.run() } }
        let faultTask = Task {
            let outcome = try await faults.run(control: control)
            watch?.methodEnded()
            return outcome
        }
        // Drifting clocks move on until the drain ends (libfaketime has no drift of its own).
        let driftTask = LiveFaults.drifts(scenario) ? Task { await faults.keepClocksDrifting(until: scenario.duration + live.drain) } : nil
        defer { driftTask?.cancel() }
        let leaderWatch = LeaderWatch(environment: environment, streams: Set(scenario.publishes.map(\.stream)).sorted(), runStart: runStart)
        let leaderTask = Task { await leaderWatch.run() }
        let drainDeadline = scenario.duration + live.drain
        let futures = sessions.map { $0.run(drainDeadline: drainDeadline) }
        // `- consume:` workloads read through the broker's client protocol (Faultline targets).
        let stopConsumers = ConsumerSession.Stop()
        var consumerTasks: [Task<ConsumerSession.Result, Never>] = []
        if let broker = environment as? BrokerEnvironment {
            for consumer in scenario.consumers {
                let session = ConsumerSession(stream: consumer.stream, launcher: broker.launcher, eventLoop: group.next(),
                                              start: consumer.start, pollInterval: consumer.pollInterval, maxBatch: consumer.maxBatch,
                                              runStart: runStart, measureFrom: scenario.warmup)
                consumerTasks.append(Task { await session.run(stop: stopConsumers, deadline: drainDeadline + 5_000_000_000) })
            }
        } else if !scenario.consumers.isEmpty {
            log("\(target.rawValue): `- consume:` workloads are driven against the Faultline targets only; skipped")
        }
        var rss: [String: Double] = [:]
        // Sample resident memory near the end of the load (before the drain), per node.
        let rssTask = Task {
            let wait = runStart.uptimeNanoseconds + UInt64(scenario.duration) * 9 / 10
            let now = NIODeadline.now().uptimeNanoseconds
            if wait > now { try? await Task.sleep(nanoseconds: wait - now) }
            return environment.residentBytes()
        }
        do {
            for future in futures { try await future.get() }
        } catch {
            // The load failed: stop the method, heal, roll back — then report the failure.
            control.cancelStart()
            control.abort()
            stopConsumers.request()
            var conditions = (try? await faultTask.value.conditions)
                ?? environment.nodeNames.map { environment.isRunning(node: $0) ? .running : .crashed }
            _ = await faults.rollback(&conditions)
            leaderWatch.stop()
            throw error
        }
        stopConsumers.request()
        var consumed = ConsumerSession.Result()
        for task in consumerTasks {
            let r = await task.value
            consumed.endToEnd.merge(r.endToEnd)
            consumed.consumed += r.consumed
            consumed.errors += r.errors
        }
        // The hypothesis's after phase ends within the load; rollbacks run after it, whatever
        // happened to the method (Chaos Toolkit's order), and before the read-back.
        let methodResult = await faultTask.result
        let hypothesis = await hypothesisTask?.value
        var conditions: [NodeCondition]
        switch methodResult {
        case .success(let outcome): conditions = outcome.conditions
        case .failure: conditions = environment.nodeNames.map { environment.isRunning(node: $0) ? .running : .crashed }
        }
        let rolledBack = await faults.rollback(&conditions)
        let faultLog = try methodResult.get().fired + rolledBack
        leaderWatch.stop()
        let leaderChanges = await leaderTask.value
        let network = await environment.networkStats()
        // Every running replica back in its stream's ISR: a restarted node that never rejoins
        // under load would be a liveness bug the read-back cannot see.
        var isrReport: (waited: Int64, missing: [String])?
        if let broker = environment as? BrokerEnvironment, scenario.faults.contains(where: { $0.action.keyword == "restart" || $0.duration != nil }) || scenario.nemesis != nil
            || !scenario.rollbacks.isEmpty || hypothesis?.aborted == true {
            isrReport = await broker.waitForCompleteISR(timeout: 15)
            if let report = isrReport {
                log(report.missing.isEmpty ? String(format: "every running replica is in its stream's ISR (%.0f ms after the load)", Double(report.waited) / 1e6)
                                           : "not back in the ISR after 15 s: \(report.missing.joined(separator: "; "))")
            }
        }
        for (name, bytes) in await rssTask.value { rss[name] = Double(bytes) / 1_048_576 }
        log("\(target.rawValue): load finished; reading every stream back")

        // Read back and check with the simulator's checkers.
        var ledger = PublishLedger.merged(sessions.map(\.ledger))
        var readBack: [String: [ReadBackEntry]] = [:]
        let ours = Set(sessions.map(\.producer))
        var unreadable: [String] = []
        for stream in Set(scenario.publishes.map(\.stream)).sorted() {
            do {
                let entries = try await environment.readBack(stream: stream)
                readBack[stream] = cluster == nil ? entries : entries.filter { ours.contains($0.producerID) }
            } catch {
                unreadable.append("\(stream): \(error)")
            }
        }
        let verdict = ledger.verify(readBack: readBack)
        ledger = PublishLedger()

        let recorder = OpenLoopRecorder.merged(sessions.map(\.recorder))
        var failover = LatencyHistogram()
        for crash in faultLog where crash.leaderCrash {
            // Failover: from the leader's crash to the first ack of a message sent after it
            // (which only a new leader can give).
            let firstAck = sessions.compactMap { s in s.ackTimes.first { $0.sent > crash.at }?.completed }.min()
            if let firstAck { failover.record(firstAck - crash.at) }
        }
        let measured = Double(scenario.duration - scenario.warmup) / 1e9
        // Names shared with the simulator's broker model, so simulated and live runs line up.
        let attempts = sessions.reduce(0) { $0 + $1.ledger.attemptCount }
        let distinct = sessions.reduce(0) { $0 + $1.ledger.messageCount }
        let gaveUp = recorder.errorsByKind.filter { $0.kind.hasPrefix("gave up") }.reduce(0) { $0 + $1.count }
        var metrics: [String: Double] = [
            "throughput_per_s": Double(recorder.completed) / max(measured, 1e-9),
            "messages_published": Double(distinct),
            "messages_acked": Double(sessions.reduce(0) { $0 + $1.ledger.ackedCount }),
            "messages_lost": Double(verdict.lost),
            "messages_duplicated": Double(verdict.duplicates),
            "publish_retries": Double(attempts - distinct),
            "publish_failures": Double(gaveUp),
            "unacked_but_stored": Double(verdict.unackedButPresent),
            "late_sends": Double(recorder.late),
            "dropped_sends": Double(recorder.dropped),
            "timeouts": Double(recorder.timeouts),
            "errors": Double(recorder.errorCount),
            "worst_send_lag_ms": Double(recorder.worstSendLag) / 1e6,
            "read_back_entries": Double(readBack.values.reduce(0) { $0 + $1.count }),
        ]
        var units: [String: String] = [
            "throughput_per_s": "/s", "messages_published": "count", "messages_acked": "count", "messages_lost": "count",
            "messages_duplicated": "count", "publish_retries": "count", "publish_failures": "count",
            "unacked_but_stored": "count", "late_sends": "count", "dropped_sends": "count",
            "timeouts": "count", "errors": "count", "worst_send_lag_ms": "ms", "read_back_entries": "count",
            "publish_latency": "ms", "publish_latency_uncorrected": "ms", "failover_time": "ms",
        ]
        for (name, mb) in rss {
            metrics["rss_mb.\(name)"] = mb
            units["rss_mb.\(name)"] = "MB"
        }
        if let maxRSS = rss.values.max() {
            metrics["rss_mb_max"] = maxRSS
            units["rss_mb_max"] = "MB"
        }
        if environment is BrokerEnvironment {
            // Brokers that stopped themselves on a failed fsync (the simulator's name).
            metrics["node_fail_stops"] = Double(faultLog.filter { $0.kind == "exit" }.count)
            units["node_fail_stops"] = "count"
        }
        if let broker = environment as? BrokerEnvironment, live.crashLosesUnsynced {
            metrics["unsynced_bytes_lost"] = Double(broker.launcher.unsyncedBytesLost)
            units["unsynced_bytes_lost"] = "bytes"
        }
        if let network {
            // What the fault proxy did to the peer frames (names as the simulator's network counters).
            for (name, value) in [("network_frames_sent", network.sent), ("network_frames_lost", network.lost),
                                  ("network_frames_partitioned", network.partitioned + network.droppedInFlight),
                                  ("network_frames_duplicated", network.duplicated), ("network_frames_reset", network.droppedByReset)] {
                metrics[name] = Double(value)
                units[name] = "count"
            }
        }
        var histograms = ["publish_latency": recorder.corrected, "publish_latency_uncorrected": recorder.uncorrected]
        if !consumerTasks.isEmpty {
            histograms["end_to_end_latency"] = consumed.endToEnd
            metrics["messages_consumed"] = Double(consumed.consumed)
            units["messages_consumed"] = "count"
            units["end_to_end_latency"] = "ms"
        }
        if failover.count > 0 { histograms["failover_time"] = failover }

        var checks = verdict.checks
        if target != .natsJetStream, scenario.broker?.idempotence ?? true {
            // Idempotent producers: a re-send after a failover must not be stored again.
            let streams = readBack.keys.sorted()
            checks.append(NoDuplicatesChecker.verify(
                streamNames: streams,
                committed: streams.map { name in readBack[name]!.map { ObservedEntry(offset: $0.offset, leaderEpoch: 0, message: $0.message) } },
                idempotence: true, at: VirtualTime(scenario.duration)))
        }
        if let isrReport {
            metrics["isr_rejoin_wait_ms"] = Double(isrReport.waited) / 1e6
            units["isr_rejoin_wait_ms"] = "ms"
            checks.append(CheckReport(name: "isr_complete", violations: isrReport.missing.map {
                CheckViolation(check: "isr_complete", description: $0, time: VirtualTime(scenario.duration))
            }))
        }
        if let hypothesis {
            for check in hypothesis.checks {
                checks.append(CheckReport(name: check.name, violations: check.violations.map {
                    CheckViolation(check: check.name, description: $0.description, time: VirtualTime($0.at))
                }))
            }
            metrics["method_aborted"] = hypothesis.aborted ? 1 : 0
            metrics["hypothesis_readings"] = Double(hypothesis.evaluations.count)
            units["method_aborted"] = "count"
            units["hypothesis_readings"] = "count"
            if let after = hypothesis.recoveredAfter {
                metrics["hypothesis_recovery_ms"] = Double(after) / 1e6
                units["hypothesis_recovery_ms"] = "ms"
            }
        }
        if !unreadable.isEmpty {
            checks.append(CheckReport(name: "read_back", violations: unreadable.map {
                CheckViolation(check: "read_back", description: $0, time: VirtualTime(scenario.duration))
            }))
        }
        let checkResults = checks.map { CheckResult(name: $0.name, passed: $0.violations.isEmpty, violations: $0.violations.count) }
        let violations = checks.flatMap { report in report.violations.map { Violation(check: report.name, description: $0.description, virtualTimeNanos: $0.time) } }
        for (kind, count) in recorder.errorsByKind { log("  \(count) × \(kind)") }
        return RunRecord(
            scenario: scenario.name, mode: "live", parameters: parameters, seed: seed,
            startedAt: ISO8601DateFormatter().string(from: started), wallSeconds: Date().timeIntervalSince(started),
            events: UInt64(recorder.completed), traceHash: Self.digest(readBack), passed: checkResults.allSatisfy(\.passed),
            metrics: metrics, metricUnits: units, histograms: histograms, checks: checkResults, violations: violations,
            timeline: (faultLog.map { TimelineEvent(atNanos: $0.at, kind: $0.kind, description: $0.action, nodes: $0.nodes) } + leaderChanges
                       + (hypothesis.map(HypothesisWatch.timeline) ?? []))
                .sorted { $0.atNanos < $1.atNanos },
            timeSeries: (recorder.windows.series(latencyName: "publish_latency", throughputName: "publish_throughput",
                                                 errorName: "publish_error_rate")
                         + Self.leaderSeries(leaderChanges, streams: Set(scenario.publishes.map(\.stream)).sorted(),
                                             nodes: environment.nodeNames, window: recorder.windows.windowNanos,
                                             windows: recorder.windows.succeeded.count))
                .sorted { $0.name < $1.name })
    }

    /// Each stream's leader window by window (1-based node number, as the simulator's
    /// `leader.<stream>` series), from the leader changes the watch saw.
    static func leaderSeries(_ changes: [TimelineEvent], streams: [String], nodes: [String], window: Int64, windows: Int) -> [TimeSeries] {
        guard windows > 0 else { return [] }
        var recorder = TimeSeriesRecorder(window: window, span: window * Int64(windows), maxWindows: windows)
        let handles = streams.map { recorder.gauge("leader.\($0)", unit: "node") }
        for change in changes where change.kind == "leader" {
            guard let stream = streams.firstIndex(where: { change.description.hasPrefix($0 + ": ") }) else { continue }
            let node = change.nodes.first.flatMap { nodes.firstIndex(of: $0) }
            recorder.set(handles[stream], at: change.atNanos, node.map { Double($0 + 1) } ?? .nan)
        }
        return recorder.finished()
    }

    /// A digest of what was read back (stream, offset, producer, sequence), as the run's hash:
    /// two live runs agree on it exactly when their streams hold the same messages in the same order.
    static func digest(_ readBack: [String: [ReadBackEntry]]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) { h = (h ^ v) &* 0x0000_0100_0000_01b3 }
        for stream in readBack.keys.sorted() {
            for byte in stream.utf8 { mix(UInt64(byte)) }
            for e in readBack[stream]! { mix(e.offset); mix(UInt64(e.producerID)); mix(e.sequence) }
        }
        return String(format: "%016llx", h)
    }
}
