import Mesh
import Scenario
import XCTest

/// The fan-out rules both meshes (simulated and live) obey, driven with scripted attempt ends.
final class CallRulesTests: XCTestCase {
    private let up: (Int) -> Bool = { _ in true }

    func testSequentialCallsRunOneStageEachInDeclaredOrderAndParallelOnesShareAStage() {
        let edges = [CallGraph.Edge(callee: 3, timeout: nil, retries: 0),
                     CallGraph.Edge(callee: 1, timeout: 5, retries: 1, soft: true)]
        XCTAssertEqual(CallGraph.stages(edges, mode: .sequential), [[edges[0]], [edges[1]]])
        XCTAssertEqual(CallGraph.stages(edges, mode: .parallel), [edges])
        XCTAssertEqual(CallGraph.stages([], mode: .sequential), [])
    }

    func testATimedOutAttemptWithRetriesLeftGoesToTheNextReplica() {
        XCTAssertEqual(CallRules.afterAttempt(.timeout, retriesLeft: 1, soft: false), .retryOnNextReplica)
        XCTAssertEqual(CallRules.replica(count: 3, turn: 7, retryAfter: 1, healthChecks: false, isUp: up), 2)
        XCTAssertEqual(CallRules.replica(count: 3, turn: 7, retryAfter: 2, healthChecks: false, isUp: up), 0,
                       "the replica after the last is the first")
    }

    func testASoftDependencyThatFailsForGoodLeavesTheCallerDegradedNotFailed() {
        XCTAssertEqual(CallRules.afterAttempt(.timeout, retriesLeft: 0, soft: true), .degraded)
        XCTAssertEqual(CallRules.afterAttempt(.unauthorized, retriesLeft: 0, soft: true), .degraded)
        XCTAssertEqual(CallRules.afterAttempt(.unavailable, retriesLeft: 2, soft: true), .retryOnNextReplica,
                       "a soft dependency is still retried before the caller gives up on it")
    }

    func testAHardDependencyThatFailsForGoodFailsTheCallerWith502() {
        XCTAssertEqual(CallRules.afterAttempt(.timeout, retriesLeft: 0, soft: false), .failCaller(.badGateway))
        XCTAssertEqual(CallRules.afterAttempt(.unavailable, retriesLeft: 0, soft: false), .failCaller(.badGateway))
        XCTAssertEqual(CallRules.afterAttempt(.badGateway, retriesLeft: 0, soft: false), .failCaller(.badGateway))
    }

    func testClientErrorsPassThroughUnretried() {
        XCTAssertEqual(CallRules.afterAttempt(.unauthorized, retriesLeft: 3, soft: false), .failCaller(.unauthorized))
        XCTAssertEqual(CallRules.afterAttempt(.badRequest, retriesLeft: 3, soft: false), .failCaller(.badRequest))
        XCTAssertEqual(CallRules.afterAttempt(.ok, retriesLeft: 3, soft: false), .succeeded)
    }

    func testFirstAttemptsRotateRoundRobinOverReplicas() {
        let picks = (0..<6).map {
            CallRules.replica(count: 3, turn: UInt32($0), retryAfter: nil, healthChecks: false, isUp: up)
        }
        XCTAssertEqual(picks, [0, 1, 2, 0, 1, 2])
    }

    func testHealthChecksSkipAReplicaMarkedDown() {
        let zeroDown: (Int) -> Bool = { $0 != 0 }
        XCTAssertEqual(CallRules.replica(count: 3, turn: 0, retryAfter: nil, healthChecks: true, isUp: zeroDown), 1)
        XCTAssertEqual(CallRules.replica(count: 3, turn: 3, retryAfter: nil, healthChecks: true, isUp: zeroDown), 1)
        XCTAssertEqual(CallRules.replica(count: 3, turn: 0, retryAfter: nil, healthChecks: false, isUp: zeroDown), 0,
                       "without health checks the caller does not know the replica is down")
        XCTAssertEqual(CallRules.replica(count: 3, turn: 2, retryAfter: nil, healthChecks: true, isUp: { _ in false }), 2,
                       "with every replica down the turn's replica is tried anyway")
    }

    func testLiveStatusCodesMapToCallStatuses() {
        XCTAssertEqual(CallStatus(httpStatus: 204), .ok)
        XCTAssertEqual(CallStatus(httpStatus: 401), .unauthorized)
        XCTAssertEqual(CallStatus(httpStatus: 400), .badRequest)
        XCTAssertEqual(CallStatus(httpStatus: 503), .unavailable)
        XCTAssertEqual(CallStatus(httpStatus: 504), .timeout)
        XCTAssertEqual(CallStatus(httpStatus: 500), .badGateway)
        XCTAssertEqual(CallStatus(httpStatus: 404), .badGateway)
    }
}
