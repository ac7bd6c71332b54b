import Foundation
import LogStore
import NIOCore
import NIOPosix
import Replication
import Results
import Stats

/// `faultline calibrate` for a broker scenario: what this machine's disk and loopback network
/// cost, measured through the code the live broker runs, so the simulated broker pays the same.
/// - **disk**: the broker's own store (`NodeStore`, LogStore's segment format, group-commit batch
///   rule) on real files in the calibration folder, which sits next to where live runs keep
///   their data, one store per cluster node running at once (they share the disk): one batch appending one entry of the scenario's message size (→ `cluster.disk.write`),
///   and one batch appending and syncing it (its excess over the first → `cluster.disk.fsync`);
/// - **network**: round trips of a small frame over a loopback TCP connection between two
///   SwiftNIO event loops (how broker peers and clients talk); half of one is the echo's
///   one-way latency — a floor;
/// - **hop latency, fitted**: the one-way latency (→ `cluster.network.latency`) with which the
///   simulator gives the scenario's steady-state publish p50 measured live on this machine (the
///   caller runs both); its p99 keeps the echo's p99/p50 ratio.
/// p50 and p99 are each taken from the measured percentiles and stated as lognormals.
public struct BrokerCalibrationResult: Sendable {
    public var writeBatch = LatencyHistogram()
    public var syncedBatch = LatencyHistogram()
    public var loopbackRoundTrip = LatencyHistogram()
    public var messageBytes: Int
    /// The scenario's steady-state publish p50 live (µs), and the simulator's at the fitted latency.
    public var liveSteadyP50 = 0.0
    public var simSteadyP50 = 0.0
    /// The one-way latency (µs) the fit chose.
    public var fittedOneWay: (p50: Double, p99: Double) = (0, 0)

    public init(messageBytes: Int) { self.messageBytes = messageBytes }

    func us(_ h: LatencyHistogram, _ p: Double) -> Double { h.percentile(p) / 1e3 }

    public var write: (p50: Double, p99: Double) { (us(writeBatch, 50), us(writeBatch, 99)) }
    /// What a sync adds to a batch.
    public var fsync: (p50: Double, p99: Double) {
        (max(1, us(syncedBatch, 50) - us(writeBatch, 50)), max(2, us(syncedBatch, 99) - us(writeBatch, 50)))
    }
    public var oneWay: (p50: Double, p99: Double) { (us(loopbackRoundTrip, 50) / 2, us(loopbackRoundTrip, 99) / 2) }

    /// The scenario profile (YAML): what was measured, and the overrides to apply.
    public func profile(host: String, date: String) -> String {
        func line(_ name: String, _ h: LatencyHistogram) -> String {
            "  \(name): {p50_us: \(formatNumber(us(h, 50))), p99_us: \(formatNumber(us(h, 99))), samples: \(h.count)}"
        }
        func pair(_ name: String, _ v: (p50: Double, p99: Double)) -> String {
            "  \(name): {p50_us: \(formatNumber(v.p50)), p99_us: \(formatNumber(v.p99))}"
        }
        return """
            # Faultline calibration profile (broker), written by `faultline calibrate` on \(host) at \(date).
            # Apply it with `faultline run|load SCENARIO --profile THIS_FILE`: every `set` entry is a
            # `--set` override (the user's own --set options still win). Re-run calibrate on another
            # machine (or another file system): these numbers belong to this one.
            calibration:
              host: \(host)
              measured_at: \(date)
              message_bytes: \(messageBytes)
            \(line("store_batch_append", writeBatch))
            \(line("store_batch_append_fsync", syncedBatch))
            \(line("loopback_round_trip", loopbackRoundTrip))
            \(pair("disk_write", write))
            \(pair("disk_fsync", fsync))
            \(pair("loopback_one_way", oneWay))
              steady_state_publish_p50_us: {live: \(formatNumber(liveSteadyP50)), simulated: \(formatNumber(simSteadyP50))}
            \(pair("network_one_way_fitted", fittedOneWay))
            set:
              - "cluster.disk.write=\(CalibrationProfile.lognormal(write.p50, write.p99))"
              - "cluster.disk.fsync=\(CalibrationProfile.lognormal(fsync.p50, fsync.p99))"
              - "cluster.network.latency=\(CalibrationProfile.lognormal(fittedOneWay.p50, fittedOneWay.p99))"

            """
    }

}

