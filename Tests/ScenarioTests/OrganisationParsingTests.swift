import SimCore
import XCTest
@testable import Scenario

final class OrganisationParsingTests: XCTestCase {
    /// A written-out organisation with every key; line numbers matter to the error tests below.
    let explicit = """
        name: accounts-explicit
        duration: 60s
        organisation:
          teams: [payments, shop, platform]
          data_classes: [pii, payments, logs, internal]
          defaults: { servers: 4, work: 2ms, call: { timeout: 300ms, retries: 1 } }
          latency: { cross_account: 2ms }
          list:
            - name: checkout
              team: shop
              traffic: 30%
              criticality: high
              data: [pii]
              replicas: 3
              depends:
                - { on: payments, kind: hard, timeout: 200ms }
                - inventory
                - { on: search, kind: soft }
            - name: payments
              team: payments
              data: [payments, pii]
              depends: [ledger]
            - { name: inventory, team: shop, traffic: 20% }
            - { name: search, team: shop, traffic: 50%, criticality: low }
            - { name: ledger, team: platform, replicas: 1 }
        accounts:
          strategy: per-team
          regions: [eu-central-1, eu-west-1]
          cost: { per_account: 1000, per_region: 300, ops_per_account: 500 }
          random_faults: { mtbf: 720h, mttr: 4h }
          control_plane: { rate: 10/s, burst: 20, deploys_per_service_hour: 2 }
        auth: { strategy: local }
        workload:
          - calls: { rate: 100/s, timeout: 1s }
        faults:
          - { at: 10s, suspend: account(acct-shop), for: 30s }
          - { at: 11s, bad-change: account(acct-payments), for: 5m }
          - { at: 12s, compromise: account(acct-platform) }
          - { at: 13s, region-outage: eu-west-1, for: 10m }
          - { at: 14s, api-storm: { account: account(acct-shop), rate: 50/s }, for: 60s }
          - { at: 15s, crash: service(ledger), for: 1s }
          - { at: 16s, pause: checkout-r3, for: 1s }
          - { at: 17s, partition: [[service(checkout)], [jwks, token-provider, tokeninfo-r1]], for: 1s }
          - { at: 18s, suspend: all, for: 1s }
        checks: [mesh_requests_accounted]
        slos:
          blast_radius_p99_mean: 10%
          added_latency_p99_mean: 5ms
          availability_mc_min: 99.9%
          blast_radius_mean: 5%
          blast_radius_p99: 20%
          impaired_services_mean_max: 30%
          exposure_services_max: 3
          overhead_cost: 12000
          deploy_delay_p99: 2s
        """

    /// A generated organisation, placed into cells.
    let generated = """
        duration: 10s
        organisation:
          teams: 12
          services: 200
          graph: { shape: layered, layers: 4, edges: 2 }
          soft_share: 30%
          replicas: 3
        accounts: { strategy: cells, count: 10 }
        workload:
          - calls: { rate: 50/s }
        faults:
          - { at: 1s, suspend: account(acct-10), for: 2s }
          - { at: 2s, crash: svc-199-r3 }
          - { at: 3s, pause: service(svc-0), for: 1s }
        """

