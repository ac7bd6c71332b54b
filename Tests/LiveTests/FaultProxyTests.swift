import FaultPlan
import Foundation
import Links
@testable import Live
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Sampling
import Wire
import XCTest

/// The fault proxy between two endpoints on loopback: node 0 dials node 1 through the proxy's
/// listener for link 0 → 1, and a sink stands in for node 1's peer port. Every assertion is on
/// the frames the sink received and when.
final class FaultProxyTests: XCTestCase {
    var group: MultiThreadedEventLoopGroup!
    var proxy: FaultProxy!
    var sink: FrameSink!
    var sender: Channel!

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        sink = try await FrameSink.start(on: group)
        proxy = FaultProxy(nodeCount: 2, seed: 7, loop: group.next())
        // Node 1's upstream is the sink; node 0's is never dialled in this test.
        let routes = try await proxy.open(upstreamPeerPorts: [1, sink.port])
        sender = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: routes[0][1]).get()
        try await send(tag: 0)  // the hello: passes whatever the faults
        try await sink.waitFor(count: 1)
    }

    override func tearDown() async throws {
        try? await sender.close()
        await proxy.close()
        try? await sink.channel.close()
        try await group.shutdownGracefully()
    }

    private func send(tag: UInt8, count: Int = 1) async throws {
        var buffer = sender.allocator.buffer(capacity: 16 * count)
        for _ in 0..<count {
            buffer.writeInteger(UInt32(3))
            buffer.writeBytes([1, 9, tag])
        }
        try await sender.writeAndFlush(buffer)
    }

    /// Waits until the proxy has decided frames so (a write returning says nothing about when
    /// the proxy reads it; a fault applied before that would decide them instead).
    private func waitUntilDecided(_ condition: @escaping @Sendable (NetworkStats) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(5)
        while !condition(await proxy.stats()) {
            guard Date() < deadline else { return XCTFail("the proxy did not decide the frames in time") }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
    }

    func testFramesPassInOrderWithoutFaults() async throws {
        for tag in 1...50 { try await send(tag: UInt8(tag)) }
        try await sink.waitFor(count: 51)
        XCTAssertEqual(sink.tags, Array(0...50).map(UInt8.init))
        let stats = await proxy.stats()
        XCTAssertEqual(stats.sent, 50, "the hello is setup, not a decided frame")
        XCTAssertEqual(stats.lost + stats.partitioned, 0)
    }

    func testLossDropsWholeFramesAndClearingTheLinkRestoresIt() async throws {
        _ = await proxy.apply(.loss([LinkPair(from: 0, to: 1)], probability: 1))
        try await send(tag: 1, count: 40)
        try await Task.sleep(nanoseconds: 200_000_000)
        XCTAssertEqual(sink.tags, [0], "every frame on the lossy link is dropped")
        let lost = await proxy.stats().lost
        XCTAssertEqual(lost, 40)
        _ = await proxy.apply(.clearLinks([LinkPair(from: 0, to: 1)]))
        try await send(tag: 2)
        try await sink.waitFor(count: 2)
        XCTAssertEqual(sink.tags, [0, 2])
    }

    func testOneWayBlockAndGroupPartitionDropUntilHealed() async throws {
        // Blocking the reverse direction leaves 0 → 1 alone.
        _ = await proxy.apply(.block(from: [1], to: [0]))
        try await send(tag: 1)
        try await sink.waitFor(count: 2)
        _ = await proxy.apply(.block(from: [0], to: [1]))
        try await send(tag: 2, count: 5)
        try await waitUntilDecided { $0.partitioned == 5 }
        _ = await proxy.apply(.healPartitions)
        _ = await proxy.apply(.partition(groups: [[0], [1]]))
        try await send(tag: 3, count: 5)
        try await waitUntilDecided { $0.partitioned == 10 }
        XCTAssertEqual(sink.tags, [0, 1])
        _ = await proxy.apply(.healAll)
        try await send(tag: 4)
        try await sink.waitFor(count: 3)
        XCTAssertEqual(sink.tags, [0, 1, 4])
        let partitioned = await proxy.stats().partitioned
        XCTAssertEqual(partitioned, 10)
    }

    func testDuplicationDeliversTwice() async throws {
        _ = await proxy.apply(.duplicate([LinkPair(from: 0, to: 1)], probability: 1))
        try await send(tag: 5, count: 10)
        try await sink.waitFor(count: 21)
        XCTAssertEqual(sink.tags.filter { $0 == 5 }.count, 20)
    }

    func testDelayHoldsEachFrameForItsDrawnExtraLatency() async throws {
        _ = await proxy.apply(.delay([LinkPair(from: 0, to: 1)], extra: .constant(150_000_000)))
        let sent = NIODeadline.now()
        try await send(tag: 6)
        try await sink.waitFor(count: 2)
        let waited = sink.arrivals[1].uptimeNanoseconds - sent.uptimeNanoseconds
        XCTAssertGreaterThanOrEqual(waited, 150_000_000)
        XCTAssertLessThan(waited, 2_000_000_000)
    }

    func testAPartitionDropsFramesAlreadyInFlight() async throws {
        _ = await proxy.apply(.delay([LinkPair(from: 0, to: 1)], extra: .constant(300_000_000)))
        try await send(tag: 7, count: 3)
        try await waitUntilDecided { $0.sent == 3 }
        _ = await proxy.apply(.partition(groups: [[0], [1]]))
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertEqual(sink.tags, [0])
        let inFlight = await proxy.stats().droppedInFlight
        XCTAssertEqual(inFlight, 3)
    }

    func testTheLinkClosesWhenThePeerGoesAway() async throws {
        try await sink.closeConnections()
        try await sender.closeFuture.get()  // returns only once the proxy closed node 0's side
    }
}

