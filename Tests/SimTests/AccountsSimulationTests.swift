import Foundation
import Scenario
import Sim
import Stats
import XCTest

/// The multi-account model end to end: closed forms of placement (cells, shuffle sharding),
/// account faults in the request simulation, soft vs hard dependencies, the control plane
/// under an API storm, and the latency accounts add.
final class AccountsSimulationTests: XCTestCase {
    func run(_ yaml: String, seeds: ClosedRange<UInt64> = 1...1) throws -> [RunOutcome] {
        try runSeeds(try loadScenario(yaml), seeds: seeds)
    }

    func generated(services: Int = 120, teams: Int = 8, strategy: String, extra: String = "", duration: String = "5s",
                   workload: String = "", faults: String = "") -> String {
        """
        name: accounts-test
        duration: \(duration)
        cluster: { zones: [a, b] }
        organisation:
          teams: \(teams)
          services: \(services)
          graph: { shape: layered, layers: 3, edges: 2 }
          soft_share: 30%
          replicas: 2
        accounts:
          strategy: \(strategy)
        \(extra)
        \(workload)
        \(faults)
        """
    }

    func testCellsDirectBlastRadiusIsOneOverN() throws {
        for n in [4, 10] {
            let outcomes = try run(generated(strategy: "cells", extra: "  count: \(n)"), seeds: 1...5)
            let s = Summary(outcomes.map { $0.metrics["direct_blast_radius_mean"]! })
            XCTAssertLessThanOrEqual(s.ciLow - 1e-9, 1 / Double(n))
            XCTAssertGreaterThanOrEqual(s.ciHigh + 1e-9, 1 / Double(n))
            XCTAssertEqual(outcomes[0].metrics["accounts"], Double(n))
            // More accounts, smaller blast radius — but never below the direct share.
            XCTAssertGreaterThanOrEqual(outcomes[0].metrics["blast_radius_mean"]! + 1e-9, 0)
        }
        let single = try XCTUnwrap(run(generated(strategy: "single")).first)
        XCTAssertEqual(single.metrics["blast_radius_mean"]!, 1, accuracy: 1e-9)
        XCTAssertEqual(single.metrics["exposure_services"], 120)
    }

    func testShuffleShardOverlapMatchesTheHypergeometric() throws {
        // N = 8, k = 2: P(same shard) = 1/28; P(overlap 0, 1, 2) = 15/28, 12/28, 1/28.
        let outcomes = try run(generated(services: 400, teams: 16, strategy: "shuffle-shard",
                                         extra: "  count: 8\n  shard_size: 2"), seeds: 1...6)
        let same = Summary(outcomes.map { $0.metrics["same_shard_fraction"]! })
        XCTAssertLessThanOrEqual(same.ciLow, 1.0 / 28)
        XCTAssertGreaterThanOrEqual(same.ciHigh, 1.0 / 28)
        for (j, expected) in [(0, 15.0 / 28), (1, 12.0 / 28), (2, 1.0 / 28)] {
            let s = Summary(outcomes.map { $0.metrics["shard_overlap_\(j)"]! })
            XCTAssertEqual(s.mean, expected, accuracy: 0.01, "overlap \(j)")
            XCTAssertEqual(outcomes[0].metrics["shard_overlap_\(j)_expected"]!, expected, accuracy: 1e-12)
        }
        // Two replicas on two accounts: one account fault never takes a service down.
        XCTAssertEqual(outcomes[0].metrics["blast_radius_mean"], 0)
    }

