/// Long-poll fetches (`ReplicaConfig.fetchWaitNanos`, Kafka's replica fetch wait): a leader
/// holds a caught-up follower's fetch until it appends, its high-water mark moves, the wait runs
/// out or leadership changes. Driven by hand through the public `StreamReplica` API.
import Replication
import XCTest

final class LongPollFetchTests: XCTestCase {
    private let ms: Int64 = 1_000_000
    private let wait: Int64 = 300_000_000

    private func config(_ id: BrokerID, fetchWait: Int64, lagMax: Int64 = 10_000_000_000) -> ReplicaConfig {
        ReplicaConfig(brokerID: id, ackPolicy: .all, fsync: .always, replicaLagMaxNanos: lagMax,
                      leaderTimeoutNanos: 2_000_000_000, fetchIntervalNanos: 2 * ms, fetchWaitNanos: fetchWait,
                      requestTimeoutNanos: 200 * ms)
    }

    private func state(leader: BrokerID, leaderEpoch: UInt64, epoch: UInt64? = nil, isr: [BrokerID] = [1, 2, 3]) -> PartitionState {
        PartitionState(name: "s", subject: "s", replicas: [1, 2, 3], leader: leader, leaderEpoch: leaderEpoch,
                       epoch: epoch ?? leaderEpoch, isr: isr, minISR: 1)
    }

    private func leader(fetchWait: Int64, lagMax: Int64 = 10_000_000_000) -> StreamReplica {
        var r = StreamReplica(stream: "s", config: config(1, fetchWait: fetchWait, lagMax: lagMax))
        _ = r.handle(.metadataChanged(state(leader: 1, leaderEpoch: 1)), now: 0)
        XCTAssertTrue(r.isLeader)
        return r
    }

    private func fetch(_ r: inout StreamReplica, from: BrokerID, offset: UInt64, epoch: UInt64 = 1, now: Int64) -> [ReplicaEffect] {
        r.handle(.receive(.fetchRequest(FetchRequest(stream: "s", from: from, fetchOffset: offset, leaderEpoch: epoch))), now: now)
    }

    private func publish(_ r: inout StreamReplica, _ id: UInt64, now: Int64) -> [ReplicaEffect] {
        r.handle(.publish(requestID: id, payload: LogPayload(producerID: 1, sequence: id, bytes: 512)), now: now)
    }

    private func responses(to id: BrokerID, in effects: [ReplicaEffect]) -> [FetchResponse] {
        effects.compactMap {
            if case .send(id, .fetchResponse(let response)) = $0 { return response }
            return nil
        }
    }

    private func fetchRequests(in effects: [ReplicaEffect]) -> [FetchRequest] {
        effects.compactMap {
            if case .send(_, .fetchRequest(let request)) = $0 { return request }
            return nil
        }
    }

    private func proposesShrink(of id: BrokerID, _ effects: [ReplicaEffect]) -> Bool {
        effects.contains {
            if case .propose(.shrinkISR(_, let replica, _, _)) = $0 { return replica == id }
            return false
        }
    }

    /// A caught-up follower's first fetch in an epoch is answered (it learns the HW); the next,
    /// with nothing new, is held.
    private func park(_ r: inout StreamReplica, _ id: BrokerID, offset: UInt64 = 0, now: Int64) {
        XCTAssertEqual(responses(to: id, in: fetch(&r, from: id, offset: offset, now: now)).count, 1)
        XCTAssertEqual(responses(to: id, in: fetch(&r, from: id, offset: offset, now: now)), [], "held")
    }

