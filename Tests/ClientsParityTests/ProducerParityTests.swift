import Clients
@testable import Live
import Replication
@testable import Sim
import XCTest

/// One scripted sequence of transport events, fed through the simulator's adapter (broker
/// messages → producer answers) and through the live driver's adapter (transport outcomes →
/// producer answers), must make the shared producer core ask for the same things.
final class ProducerParityTests: XCTestCase {
    /// What the network/transport does to the attempt in flight, in both worlds' words.
    enum Event {
        case ack(offset: UInt64)
        case notLeader(hint: Int?)
        case notEnoughReplicas
        case lost
        case tick(Int64)
        case connected(Int)
        case connectFailed
        case timer(ProducerTimer)
        case due
        /// The oldest attempt timed out: it gets no answer in the script.
        case forget
    }

    static let names = [1: "n1", 2: "n2", 3: "n3"]

    /// Effects with nodes named as the live side names them.
    func normalise(_ effect: ProducerEffect<Int>) -> ProducerEffect<String> {
        switch effect {
        case .send(let a, let s, let q, let i): .send(attempt: a, slot: s, sequence: q, intended: i)
        case .connect(let hint): .connect(hint: hint.flatMap { Self.names[$0] })
        case .startTimer(let t, let after): .startTimer(t, after: after)
        case .acked(let s, let q, let i, let sent, let o): .acked(slot: s, sequence: q, intended: i, sent: sent, offset: o)
        case .failed(let q, let f): .failed(sequence: q, f)
        case .dropped(let n): .dropped(count: n)
        case .finished: .finished
        }
    }

    func run(_ script: [Event]) -> (sim: [ProducerEffect<String>], live: [ProducerEffect<String>]) {
        let config = ProducerCore<Int>.Config(producer: 1, stream: "orders", maxInFlight: 2, timeout: 100_000_000, retries: 3)
        var sim = ProducerCore<Int>(config)
        var live = ProducerCore<String>(.init(producer: 1, stream: "orders", maxInFlight: 2, timeout: 100_000_000, retries: 3))
        var simEffects: [ProducerEffect<Int>] = []
        var liveEffects: [ProducerEffect<String>] = []
        var now: Int64 = 0
        var answered: Set<UInt64> = []
        func oldestAttempt() -> UInt64? {
            // The attempt answered next: the oldest send not answered yet (same in both worlds).
            let sent = simEffects.compactMap { if case .send(let a, _, _, _) = $0 { return a } else { return nil } }
            return sent.first { !answered.contains($0) }
        }
        for event in script {
            now += 1_000_000
            switch event {
            case .forget:
                if let attempt = oldestAttempt() { answered.insert(attempt) }
            case .due:
                sim.messageDue(intended: now, now: now, into: &simEffects)
                live.messageDue(intended: now, now: now, into: &liveEffects)
            case .tick(let t):
                now = t
                sim.tick(now: now, into: &simEffects)
                live.tick(now: now, into: &liveEffects)
            case .connected(let node):
                sim.connected(to: node, now: now, into: &simEffects)
                live.connected(to: Self.names[node], now: now, into: &liveEffects)
            case .connectFailed:
                sim.connectFailed(now: now, into: &simEffects)
                live.connectFailed(now: now, into: &liveEffects)
            case .timer(let timer):
                sim.timerFired(timer, now: now, into: &simEffects)
                live.timerFired(timer, now: now, into: &liveEffects)
            case .ack, .notLeader, .notEnoughReplicas, .lost:
                guard let attempt = oldestAttempt() else {
                    XCTFail("nothing in flight")
                    continue
                }
                answered.insert(attempt)
                let requestID = attempt  // publisher 0
                let (simMessage, liveOutcome): (BrokerMessage?, TransportOutcome) = switch event {
                case .ack(let offset): (.publishAck(requestID: requestID, offset: offset), .acked(offset: offset))
                case .notLeader(let hint):
                    (.publishReject(requestID: requestID, .notLeader(leader: hint.map { BrokerID(UInt32($0)) })),
                     .refused(kind: "not leader", leaderHint: hint.flatMap { Self.names[$0] }))
                case .notEnoughReplicas:
                    (.publishReject(requestID: requestID, .notEnoughReplicas), .refused(kind: "not enough replicas"))
                default: (nil, .lost)
                }
                let simAnswer: ProducerAnswer<Int>
                if let simMessage {
                    let adapted = BrokerModel.producerAnswer(simMessage)!
                    XCTAssertEqual(adapted.publisher, 0)
                    XCTAssertEqual(adapted.attempt, attempt)
                    simAnswer = adapted.2
                } else {
                    simAnswer = .lost  // the simulator's connection reset / dead-process send
                }
                sim.answered(attempt: attempt, simAnswer, now: now, into: &simEffects)
                live.answered(attempt: attempt, ProducerSession.answer(liveOutcome), now: now, into: &liveEffects)
            }
        }
        return (simEffects.map(normalise), liveEffects)
    }

    func testFailoverScriptGivesTheSameEffectsThroughBothAdapters() {
        let script: [Event] = [
            .due, .connected(1), .due, .due, .ack(offset: 0),
            .notEnoughReplicas, .lost, .connected(1),
            .notLeader(hint: 2), .ack(offset: 1), .connected(2), .ack(offset: 2),
            .due, .tick(900_000_000), .forget, .connectFailed, .timer(.reconnect), .connected(3),
            .lost, .connected(3), .timer(.backoff), .ack(offset: 3),
        ]
        let (sim, live) = run(script)
        XCTAssertEqual(sim, live)
        XCTAssertTrue(live.contains(.connect(hint: "n2")), "the not-leader hint reaches the core through both adapters")
        XCTAssertTrue(live.contains { if case .failed(_, .refused(kind: "not enough replicas")) = $0 { return true } else { return false } })
        XCTAssertTrue(live.contains { if case .failed(_, .timedOut) = $0 { return true } else { return false } })
        XCTAssertTrue(live.contains(.startTimer(.backoff, after: 10_000_000)))
        XCTAssertEqual(live.filter { if case .acked = $0 { return true } else { return false } }.count, 4)
    }
}
