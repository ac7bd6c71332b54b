import NIOCore
import Foundation
import NIOHTTP1
import Prometheus

/// The node's Prometheus metrics. Counters are bumped where things happen; gauges that mirror
/// protocol state (terms, high-water marks, ISR sizes) are refreshed when scraped.
final class BrokerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let clientRequests: Counter
    let publishes: Counter
    let publishedBytes: Counter
    let acks: Counter
    let rejects: Counter
    let fetches: Counter
    let appendedEntries: Counter
    let truncations: Counter
    let storageBatches: Counter
    let storageBatchesOnLoop: Counter
    let recoveredEntries: Counter
    let malformedFrames: Counter
    let peerMessagesIn: Counter
    let peerMessagesOut: Counter
    let natsIngested: Counter
    let payloadReads: Counter
    let clientConnections: Gauge
    let node: String

    init(node: String) {
        self.node = node
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let labels = [("node", node)]
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        }
        clientRequests = counter("client_requests_total", "Client frames decoded")
        publishes = counter("publishes_total", "Publish requests received")
        publishedBytes = counter("published_bytes_total", "Payload bytes received in publishes")
        acks = counter("publish_acks_total", "Publishes acknowledged")
        rejects = counter("publish_rejects_total", "Publishes rejected (not leader, not enough replicas, leadership changed)")
        fetches = counter("fetches_total", "Client fetches answered")
        appendedEntries = counter("log_appended_entries_total", "Entries appended to local stream logs")
        truncations = counter("log_truncations_total", "Log truncations (epoch-based recovery)")
        storageBatches = counter("storage_batches_total", "Storage batches run (group commit)")
        storageBatchesOnLoop = counter("storage_batches_on_loop_total", "Storage batches of appends only, run on the event loop")
        recoveredEntries = counter("recovered_entries_total", "Log entries recovered from disk at start")
        malformedFrames = counter("malformed_frames_total", "Connections closed for a malformed or oversized frame")
        peerMessagesIn = counter("peer_messages_in_total", "Messages received from other brokers")
        peerMessagesOut = counter("peer_messages_out_total", "Messages sent to other brokers")
        natsIngested = counter("nats_ingested_total", "Messages ingested from NATS subjects")
        payloadReads = counter("payload_reads_total", "Entries whose message bytes were read back from the log file")
        clientConnections = registry.makeGauge(descriptor: Self.descriptor("client_connections", "Open client connections"), labels: labels)
    }

    func gauge(_ name: String, _ extra: [(String, String)] = [], help: String) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: [("node", node)] + extra)
    }

    /// `faultline_broker_<name>`; the unit is part of each name already (`_total`, `_bytes_total`).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "faultline", subsystem: "broker", metricName: name, unitName: "", helpText: help)
    }
}

extension BrokerNode {
    /// Mirrors protocol state into gauges; called for each scrape, on the node's loop.
    func refreshGauges() {
        metrics.gauge("raft_term", help: "Current metadata Raft term").set(to: Double(core.raft.term))
        metrics.gauge("raft_commit_index", help: "Metadata Raft commit index").set(to: Double(core.raft.commitIndex))
        metrics.gauge("is_metadata_leader", help: "1 when this node leads the metadata group")
            .set(to: core.raft.role == .leader ? 1.0 : 0.0)
        metrics.gauge("incarnation", help: "Starts of this node over its data directory").set(to: Double(incarnation))
        metrics.gauge("storage_fsyncs", help: "fsync calls made (group commit)").set(to: Double(storage.fsyncCount))
        // What this node's wall clock says (a clock fault shows here; nothing in the protocol reads it).
        metrics.gauge("wall_clock_seconds", help: "The node's wall clock, seconds since 1970").set(to: Date().timeIntervalSince1970)
        for (index, replica) in core.replicas.enumerated() {
            guard let replica else { continue }
            let labels = [("stream", core.streamNames[index])]
            metrics.gauge("stream_high_watermark", labels, help: "High-water mark of the local replica").set(to: Double(replica.highWatermark))
            metrics.gauge("stream_log_end_offset", labels, help: "Log end offset of the local replica").set(to: Double(replica.logEndOffset))
            metrics.gauge("stream_is_leader", labels, help: "1 when the local replica leads").set(to: replica.isLeader ? 1.0 : 0.0)
            metrics.gauge("stream_isr_size", labels, help: "In-sync replicas as this replica last saw them")
                .set(to: Double(replica.partition?.isr.count ?? 0))
            metrics.gauge("stream_duplicates_suppressed", labels,
                          help: "Re-sent publishes answered with their stored offset (idempotent producers), since this replica started")
                .set(to: Double(replica.duplicatesSuppressed))
            metrics.gauge("stream_producers", labels, help: "Producers in the replica's idempotence table")
                .set(to: Double(replica.producers.count))
        }
    }
}

/// `GET /metrics` in the Prometheus text format; with failpoints enabled, the test-only admin
/// endpoint `GET|PUT /failpoints/fsync` (JSON `{"fsyncDelay": <distribution>, "fsyncError": bool}`,
/// a bad body is 400); anything else is 404.
final class MetricsHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let node: BrokerNode
    private var head: HTTPRequestHead?
    private var requestBody: [UInt8] = []
    /// Admin bodies are tiny; a larger one is refused.
    private let maxBody = 64 << 10

    init(node: BrokerNode) { self.node = node }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            requestBody = []
        case .body(var buffer):
            if requestBody.count + buffer.readableBytes <= maxBody, let bytes = buffer.readBytes(length: buffer.readableBytes) {
                requestBody += bytes
            } else {
                requestBody = Array(repeating: 0, count: maxBody + 1)
            }
        case .end:
            let (status, body, type) = answer()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: "\(body.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    private func answer() -> (HTTPResponseStatus, [UInt8], String) {
        let path = head?.uri ?? ""
        if path == "/metrics" || path.hasPrefix("/metrics?") {
            node.refreshGauges()
            return (.ok, node.metrics.registry.emitToBuffer(), "text/plain; version=0.0.4")
        }
        if path == "/failpoints/fsync", let failpoints = node.failpoints {
            switch head?.method {
            case .GET?:
                return (.ok, Array((try? JSONEncoder().encode(failpoints.current)) ?? Data()), "application/json")
            case .PUT?:
                guard requestBody.count <= maxBody,
                      let settings = try? JSONDecoder().decode(StorageFailpoints.Settings.self, from: Data(requestBody)) else {
                    return (.badRequest, Array("expected {\"fsyncDelay\": <distribution or null>, \"fsyncError\": true|false}\n".utf8), "text/plain")
                }
                failpoints.arm(settings)
                node.logger.notice("failpoints armed", metadata: ["settings": "\(settings)"])
                return (.ok, Array((try? JSONEncoder().encode(settings)) ?? Data()), "application/json")
            default:
                return (.methodNotAllowed, Array("GET or PUT\n".utf8), "text/plain")
            }
        }
        return (.notFound, Array("not found\n".utf8), "text/plain")
    }
}