    func testExplicitOrganisation() throws {
        let s = try ScenarioLoader.parse(yaml: explicit, file: "o.yaml")
        let org = try XCTUnwrap(s.organisation)
        XCTAssertNil(s.mesh)
        XCTAssertEqual(org.teams, ["payments", "shop", "platform"])
        XCTAssertEqual(org.dataClasses, ["pii", "payments", "logs", "internal"])
        XCTAssertEqual(org.defaults.servers, 4)
        XCTAssertEqual(org.defaults.work, .constant(2e6))
        XCTAssertEqual(org.defaults.callTimeout, 300 * Nanos.millisecond)
        XCTAssertEqual(org.defaults.callRetries, 1)
        XCTAssertEqual(org.latency.crossAccount, .constant(2e6))
        XCTAssertEqual(org.latency.crossRegion, PlacementLatency().crossRegion)
        XCTAssertEqual(org.serviceNames, ["checkout", "payments", "inventory", "search", "ledger"])
        guard case .explicit(let services) = org.services else { return XCTFail("\(org.services)") }

        let checkout = services[0]
        XCTAssertEqual(checkout.team, "shop")
        XCTAssertEqual(checkout.traffic, 0.3, accuracy: 1e-12)
        XCTAssertEqual(checkout.criticality, .high)
        XCTAssertEqual(checkout.dataClasses, ["pii"])
        XCTAssertEqual(checkout.replicas, 3)
        XCTAssertEqual(checkout.dependencies, [
            DependencySpec(on: "payments", kind: .hard, timeout: 200 * Nanos.millisecond),
            // The short form: hard, no timeout of its own.
            DependencySpec(on: "inventory"),
            DependencySpec(on: "search", kind: .soft),
        ])
        // Defaults: no traffic, medium criticality, no data, 2 replicas, no dependencies.
        let payments = services[1]
        XCTAssertEqual(payments.traffic, 0)
        XCTAssertEqual(payments.criticality, .medium)
        XCTAssertEqual(payments.dataClasses, ["payments", "pii"])
        XCTAssertEqual(payments.replicas, 2)
        XCTAssertEqual(payments.dependencies, [DependencySpec(on: "ledger")])
        XCTAssertEqual(services[2].dataClasses, [])
        XCTAssertEqual(services[2].dependencies, [])
        XCTAssertEqual(services[3].criticality, .low)
        XCTAssertEqual(services[4].replicas, 1)

        let accounts = try XCTUnwrap(s.accounts)
        XCTAssertEqual(accounts.strategy, .perTeam)
        XCTAssertEqual(accounts.regions, ["eu-central-1", "eu-west-1"])
        XCTAssertEqual(accounts.accountNames(teams: org.teams, services: org.serviceNames),
                       ["acct-payments", "acct-shop", "acct-platform"])
        XCTAssertEqual(accounts.costPerAccount, 1000)
        XCTAssertEqual(accounts.costPerRegion, 300)
        XCTAssertEqual(accounts.opsCostPerAccount, 500)
        XCTAssertEqual(accounts.mtbf, 720 * 3600 * Nanos.second)
        XCTAssertEqual(accounts.mttr, 4 * 3600 * Nanos.second)
        XCTAssertEqual(accounts.apiRate, 10)
        XCTAssertEqual(accounts.apiBurst, 20)
        XCTAssertEqual(accounts.deploysPerServiceHour, 2)

        // auth: is allowed with an organisation; calls enter by the services' traffic shares.
        XCTAssertEqual(s.auth?.strategy, .local)
        XCTAssertEqual(s.meshWorkloads.count, 1)
        XCTAssertNil(s.meshWorkloads[0].entry)
        XCTAssertEqual(s.checks, ["mesh_requests_accounted"])
        // The organisation brings its own processes: no default node n1.
        XCTAssertEqual(s.cluster.nodes, [])
    }

    func testAccountFaults() throws {
        let s = try ScenarioLoader.parse(yaml: explicit, file: "o.yaml")
        XCTAssertEqual(s.faults.count, 9)
        guard case .suspend(.account("acct-shop")) = s.faults[0].action else { return XCTFail("\(s.faults[0].action)") }
        XCTAssertEqual(s.faults[0].duration, 30 * Nanos.second)
        guard case .badChange(.account("acct-payments")) = s.faults[1].action else { return XCTFail("\(s.faults[1].action)") }
        XCTAssertEqual(s.faults[1].duration, 300 * Nanos.second)
        guard case .compromise(.account("acct-platform")) = s.faults[2].action else { return XCTFail("\(s.faults[2].action)") }
        XCTAssertNil(s.faults[2].duration)
        guard case .regionOutage("eu-west-1") = s.faults[3].action else { return XCTFail("\(s.faults[3].action)") }
        XCTAssertEqual(s.faults[3].duration, 600 * Nanos.second)
        guard case .apiStorm(.account("acct-shop"), rate: 50) = s.faults[4].action else { return XCTFail("\(s.faults[4].action)") }
        XCTAssertEqual(s.faults[4].duration, 60 * Nanos.second)
        XCTAssertEqual(s.faults[4].action.keyword, "api-storm")
        XCTAssertEqual(s.faults[4].action.selectors, [.account("acct-shop")])
        // Services and replica processes of the organisation, and the auth processes, are selectable.
        guard case .crash(.service("ledger")) = s.faults[5].action else { return XCTFail("\(s.faults[5].action)") }
        guard case .pause(.node("checkout-r3")) = s.faults[6].action else { return XCTFail("\(s.faults[6].action)") }
        guard case .partition(.groups(let groups)) = s.faults[7].action else { return XCTFail("\(s.faults[7].action)") }
        XCTAssertEqual(groups[1], [.node("jwks"), .node("token-provider"), .node("tokeninfo-r1")])
        guard case .suspend(.all) = s.faults[8].action else { return XCTFail("\(s.faults[8].action)") }
    }