/// What calibration profiles (broker and OAuth) write.
public enum CalibrationProfile {
    /// A lognormal given its median and p99 in µs (the scenario format's own form), p99 above the median.
    public static func lognormal(_ p50: Double, _ p99: Double) -> String {
        let median = max(1, p50.rounded())
        let tail = max(median + 1, p99.rounded())
        return "{lognormal: {median: \(Int(median))us, p99: \(Int(tail))us}}"
    }
}

public enum BrokerCalibration {
    private static func clock() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    /// Times the broker's store on real files under `folder` (removed afterwards), with `nodes`
    /// stores running at once as the cluster's nodes share this machine's disk (fsyncs of
    /// several processes queue behind each other in the file system's journal).
    public static func measureDisk(folder: String, nodes: Int, samples: Int, into result: inout BrokerCalibrationResult) throws {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = result.messageBytes
        let outcomes = Outcomes(nodes)
        DispatchQueue.concurrentPerform(iterations: nodes) { node in
            outcomes.set(node, Result { try timeStore(folder: folder + "/node-\(node)", messageBytes: bytes, samples: samples) })
        }
        for outcome in outcomes.all {
            let (write, synced) = try outcome.get()
            result.writeBatch.merge(write)
            result.syncedBatch.merge(synced)
        }
    }

    /// One node's store: batches appending one entry, and batches appending and syncing one.
    private static func timeStore(folder: String, messageBytes: Int, samples: Int) throws -> (LatencyHistogram, LatencyHistogram) {
        let store = try NodeStore(root: folder, files: PosixFileSystem())
        defer { store.close() }
        let stream = "calibration"
        _ = try store.run([.openStream(name: stream)])
        let data = [UInt8](repeating: 0x5A, count: messageBytes)
        var offset: UInt64 = 0
        func entry() -> LogEntry {
            defer { offset += 1 }
            return LogEntry(offset: offset, leaderEpoch: 1, payload: LogPayload(producerID: 1, sequence: offset, data: data))
        }
        var write = LatencyHistogram(), synced = LatencyHistogram()
        let warmup = samples / 10
        for i in 0..<(samples + warmup) {
            var start = clock()
            _ = try store.run([.append(stream: stream, [entry()])])
            if i >= warmup { write.record(clock() - start) }
            start = clock()
            _ = try store.run([.append(stream: stream, [entry()]), .fsync(stream: stream)])
            if i >= warmup { synced.record(clock() - start) }
        }
        return (write, synced)
    }

    /// Results of the concurrent measurements, one slot per node (each written by its own thread).
    private final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [Result<(LatencyHistogram, LatencyHistogram), Error>?]
        init(_ n: Int) { slots = Array(repeating: nil, count: n) }
        func set(_ i: Int, _ r: Result<(LatencyHistogram, LatencyHistogram), Error>) { lock.withLock { slots[i] = r } }
        var all: [Result<(LatencyHistogram, LatencyHistogram), Error>] { lock.withLock { slots.compactMap { $0 } } }
    }

    /// Round trips of a 64-byte frame over one loopback TCP connection between two event loops.
    public static func measureLoopback(samples: Int, group: any EventLoopGroup, into result: inout BrokerCalibrationResult) async throws {
        let server = try await ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in channel.pipeline.addHandler(Echo()) }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let replies = ReplyWaiter()
        let client = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.pipeline.addHandler(replies) }
            .connect(to: server.localAddress!).get()
        defer { client.close(promise: nil) }
        let frame = ByteBuffer(repeating: 0x5A, count: 64)
        let warmup = samples / 10
        for i in 0..<(samples + warmup) {
            let promise = client.eventLoop.makePromise(of: Void.self)
            let start = clock()
            try await client.eventLoop.submit {
                replies.expect(64, promise)
                client.writeAndFlush(frame, promise: nil)
            }.get()
            try await promise.futureResult.get()
            if i >= warmup { result.loopbackRoundTrip.record(clock() - start) }
        }
    }

    private final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    /// Completes a promise once `bytes` bytes came back (confined to the client's event loop).
    private final class ReplyWaiter: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var waiting = 0
        private var promise: EventLoopPromise<Void>?
        func expect(_ bytes: Int, _ promise: EventLoopPromise<Void>) {
            waiting = bytes
            self.promise = promise
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            waiting -= unwrapInboundIn(data).readableBytes
            if waiting <= 0, let promise {
                self.promise = nil
                promise.succeed()
            }
        }
    }
}