    func testSoftDependenciesDegradeWhereHardOnesFail() throws {
        func availability(_ kind: String) throws -> [String: Double] {
            let yaml = """
                name: soft-hard
                duration: 10s
                cluster: { zones: [a] }
                organisation:
                  teams: [shop, search]
                  list:
                    - { name: shop, team: shop, traffic: 100%, replicas: 2, depends: [{ on: search, kind: \(kind) }] }
                    - { name: search, team: search, replicas: 2 }
                  defaults: { work: 1ms, call: { timeout: 100ms } }
                accounts: { strategy: per-team }
                auth: { strategy: none }
                workload:
                  - calls: { rate: 100/s, timeout: 1s }
                faults:
                  - { at: 3s, suspend: account(acct-search), for: 4s }
                checks: [mesh_requests_accounted]
                """
            return try XCTUnwrap(run(yaml).first).metrics
        }
        let hard = try availability("hard")
        XCTAssertLessThan(hard["availability_during_fault1_suspend"]!, 0.05)
        XCTAssertEqual(hard["blast_radius_mean"]!, 1, accuracy: 1e-9, "either account takes shop down: search's through the hard dependency")
        let soft = try availability("soft")
        XCTAssertEqual(soft["availability_during_fault1_suspend"], 1)
        XCTAssertGreaterThan(soft["degraded_calls"]!, 300)
        XCTAssertEqual(soft["blast_radius_mean"]!, 0.5, accuracy: 1e-9, "shop's own account still takes shop down")
        XCTAssertEqual(soft["degraded_services_mean"]!, 0.25, accuracy: 1e-9)
    }

    func testAnAPIStormOnlyDelaysItsOwnAccount() throws {
        func delays(_ strategy: String) throws -> (storming: Double, others: Double) {
            let yaml = generated(services: 60, teams: 6, strategy: strategy, extra: """
                  control_plane: { rate: 5/s, burst: 10, deploys_per_service_hour: 60 }
                """, duration: "5m", faults: "faults: [{ at: 1m, api-storm: { account: service(svc-0), rate: 20/s }, for: 2m }]")
            let outcome = try XCTUnwrap(run(yaml).first)
            return (outcome.histograms["deploy_delay_storming_team"]!.mean, outcome.histograms["deploy_delay_other_teams"]!.mean)
        }
        let perTeam = try delays("per-team")
        XCTAssertGreaterThan(perTeam.storming, 10e9, "the storming team's deploys wait behind the storm")
        XCTAssertEqual(perTeam.others, 0, "other teams' accounts have their own buckets")
        let single = try delays("single")
        XCTAssertGreaterThan(single.others, 10e9, "in one account everybody waits")
    }

    func testCompromiseExposureAndSuspendedAccountsInTheRequestPath() throws {
        let yaml = generated(services: 40, teams: 4, strategy: "per-team", workload: """
            auth: { strategy: local }
            workload:
              - calls: { rate: 100/s, timeout: 2s }
            """, faults: """
            faults:
              - { at: 1s, compromise: account(acct-team-1) }
              - { at: 2s, suspend: account(acct-team-2), for: 2s }
            """)
        let m = try XCTUnwrap(run(yaml).first).metrics
        // Round-robin teams: team-1 owns 10 of the 40 services.
        XCTAssertEqual(m["compromise1_exposed_services"], 10)
        XCTAssertEqual(m["compromise1_exposed_teams"], 1)
        XCTAssertLessThan(m["availability_during_fault2_suspend"]!, m["availability_outside_faults"]!)
        XCTAssertGreaterThan(m["cross_account_call_share"]!, 0.5)
    }

    func testAddedLatencyComesFromCrossAccountCalls() throws {
        func added(_ strategy: String) throws -> Double {
            let yaml = generated(services: 30, teams: 3, strategy: strategy, extra: "  count: 10", workload: """
                auth: { strategy: none }
                workload:
                  - calls: { rate: 200/s }
                """).replacingOccurrences(of: "  replicas: 2\n", with: """
                  replicas: 2
                  latency: { same_zone: 100us, cross_zone: 100us, cross_account: 5ms }

                """)
            return try XCTUnwrap(run(yaml).first).metrics["added_latency_p50"]!
        }
        XCTAssertEqual(try added("single"), 0)
        // Three levels of calls, most of them across accounts: each adds ~2 × 4.9 ms.
        XCTAssertGreaterThan(try added("per-service"), 15)
    }
}