    func testParkedFetchIsAnsweredRightBehindTheLeadersAppend() {
        var r = leader(fetchWait: wait)
        park(&r, 2, now: 0)
        park(&r, 3, now: 0)
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: 10 * ms)), [])

        // The publish's batch carries the append and the answers to both held fetches, in the
        // same input: no fetch interval, no wait for the leader's fsync.
        let out = publish(&r, 7, now: 11 * ms)
        let appendAt = out.firstIndex { if case .appendToLog = $0 { return true } else { return false } }
        let sendAt = out.firstIndex { if case .send(2, .fetchResponse) = $0 { return true } else { return false } }
        XCTAssertNotNil(appendAt)
        XCTAssertNotNil(sendAt)
        XCTAssertLessThan(appendAt!, sendAt!, "the leader's own append is issued first")
        XCTAssertEqual(responses(to: 2, in: out).first?.entries.map(\.offset), [0])
        XCTAssertEqual(responses(to: 3, in: out).first?.entries.map(\.offset), [0])
        XCTAssertEqual(r.durableEnd, 0, "sent before the leader's fsync completed")

        // The commit rule still waits for the leader's own fsync (ack: all, fsync: always).
        _ = r.handle(.appendCompleted(upTo: 1), now: 11 * ms)
        XCTAssertEqual(responses(to: 2, in: fetch(&r, from: 2, offset: 1, now: 12 * ms)), [], "nothing new: held")
        let third = fetch(&r, from: 3, offset: 1, now: 12 * ms)
        XCTAssertEqual(r.highWatermark, 0, "the leader has not fsynced")
        XCTAssertFalse(third.contains(.ack(requestID: 7, offset: 0)))
        let synced = r.handle(.fsyncCompleted(upTo: 1), now: 13 * ms)
        XCTAssertEqual(r.highWatermark, 1)
        XCTAssertTrue(synced.contains(.ack(requestID: 7, offset: 0)))
        // The high-water-mark advance is news for both held fetches.
        XCTAssertEqual(responses(to: 2, in: synced).map(\.highWatermark), [1])
        XCTAssertEqual(responses(to: 3, in: synced).map(\.highWatermark), [1])
        XCTAssertEqual(responses(to: 2, in: synced).first?.entries, [])
    }

    func testHighWatermarkAdvanceAnswersAHeldFetch() {
        var r = leader(fetchWait: wait)
        park(&r, 2, now: 0)
        park(&r, 3, now: 0)
        _ = publish(&r, 1, now: ms)
        _ = r.handle(.appendCompleted(upTo: 1), now: ms)
        _ = r.handle(.fsyncCompleted(upTo: 1), now: ms)
        XCTAssertEqual(responses(to: 2, in: fetch(&r, from: 2, offset: 1, now: 2 * ms)), [], "HW still 0: held")
        let out = fetch(&r, from: 3, offset: 1, now: 3 * ms)
        XCTAssertEqual(r.highWatermark, 1, "the last ISR member stored it")
        XCTAssertTrue(out.contains(.ack(requestID: 1, offset: 0)))
        XCTAssertEqual(responses(to: 3, in: out).map(\.highWatermark), [1], "answered at once: it brings the HW")
        XCTAssertEqual(responses(to: 2, in: out).map(\.highWatermark), [1], "the held fetch learns the HW too")
    }

    func testParkedFetchExpiresWithAnEmptyAnswer() {
        var r = leader(fetchWait: wait)
        park(&r, 2, now: 10 * ms)
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: 10 * ms + wait - 1)), [])
        let expired = responses(to: 2, in: r.handle(.tick, now: 10 * ms + wait))
        XCTAssertEqual(expired.count, 1)
        XCTAssertEqual(expired.first?.entries, [])
        XCTAssertNil(expired.first?.error)
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: 20 * ms + wait)), [], "answered once")
    }

    func testNewerFetchReplacesTheHeldOne() {
        var r = leader(fetchWait: wait)
        park(&r, 2, now: 0)
        XCTAssertEqual(responses(to: 2, in: fetch(&r, from: 2, offset: 0, now: 100 * ms)), [], "held again")
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: wait)), [], "the first one's deadline is gone")
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: 100 * ms + wait)).count, 1)
    }

    func testHeldFetchesAreAnsweredWithAnErrorOnLeadershipChange() {
        var r = leader(fetchWait: wait)
        park(&r, 2, now: 0)
        let out = r.handle(.metadataChanged(state(leader: 2, leaderEpoch: 5)), now: ms)
        guard case .follower(leader: 2, _) = r.role else { return XCTFail("not a follower of 2: \(r.role)") }
        XCTAssertEqual(responses(to: 2, in: out).map(\.error), [.notLeader])
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: 2 * wait)), [], "nothing left held")

        // Re-elected in a newer epoch: a fetch held in the old one is fenced.
        var again = leader(fetchWait: wait)
        park(&again, 3, now: 0)
        let renewed = again.handle(.metadataChanged(state(leader: 1, leaderEpoch: 6)), now: ms)
        XCTAssertTrue(again.isLeader)
        XCTAssertEqual(responses(to: 3, in: renewed).map(\.error), [.fencedLeaderEpoch])
        XCTAssertEqual(responses(to: 3, in: publish(&again, 1, now: 2 * ms)), [], "the old fetch is not answered again")
    }

    func testISRKeepsAFollowerWhoseFetchIsHeldLongerThanTheLagLimit() {
        let lagMax = 100 * ms
        var r = leader(fetchWait: wait, lagMax: lagMax)  // wait = 3 × lagMax
        park(&r, 2, now: 0)
        // Broker 3 never fetches: it must still be dropped after the lag limit.
        var shrinks2 = false
        var shrinks3 = false
        var t: Int64 = 10 * ms
        while t < wait {
            let out = r.handle(.tick, now: t)
            shrinks2 = shrinks2 || proposesShrink(of: 2, out)
            shrinks3 = shrinks3 || proposesShrink(of: 3, out)
            t += 10 * ms
        }
        XCTAssertFalse(shrinks2, "a held fetch from a caught-up follower counts as caught up")
        XCTAssertTrue(shrinks3, "replica_lag_max still drops a silent follower")
        // Expired, answered; the follower fetches again a little later and is still in sync.
        XCTAssertEqual(responses(to: 2, in: r.handle(.tick, now: wait)).count, 1)
        XCTAssertFalse(proposesShrink(of: 2, r.handle(.tick, now: wait + lagMax / 2)))
        XCTAssertEqual(responses(to: 2, in: fetch(&r, from: 2, offset: 0, now: wait + lagMax / 2)).count, 0, "held")
        XCTAssertFalse(proposesShrink(of: 2, r.handle(.tick, now: wait + 2 * lagMax)))
    }

    func testFollowerFetchesAgainAtOnceAfterAHeldAnswer() {
        var f = StreamReplica(stream: "s", config: config(2, fetchWait: wait))
        let first = f.handle(.metadataChanged(state(leader: 1, leaderEpoch: 1)), now: 0)
        XCTAssertEqual(fetchRequests(in: first).map(\.fetchOffset), [0])
        func answer(hw: UInt64, now: Int64) -> [ReplicaEffect] {
            f.handle(.receive(.fetchResponse(FetchResponse(stream: "s", from: 1, leaderEpoch: 1, fetchOffset: 0,
                                                             highWatermark: hw, logEndOffset: 0, entries: [], error: nil))),
                     now: now)
        }
        // Not held (answered at once, nothing new): a leader that does not long-poll; back off.
        XCTAssertEqual(fetchRequests(in: answer(hw: 0, now: ms)), [])
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 3 * ms)).count, 1, "after fetch_interval")
        // Held until the wait ran out: fetch again in the same batch.
        XCTAssertEqual(fetchRequests(in: answer(hw: 0, now: 3 * ms + wait)).count, 1)
        // The request timeout covers the wait: no re-send while the leader may still hold it.
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 3 * ms + wait + 250 * ms)), [])
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 3 * ms + wait + 200 * ms + wait)).count, 1, "timed out")
    }

    func testFollowerFetchesAgainAtOnceWhenAHeldAnswerBringsTheHighWatermark() {
        var f = StreamReplica(stream: "s", config: config(2, fetchWait: wait))
        _ = f.handle(.metadataChanged(state(leader: 1, leaderEpoch: 1)), now: 0)
        let entry = LogEntry(offset: 0, leaderEpoch: 1, payload: LogPayload(producerID: 1, sequence: 0, bytes: 1))
        let got = f.handle(.receive(.fetchResponse(FetchResponse(stream: "s", from: 1, leaderEpoch: 1, fetchOffset: 0,
                                                                  highWatermark: 0, logEndOffset: 1, entries: [entry],
                                                                  error: nil))), now: ms)
        XCTAssertTrue(got.contains(.appendToLog([entry])))
        _ = f.handle(.appendCompleted(upTo: 1), now: ms)
        let synced = f.handle(.fsyncCompleted(upTo: 1), now: ms)
        XCTAssertEqual(fetchRequests(in: synced).map(\.fetchOffset), [1], "stored: fetch on")
        let hw = f.handle(.receive(.fetchResponse(FetchResponse(stream: "s", from: 1, leaderEpoch: 1, fetchOffset: 1,
                                                                 highWatermark: 1, logEndOffset: 1, entries: [],
                                                                 error: nil))), now: 2 * ms)
        XCTAssertEqual(f.highWatermark, 1)
        XCTAssertEqual(fetchRequests(in: hw).map(\.fetchOffset), [1], "a held answer with news: no pause")
    }

    func testWithoutAFetchWaitNothingIsHeld() {
        var r = leader(fetchWait: 0)
        for t: Int64 in [0, ms, 2 * ms] {
            let answered = responses(to: 2, in: fetch(&r, from: 2, offset: 0, now: t))
            XCTAssertEqual(answered.map(\.entries), [[]], "answered at once, empty")
        }
        XCTAssertEqual(responses(to: 2, in: publish(&r, 1, now: 3 * ms)), [], "an append answers nobody")
        var f = StreamReplica(stream: "s", config: config(2, fetchWait: 0))
        _ = f.handle(.metadataChanged(state(leader: 1, leaderEpoch: 1)), now: 0)
        let empty = FetchResponse(stream: "s", from: 1, leaderEpoch: 1, fetchOffset: 0, highWatermark: 0,
                                  logEndOffset: 0, entries: [], error: nil)
        XCTAssertEqual(fetchRequests(in: f.handle(.receive(.fetchResponse(empty)), now: 500 * ms)), [],
                       "an empty answer waits fetch_interval however long it took")
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 502 * ms)).count, 1)
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 502 * ms + 199 * ms)), [])
        XCTAssertEqual(fetchRequests(in: f.handle(.tick, now: 502 * ms + 200 * ms)).count, 1, "request timeout as before")
    }
}
