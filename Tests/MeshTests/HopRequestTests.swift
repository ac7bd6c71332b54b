import Mesh
import XCTest

/// The per-request fan-out state machine both meshes drive, fed scripted inputs.
final class HopRequestTests: XCTestCase {
    private let a = CallGraph.Edge(callee: 1, timeout: 50, retries: 1)
    private let b = CallGraph.Edge(callee: 2, timeout: nil, retries: 0)
    private let softC = CallGraph.Edge(callee: 3, timeout: 10, retries: 0, soft: true)

    /// Feeds `inputs` in order and returns every effect.
    private func run(_ inputs: [HopRequest.Input], stages: [[CallGraph.Edge]], validates: Bool = true)
        -> (HopRequest, [HopRequest.Effect]) {
        var hop = HopRequest()
        let effects = inputs.map { hop.step($0, stages: stages, validates: validates) }
        return (hop, effects)
    }

    func testARejectedTokenIsAnsweredAtOnceWithoutWorkOrCalls() {
        let (hop, effects) = run([.decided(.unauthorized, holdsServer: false)], stages: [[a]])
        XCTAssertEqual(effects, [.answer(.unauthorized)])
        XCTAssertEqual(hop.status, .unauthorized)
        XCTAssertEqual(hop.validated, 0)
    }

    func testARejectionThatCostVerificationCPUHoldsAServerFirst() {
        let (hop, effects) = run([.decided(.unauthorized, holdsServer: true), .workDone], stages: [[a]])
        XCTAssertEqual(effects, [.takeServer, .answer(.unauthorized)], "no calls for a refused token")
        XCTAssertTrue(hop.isAnswered)
    }

    func testAFullQueueAnswers503() {
        let (hop, effects) = run([.decided(.ok, holdsServer: false), .serverRefused], stages: [[a]])
        XCTAssertEqual(effects, [.takeServer, .answer(.unavailable)])
        XCTAssertFalse(hop.accepted)
    }

    func testALeafAnswersOkAfterItsWorkAndCountsItsOwnValidation() {
        let (hop, effects) = run([.decided(.ok, holdsServer: false), .workDone], stages: [])
        XCTAssertEqual(effects, [.takeServer, .answer(.ok)])
        XCTAssertEqual(hop.validated, 1)
        let (unvalidated, _) = run([.decided(.ok, holdsServer: false), .workDone], stages: [], validates: false)
        XCTAssertEqual(unvalidated.validated, 0, "strategy none validates nothing")
    }

    func testStagesRunInOrderAndAStageEndsWhenAllItsCallsHave() {
        let (hop, effects) = run([
            .decided(.ok, holdsServer: false), .workDone,
            .childEnded(edge: 1, attempt: 0, status: .ok, validated: 2, degraded: 1),
            .childEnded(edge: 0, attempt: 0, status: .ok, validated: 1),
            .childEnded(edge: 0, attempt: 0, status: .ok, validated: 3),
        ], stages: [[a, b], [a]])
        XCTAssertEqual(effects, [.takeServer, .startStage(0), .none, .startStage(1), .answer(.ok)])
        XCTAssertEqual(hop.validated, 1 + 2 + 1 + 3, "own validation plus every child's subtree")
        XCTAssertEqual(hop.degraded, 1)
    }

    func testAServerErrorWithRetriesLeftRetriesThenAnExhaustedCallFailsTheCallerWith502() {
        let (hop, effects) = run([
            .decided(.ok, holdsServer: false), .workDone,
            .childEnded(edge: 0, attempt: 0, status: .timeout),
            .childEnded(edge: 0, attempt: 1, status: .unavailable),
            .childEnded(edge: 1, attempt: 0, status: .ok),
        ], stages: [[a, b]])
        XCTAssertEqual(effects, [.takeServer, .startStage(0), .retry(edge: 0, attempt: 1), .answer(.badGateway), .none],
                       "a call that ends after the hop answered changes nothing")
        XCTAssertEqual(hop.status, .badGateway)
    }

    func testAChildsRejectionPassesThroughUnretried() {
        let (_, effects) = run([.decided(.ok, holdsServer: false), .workDone, .childEnded(edge: 0, attempt: 0, status: .unauthorized)],
                               stages: [[a]])
        XCTAssertEqual(effects.last, .answer(.unauthorized))
    }

    func testAFailedSoftDependencyIsSkippedAndTheAnswerIsDegradedOk() {
        let (hop, effects) = run([
            .decided(.ok, holdsServer: false), .workDone,
            .childEnded(edge: 0, attempt: 0, status: .timeout),
            .childEnded(edge: 0, attempt: 0, status: .ok, validated: 1),
        ], stages: [[softC], [b]])
        XCTAssertEqual(effects, [.takeServer, .startStage(0), .startStage(1), .answer(.ok)])
        XCTAssertEqual(hop.skippedSoft, 1)
        XCTAssertEqual(hop.degraded, 1)
        XCTAssertEqual(hop.validated, 2)
    }

    func testEmptyStagesAreSkipped() {
        let (_, effects) = run([.decided(.ok, holdsServer: false), .workDone, .childEnded(edge: 0, attempt: 0, status: .ok)],
                               stages: [[], [b], []])
        XCTAssertEqual(effects, [.takeServer, .startStage(1), .answer(.ok)])
    }

    func testInputsOutOfPhaseAreIgnored() {
        var hop = HopRequest()
        XCTAssertEqual(hop.step(.workDone, stages: [[a]]), .none, "no work before a verdict")
        XCTAssertEqual(hop.step(.childEnded(edge: 0, attempt: 0, status: .ok), stages: [[a]]), .none)
        XCTAssertEqual(hop.phase, .validating)
    }
}