/// Stands in for a node's peer port: records each frame's last body byte and arrival time.
final class FrameSink: @unchecked Sendable {
    let channel: Channel
    let port: Int
    private let state: NIOLockedValueBox<(tags: [UInt8], arrivals: [NIODeadline], children: [Channel])>

    private init(channel: Channel, state: NIOLockedValueBox<(tags: [UInt8], arrivals: [NIODeadline], children: [Channel])>) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.state = state
    }

    static func start(on group: EventLoopGroup) async throws -> FrameSink {
        let state = NIOLockedValueBox<(tags: [UInt8], arrivals: [NIODeadline], children: [Channel])>(([], [], []))
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { child in
                state.withLockedValue { $0.children.append(child) }
                return child.pipeline.addHandler(Handler(state: state))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FrameSink(channel: channel, state: state)
    }

    var tags: [UInt8] { state.withLockedValue { $0.tags } }
    var arrivals: [NIODeadline] { state.withLockedValue { $0.arrivals } }

    func waitFor(count: Int, timeout: Double = 5) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while tags.count < count {
            guard Date() < deadline else {
                XCTFail("the sink got \(tags.count) frames, expected \(count)")
                return
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    func closeConnections() async throws {
        for child in state.withLockedValue({ $0.children }) { try? await child.close() }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let state: NIOLockedValueBox<(tags: [UInt8], arrivals: [NIODeadline], children: [Channel])>
        var splitter = FrameSplitter()

        init(state: NIOLockedValueBox<(tags: [UInt8], arrivals: [NIODeadline], children: [Channel])>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            let now = NIODeadline.now()
            let tags = (try? buffer.withUnsafeReadableBytes { bytes throws(WireError) in
                try splitter.feed(bytes) { (body: ArraySlice<UInt8>) throws(WireError) in body.last ?? 0 }
            }) ?? []
            state.withLockedValue { s in
                s.tags += tags
                s.arrivals += tags.map { _ in now }
            }
        }
    }
}