    func testSLOMetrics() throws {
        var s = try ScenarioLoader.parse(yaml: explicit, file: "o.yaml")
        XCTAssertEqual(s.slos.count, 9)
        XCTAssertEqual(s.slos[2].limit, 0.999, accuracy: 1e-12)
        s.slos[2].limit = 0.999
        XCTAssertEqual(s.slos, [
            SLOSpec(name: "blast_radius_p99_mean", metric: "blast_radius_p99", statistic: "mean", limit: 0.1),
            SLOSpec(name: "added_latency_p99_mean", metric: "added_latency_p99", statistic: "mean", limit: 5),
            SLOSpec(name: "availability_mc_min", metric: "availability_mc", statistic: "min", limit: 0.999),
            // A metric that ends in a statistic of its own means its mean.
            SLOSpec(name: "blast_radius_mean", metric: "blast_radius_mean", statistic: "mean", limit: 0.05),
            SLOSpec(name: "blast_radius_p99", metric: "blast_radius_p99", statistic: "mean", limit: 0.2),
            SLOSpec(name: "impaired_services_mean_max", metric: "impaired_services_mean", statistic: "max", limit: 0.3),
            SLOSpec(name: "exposure_services_max", metric: "exposure_services", statistic: "max", limit: 3),
            SLOSpec(name: "overhead_cost", metric: "overhead_cost", statistic: "mean", limit: 12000),
            SLOSpec(name: "deploy_delay_p99", metric: "deploy_delay", statistic: "p99", limit: 2000),
        ])
        XCTAssertTrue(s.slos[2].isLowerBound)

        let errors = scenarioErrors("""
            duration: 1s
            slos: { exposure_services: 10%, overhead_cost_max: 5ms, blast_radius_p99_min: 1%, blast_radus_mean: 1% }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:2:28: slos.exposure_services: expected a plain non-negative number such as 3, found '10%'",
            "bad.yaml:2:52: slos.overhead_cost_max: expected a plain non-negative number such as 3, found '5ms'",
            "bad.yaml:2:57: slos.blast_radius_p99_min: expected a statistic among p50, p90, p99, p999, mean, max for blast_radius_p99, "
                + "found 'min' (only throughput_per_s, availability and availability_mc have a lower bound (_min))",
            "bad.yaml:2:83: slos.blast_radus_mean: expected a known metric (\(SLOSpec.knownMetrics.map(\.name).joined(separator: ", "))) "
                + "optionally followed by _p50, _p90, _p99, _p999, _mean or _max, found unknown metric 'blast_radus_mean' "
                + "(did you mean 'blast_radius_mean'?)",
        ])
    }

    func testGeneratedShapes() throws {
        let s = try ScenarioLoader.parse(yaml: generated, file: "g.yaml")
        let org = try XCTUnwrap(s.organisation)
        XCTAssertEqual(org.teams, (1...12).map { "team-\($0)" })
        XCTAssertEqual(org.dataClasses, ["internal"])
        guard case .generated(200, .layered(layers: 4, edges: 2), let soft, 3) = org.services else {
            return XCTFail("\(org.services)")
        }
        XCTAssertEqual(soft, 0.3, accuracy: 1e-12)
        XCTAssertEqual(org.serviceNames.first, "svc-0")
        XCTAssertEqual(org.serviceNames.last, "svc-199")
        XCTAssertEqual(s.accounts?.strategy, .cells)
        XCTAssertEqual(s.accounts?.count, 10)
        XCTAssertNil(s.auth)
        guard case .suspend(.account("acct-10")) = s.faults[0].action else { return XCTFail("\(s.faults[0].action)") }

        let pa = try ScenarioLoader.parse(yaml: """
            duration: 10s
            organisation:
              teams: [a, b]
              data_classes: []
              services: 50
              graph: { shape: preferential-attachment, mean_degree: 3 }
            """, file: "g.yaml")
        guard case .generated(50, .preferentialAttachment(meanDegree: 3), 0, 2) = pa.organisation?.services else {
            return XCTFail("\(String(describing: pa.organisation?.services))")
        }
        XCTAssertEqual(pa.organisation?.dataClasses, [])
        XCTAssertEqual(pa.organisation?.teams, ["a", "b"])
        XCTAssertEqual(OrgGraphSpec.preferentialAttachment(meanDegree: 3).keyword, "preferential-attachment")
        // No accounts: one account for everything.
        XCTAssertEqual(pa.accounts?.strategy, .single)
        XCTAssertEqual(pa.accounts?.accountNames(teams: ["a", "b"], services: []), ["acct-1"])
    }

    func testTeamsAsCount() throws {
        let s = try ScenarioLoader.parse(yaml: """
            duration: 1s
            organisation:
              teams: 3
              list: [{ name: api, team: team-3 }]
            """, file: "t.yaml")
        XCTAssertEqual(s.organisation?.teams, ["team-1", "team-2", "team-3"])
        let errors = scenarioErrors("""
            duration: 1s
            organisation:
              teams: 3
              list: [{ name: api, team: team-4 }]
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:4:29: organisation.list[0].team: expected a team of organisation.teams (team-1, team-2, team-3), "
                + "found unknown team 'team-4' (did you mean 'team-1'?)",
        ])
    }

    /// The accounts of every strategy, as `account(…)` selectors accept them.
    func testAccountNamesPerStrategy() throws {
        func scenario(_ accounts: String, suspend account: String) -> String {
            """
            duration: 1s
            organisation:
              teams: [shop, core]
              list: [{ name: api, team: shop, traffic: 100%, depends: [db] }, { name: db, team: core }]
            accounts: \(accounts)
            faults: [{ at: 0s, suspend: account(\(account)) }]
            """
        }
        let valid: [(String, String, PlacementStrategySetting)] = [
            ("{ strategy: single }", "acct-1", .single),
            ("{ strategy: per-team }", "acct-core", .perTeam),
            ("{ strategy: per-service }", "acct-db", .perService),
            ("{ strategy: cells, count: 4 }", "acct-4", .cells),
            ("{ strategy: shuffle-shard, count: 6, shard_size: 3 }", "acct-6", .shuffleShard),
            ("{ strategy: explicit, mapping: { api: acct-edge } }", "acct-edge", .explicit),
            ("{ strategy: explicit, mapping: { api: acct-edge } }", "acct-default", .explicit),
        ]
        for (accounts, account, strategy) in valid {
            let s = try ScenarioLoader.parse(yaml: scenario(accounts, suspend: account), file: "a.yaml")
            XCTAssertEqual(s.accounts?.strategy, strategy, accounts)
        }
        let shuffle = try ScenarioLoader.parse(yaml: scenario("{ strategy: shuffle-shard, count: 6, shard_size: 3 }", suspend: "acct-1"),
                                               file: "a.yaml")
        XCTAssertEqual(shuffle.accounts?.count, 6)
        XCTAssertEqual(shuffle.accounts?.shardSize, 3)
        let mapped = try ScenarioLoader.parse(yaml: scenario("{ strategy: explicit, mapping: { api: acct-edge } }", suspend: "acct-edge"),
                                              file: "a.yaml")
        XCTAssertEqual(mapped.accounts?.mapping, ["api": "acct-edge"])
        XCTAssertEqual(mapped.accounts?.accountNames(teams: [], services: []), ["acct-edge", "acct-default"])

        let invalid: [(String, String, String)] = [
            ("{ strategy: single }", "acct-2", "an account of the single placement (acct-1)"),
            ("{ strategy: per-team }", "acct-api", "an account of the per-team placement (acct-shop, acct-core)"),
            ("{ strategy: per-service }", "acct-shop", "an account of the per-service placement (acct-api, acct-db)"),
            ("{ strategy: cells, count: 4 }", "acct-5", "an account of the cells placement (acct-1, acct-2, acct-3, acct-4)"),
            ("{ strategy: explicit, mapping: { api: acct-edge } }", "acct-1",
             "an account of the explicit placement (acct-edge, acct-default)"),
        ]
        for (accounts, account, expected) in invalid {
            let errors = scenarioErrors(scenario(accounts, suspend: account))
            XCTAssertEqual(errors.map(\.expected), [expected], accounts)
            XCTAssertEqual(errors.first?.keyPath, "faults[0].suspend")
            XCTAssertEqual(errors.first?.found, "unknown account '\(account)'")
        }
    }

    func testUnknownAccountWithHint() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "suspend: account(acct-shop)", with: "suspend: account(acct-shp)"))
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 36, column: 25))
        XCTAssertEqual(errors[0].keyPath, "faults[0].suspend")
        XCTAssertEqual(errors[0].expected, "an account of the per-team placement (acct-payments, acct-shop, acct-platform)")
        XCTAssertEqual(errors[0].found, "unknown account 'acct-shp'")
        XCTAssertEqual(errors[0].hint, "did you mean 'acct-shop'?")

        // Other selectors take account(…) too, and it needs an organisation.
        let crash = scenarioErrors(explicit.replacingOccurrences(of: "crash: service(ledger)", with: "crash: account(acct-shops)"))
        XCTAssertEqual(crash.map(\.keyPath), ["faults[5].crash"])
        XCTAssertEqual(crash.first?.hint, "did you mean 'acct-shop'?")
        let none = scenarioErrors("duration: 1s\nfaults: [{ at: 1s, crash: account(acct-1) }]\n")
        XCTAssertEqual(none.map(\.description), [
            "bad.yaml:2:27: faults[0].crash: expected an account of the organisation (this scenario has no organisation: section), "
                + "found account 'acct-1'",
        ])
    }

    func testAccountSettingsDefaults() throws {
        let s = try ScenarioLoader.parse(yaml: """
            duration: 1s
            organisation: { teams: 1, services: 10, graph: { shape: layered, layers: 2, edges: 1 } }
            accounts: { cost: { per_region: 300 }, random_faults: { mtbf: 100h }, control_plane: { burst: 5 } }
            """, file: "d.yaml")
        let a = try XCTUnwrap(s.accounts)
        XCTAssertEqual(a.strategy, .single)
        XCTAssertEqual(a.count, 1)
        XCTAssertEqual(a.shardSize, 2)
        XCTAssertEqual(a.regions, ["region-1"])
        XCTAssertEqual(a.mapping, [:])
        XCTAssertEqual(a.costPerAccount, 0)
        XCTAssertEqual(a.costPerRegion, 300)
        XCTAssertEqual(a.mtbf, 100 * 3600 * Nanos.second)
        XCTAssertEqual(a.mttr, AccountsSpec().mttr)
        XCTAssertEqual(a.apiRate, AccountsSpec().apiRate)
        XCTAssertEqual(a.apiBurst, 5)

        let errors = scenarioErrors("""
            duration: 1s
            organisation: { teams: 1, services: 10, graph: { shape: layered, layers: 2, edges: 1 } }
            accounts:
              cost: { per_account: -1, per_regoin: 3 }
              random_faults: { mttr: 0s }
              control_plane: { rate: 10, burst: 0, deploys_per_service_hour: -2 }
              regions: [eu, eu]
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:4:24: accounts.cost.per_account: expected a non-negative number (a monthly cost such as 1000), found '-1'",
            "bad.yaml:4:28: accounts.cost.per_regoin: expected one of the keys per_account, per_region, ops_per_account, "
                + "found unknown key 'per_regoin' (did you mean 'per_region'?)",
            "bad.yaml:5:18: accounts.random_faults.mtbf: expected the mean time between an account's failures, such as 720h, "
                + "found no 'mtbf' key ('mtbf' is required)",
            "bad.yaml:5:26: accounts.random_faults.mttr: expected a positive duration such as 10ms, found '0s'",
            "bad.yaml:6:26: accounts.control_plane.rate: expected a rate with a time unit such as 2000/s, found '10' (write 10/s for per second)",
            "bad.yaml:6:37: accounts.control_plane.burst: expected a positive burst (calls the account's token bucket holds), found '0'",
            "bad.yaml:6:66: accounts.control_plane.deploys_per_service_hour: expected a non-negative number of deploys per service "
                + "and hour, found '-2'",
            "bad.yaml:7:17: accounts.regions[1]: expected a region name listed once, found 'eu' again",
        ])
    }

    func testOverrideAccountsCount() throws {
        let base = generated.replacingOccurrences(of: "account(acct-10)", with: "account(acct-20)")
        let errors = scenarioErrors(base)
        XCTAssertEqual(errors.map(\.found), ["unknown account 'acct-20'"])
        let s = try ScenarioLoader.parse(yaml: base, file: "g.yaml", overrides: ["accounts.count=20"])
        XCTAssertEqual(s.accounts?.count, 20)
        guard case .suspend(.account("acct-20")) = s.faults[0].action else { return XCTFail("\(s.faults[0].action)") }
        let strategy = try ScenarioLoader.parse(yaml: generated, file: "g.yaml", overrides: ["accounts.strategy=shuffle-shard"])
        XCTAssertEqual(strategy.accounts?.strategy, .shuffleShard)
        let bad = scenarioErrors(generated, overrides: ["accounts.count=0"])
        XCTAssertEqual(bad.map(\.description), ["--set:1:16: accounts.count: expected a positive number of accounts, found '0'"])
    }

    func testCompareStrategies() throws {
        let base = generated.replacingOccurrences(of: "account(acct-10)", with: "all")
        let s = try ScenarioLoader.parse(yaml: base + "\ncompare: { accounts.strategy: [single, per-team, cells, shuffle-shard] }\n",
                                         file: "g.yaml")
        XCTAssertEqual(s.compare, [CompareAxis(key: "accounts.strategy", values: ["single", "per-team", "cells", "shuffle-shard"])])
        let errors = scenarioErrors(base + "\ncompare: { accounts.strategy: [cells, per-tem] }\n")
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].keyPath, "compare.accounts.strategy[1]")
        XCTAssertEqual(errors[0].hint, "did you mean 'per-team'?")
    }

    // MARK: Errors

    func testServicesAndListAreExclusive() {
        let both = scenarioErrors("""
            duration: 1s
            organisation:
              teams: 2
              services: 20
              list: [{ name: api, team: team-1 }]
            """)
        XCTAssertEqual(both.map(\.description), [
            "bad.yaml:5:3: organisation: expected only one of services, list (a generated or a written-out organisation), "
                + "found 'services' and 'list'",
        ])
        let neither = scenarioErrors("duration: 1s\norganisation: { teams: 2 }\n")
        XCTAssertEqual(neither.map(\.description), [
            "bad.yaml:2:15: organisation: expected one of services, list (a generated or a written-out organisation), found none of them",
        ])
        let generatedKeys = scenarioErrors("""
            duration: 1s
            organisation:
              teams: 2
              list: [{ name: api, team: team-1 }]
              graph: { shape: layered, layers: 2, edges: 1 }
              replicas: 3
            """)
        XCTAssertEqual(generatedKeys.map(\.description), [
            "bad.yaml:5:3: organisation.graph: expected graph only with services: <count> (a generated organisation; "
                + "list: writes each service out), found 'graph' with list:",
            "bad.yaml:6:3: organisation.replicas: expected replicas only with services: <count> (a generated organisation; "
                + "list: writes each service out), found 'replicas' with list:",
        ])
        let noGraph = scenarioErrors("duration: 1s\norganisation: { teams: 2, services: 20 }\n")
        XCTAssertEqual(noGraph.map(\.keyPath), ["organisation.graph"])
        XCTAssertEqual(noGraph.first?.found, "no 'graph' key")
    }

    func testBadGeneratedOrganisation() {
        let errors = scenarioErrors("""
            duration: 1s
            organisation:
              teams: 0
              services: 100001
              graph: { shape: layerd, layers: 2 }
              soft_share: 130%
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:10: organisation.teams: expected a number of teams such as 12, or a list of team names, found '0'",
            "bad.yaml:4:13: organisation.services: expected an organisation of at most 100000 services, found '100001'",
            "bad.yaml:5:19: organisation.graph.shape: expected one of layered, preferential-attachment, found 'layerd' (did you mean 'layered'?)",
            "bad.yaml:6:15: organisation.soft_share: expected a probability between 0 and 1 or a percentage such as 1%, found '130%'",
        ])
        let shapeKeys = scenarioErrors("""
            duration: 1s
            organisation: { teams: 1, services: 5, graph: { shape: preferential-attachment, mean_degree: 0, edges: 2 } }
            """)
        XCTAssertEqual(shapeKeys.map(\.description), [
            "bad.yaml:2:94: organisation.graph.mean_degree: expected a positive mean number of dependencies per service, found '0'",
            "bad.yaml:2:97: organisation.graph.edges: expected one of the keys shape, mean_degree, found unknown key 'edges'",
        ])
        let replicas = scenarioErrors("""
            duration: 1s
            organisation: { teams: 1, services: 100000, replicas: 11, graph: { shape: layered, layers: 2, edges: 1 } }
            """)
        XCTAssertEqual(replicas.map(\.description), [
            "bad.yaml:2:15: organisation: expected at most 1000000 service replicas in all, found 1100000",
        ])
    }

    func testUnknownDependencyWithHint() {
        let errors = scenarioErrors(explicit
            .replacingOccurrences(of: "        - inventory\n", with: "        - inventroy\n")
            .replacingOccurrences(of: "depends: [ledger]", with: "depends: [payments]"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:17:11: organisation.list[0].depends[1]: expected a service of organisation.list (checkout, payments, inventory, "
                + "search, ledger), found unknown service 'inventroy' (did you mean 'inventory'?)",
            "bad.yaml:22:17: organisation.list[1].depends[0]: expected a service other than the service itself, found 'payments'",
        ])
        let fields = scenarioErrors(explicit.replacingOccurrences(of: "{ on: search, kind: soft }", with: "{ on: search, kind: sfot, timout: 1s }"))
        XCTAssertEqual(fields.map(\.description), [
            "bad.yaml:18:31: organisation.list[0].depends[2].kind: expected one of hard, soft, found 'sfot' (did you mean 'soft'?)",
            "bad.yaml:18:37: organisation.list[0].depends[2].timout: expected one of the keys on, kind, timeout, found unknown key 'timout' "
                + "(did you mean 'timeout'?)",
        ])
    }

    func testDependencyCycle() {
        let errors = scenarioErrors("""
            duration: 1s
            organisation:
              teams: [t]
              list:
                - { name: a, team: t, depends: [b] }
                - { name: b, team: t, depends: [c, { on: d, kind: soft }] }
                - { name: c, team: t, depends: [a] }
                - { name: d, team: t }
            """)
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 7, column: 37))
        XCTAssertEqual(errors[0].keyPath, "organisation.list[2].depends[0]")
        XCTAssertEqual(errors[0].expected, "dependencies that form no cycle (the dependency graph must be acyclic)")
        XCTAssertEqual(errors[0].found, "the cycle a → b → c → a")
    }

    func testTrafficAbove100Percent() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "traffic: 50%", with: "traffic: 55.5%"))
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 9, column: 5))
        XCTAssertEqual(errors[0].keyPath, "organisation.list")
        XCTAssertEqual(errors[0].expected, "traffic shares that sum to at most 100% (the organisation's external traffic)")
        XCTAssertEqual(errors[0].found, "105.5% in all")
    }

    func testBadServiceFields() {
        let errors = scenarioErrors("""
            duration: 1s
            organisation:
              teams: [shop]
              data_classes: [pii]
              list:
                - { name: api, team: shp, criticality: hihg, data: [pi], replicas: 0 }
                - { name: api, team: shop }
                - { name: jwks, team: shop }
                - { name: zone(a), team: shop }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:6:26: organisation.list[0].team: expected a team of organisation.teams (shop), found unknown team 'shp' (did you mean 'shop'?)",
            "bad.yaml:6:44: organisation.list[0].criticality: expected one of low, medium, high, found 'hihg' (did you mean 'high'?)",
            "bad.yaml:6:57: organisation.list[0].data[0]: expected a data class of organisation.data_classes (pii), "
                + "found unknown data class 'pi' (did you mean 'pii'?)",
            "bad.yaml:6:72: organisation.list[0].replicas: expected a positive integer, found '0'",
            "bad.yaml:8:15: organisation.list[2].name: expected a service name the model does not use itself "
                + "(not tokeninfo, token-provider, jwks, client), found 'jwks'",
            "bad.yaml:9:15: organisation.list[3].name: expected a service name without brackets, commas or spaces that is no selector keyword, "
                + "found 'zone(a)'",
        ])
        let duplicate = scenarioErrors("""
            duration: 1s
            organisation: { teams: [t], list: [{ name: a, team: t }, { name: a, team: t }] }
            """)
        XCTAssertEqual(duplicate.map(\.found), ["'a' again"])
    }

    func testAccountsNeedOrganisation() {
        let errors = scenarioErrors("duration: 1s\naccounts: { strategy: per-team }\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:2:1: accounts: expected accounts together with an organisation (accounts: needs organisation:), "
                + "found no organisation: section",
        ])
    }

    func testOrganisationAndServicesAreExclusive() {
        let errors = scenarioErrors("""
            duration: 1s
            services: { list: [{ name: api }] }
            organisation: { teams: 1, list: [{ name: web, team: team-1 }] }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:1: organisation: expected either services: (the OAuth call graph) or organisation: (the multi-account model), "
                + "not both, found both services: and organisation:",
        ])
    }

    func testBadStrategyWithHint() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "strategy: per-team", with: "strategy: per-teem"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:27:13: accounts.strategy: expected one of single, per-team, per-service, cells, shuffle-shard, explicit, "
                + "found 'per-teem' (did you mean 'per-team'?)",
        ])
    }

    func testShardSizeAboveCount() {
        let base = "duration: 1s\norganisation: { teams: 1, services: 10, graph: { shape: layered, layers: 2, edges: 1 } }\n"
        let errors = scenarioErrors(base + "accounts: { strategy: shuffle-shard, count: 3, shard_size: 4 }\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:60: accounts.shard_size: expected a shard size of at most count (3) for shuffle-shard, found '4'",
        ])
        let byDefault = scenarioErrors(base + "accounts: { strategy: shuffle-shard }\n")
        XCTAssertEqual(byDefault.map(\.description), [
            "bad.yaml:3:11: accounts.shard_size: expected a shard size of at most count (1) for shuffle-shard, found the default 2 "
                + "(set count: to at least 2, or shard_size:)",
        ])
        // Other strategies ignore count and shard_size (so that compare: can switch strategies).
        XCTAssertNoThrow(try ScenarioLoader.parse(yaml: base + "accounts: { strategy: cells, count: 3, shard_size: 4 }\n", file: "ok.yaml"))
    }

    func testMappingOnlyForExplicit() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "  strategy: per-team\n",
                                                                    with: "  strategy: per-team\n  mapping: { checkout: acct-a }\n"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:28:3: accounts.mapping: expected no mapping with strategy per-team (mapping places services for strategy: explicit), "
                + "found a mapping",
        ])
        let missing = scenarioErrors(explicit.replacingOccurrences(of: "strategy: per-team", with: "strategy: explicit"))
        XCTAssertEqual(missing.map(\.description), [
            "bad.yaml:27:3: accounts.mapping: expected a mapping of services to accounts such as {checkout: acct-payments} "
                + "(strategy explicit needs one), found no 'mapping' key ('mapping' is required)",
        ])
        let unknown = scenarioErrors(explicit.replacingOccurrences(
            of: "strategy: per-team", with: "strategy: explicit\n  mapping: { chekout: acct-a, search: acct(b) }"))
        XCTAssertEqual(unknown.map(\.description), [
            "bad.yaml:28:14: accounts.mapping.chekout: expected a service of the organisation (checkout, payments, inventory, search, ledger), "
                + "found unknown service 'chekout' (did you mean 'checkout'?)",
            "bad.yaml:28:39: accounts.mapping.search: expected an account name without brackets, commas or spaces, found 'acct(b)'",
        ])
    }

    func testRegionOutageOfUnknownRegion() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "region-outage: eu-west-1", with: "region-outage: eu-west-2"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:39:31: faults[3].region-outage: expected a region of accounts.regions (eu-central-1, eu-west-1), "
                + "found unknown region 'eu-west-2' (did you mean 'eu-west-1'?)",
        ])
        // Without accounts:, the one region is region-1.
        let byDefault = scenarioErrors("""
            duration: 1s
            organisation: { teams: 1, services: 10, graph: { shape: layered, layers: 2, edges: 1 } }
            faults: [{ at: 1s, region-outage: eu-west-1 }]
            """)
        XCTAssertEqual(byDefault.first?.expected, "a region of accounts.regions (region-1)")
    }

    func testAccountFaultsNeedOrganisation() {
        let errors = scenarioErrors("""
            duration: 1s
            faults:
              - { at: 1s, api-storm: { account: account(acct-1), rate: 50/s }, for: 60s }
              - { at: 2s, region-outage: eu-west-1 }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:26: faults[0].api-storm: expected api-storm in a scenario with accounts (api-storm needs organisation: and accounts:), "
                + "found no organisation: section",
            "bad.yaml:4:30: faults[1].region-outage: expected region-outage in a scenario with accounts "
                + "(region-outage needs organisation: and accounts:), found no organisation: section",
        ])
    }

    func testAccountFaultsTakeAccountSelectors() {
        let errors = scenarioErrors(explicit
            .replacingOccurrences(of: "suspend: account(acct-shop)", with: "suspend: acct-shop")
            .replacingOccurrences(of: "compromise: account(acct-platform)", with: "compromise: zone(a)")
            .replacingOccurrences(of: "rate: 50/s", with: "rate: 50"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:36:25: faults[0].suspend: expected account(<name>), service(<name>) or all (suspend acts on whole accounts), "
                + "found 'acct-shop' (write account(acct-shop))",
            "bad.yaml:38:28: faults[2].compromise: expected account(<name>), service(<name>) or all (compromise acts on whole accounts), "
                + "found 'zone(a)'",
            "bad.yaml:40:64: faults[4].api-storm.rate: expected a rate with a time unit such as 2000/s, found '50' (write 50/s for per second)",
        ])
    }

    func testCallsIntoAnOrganisationTakeNoEntry() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "- calls: { rate: 100/s", with: "- calls: { entry: checkout, rate: 100/s"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:34:21: workload[0].calls.entry: expected no entry with organisation: (requests enter its services by their "
                + "traffic shares), found 'checkout'",
        ])
    }

    func testProcessNamesMustNotClashWithClusterNodes() {
        let errors = scenarioErrors("""
            duration: 1s
            cluster: { nodes: [n1, api-r2] }
            organisation: { teams: 1, list: [{ name: api, team: team-1 }] }
            """)
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].keyPath, "organisation")
        XCTAssertTrue(errors[0].found.contains("cluster node 'api-r2'"), errors[0].found)
    }
}
