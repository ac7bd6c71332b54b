import SimCore
import XCTest
@testable import Scenario

final class MeshParsingTests: XCTestCase {
    /// An explicit call graph with every key; line numbers matter to the error tests below.
    let explicit = """
        duration: 30s
        cluster: { nodes: 3, zones: [a, b] }
        services:
          list:
            - name: api
              zones: [a, b]
              replicas: 2
              servers: 16
              work: { lognormal: { median: 2ms, p99: 10ms } }
              queue_limit: 1000
              account: acct-1
              region: eu-central-1
              calls:
                - { to: orders, mode: sequential, timeout: 50ms, retries: 2 }
                - payments
            - name: orders
              calls: [{ to: payments, timeout: never }]
            - name: payments
              queue_limit: unbounded
          defaults: { replicas: 3, servers: 8, work: 1ms, queue_limit: 500, call: { mode: parallel, timeout: 200ms, retries: 1 } }
          latency: { same_host: { constant: 20us }, cross_region: 40ms }
        workload:
          - calls: { entry: api, rate: 500/s, timeout: 1s, start: 0s, stop: 20s }
          - calls: { rate: { constant: 100/s } }
          - calls: { interarrival: { exponential: 5ms } }
        faults:
          - { at: 5s, crash: service(orders), for: 2s }
          - { at: 6s, pause: api-r2, for: 1s }
          - { at: 7s, slowdown: { station: tokeninfo, factor: 10 }, for: 2s }
          - { at: 8s, slowdown: { station: payments, factor: 3x } }
          - { at: 9s, partition: [[service(api)], [tokeninfo-r1, jwks, token-provider]], for: 1s }
        checks: [no_accepted_invalid, mesh_requests_accounted]
        slos: { auth_latency_p99: 5ms, availability_min: 99.9%, tokeninfo_utilization_max: 80% }
        """

    func testExplicitGraphWithDefaultsInheritance() throws {
        let s = try ScenarioLoader.parse(yaml: explicit, file: "m.yaml")
        let mesh = try XCTUnwrap(s.mesh)
        guard case .explicit(let services) = mesh.graph else { return XCTFail("\(mesh.graph)") }
        XCTAssertEqual(services.map(\.name), ["api", "orders", "payments"])
        XCTAssertEqual(mesh.graph.serviceNames, ["api", "orders", "payments"])

        let api = services[0]
        XCTAssertEqual(api.zones, ["a", "b"])
        XCTAssertEqual(api.replicas, 2)
        XCTAssertEqual(api.servers, 16)
        guard case .lognormal = api.work else { return XCTFail("\(api.work)") }
        XCTAssertEqual(api.queueLimit, 1000)
        XCTAssertEqual(api.account, "acct-1")
        XCTAssertEqual(api.region, "eu-central-1")
        XCTAssertEqual(api.calls, [
            CallSpec(to: "orders", mode: .sequential, timeout: 50 * Nanos.millisecond, retries: 2),
            // The short form takes every setting from defaults.call.
            CallSpec(to: "payments", mode: .parallel, timeout: 200 * Nanos.millisecond, retries: 1),
        ])

        // Omitted keys come from defaults; `never` and `unbounded` override a default with "none".
        let orders = services[1]
        XCTAssertNil(orders.zones)
        XCTAssertEqual(orders.replicas, 3)
        XCTAssertEqual(orders.servers, 8)
        XCTAssertEqual(orders.work, .constant(1e6))
        XCTAssertEqual(orders.queueLimit, 500)
        XCTAssertNil(orders.account)
        XCTAssertEqual(orders.calls, [CallSpec(to: "payments", mode: .parallel, timeout: nil, retries: 1)])
        XCTAssertNil(services[2].queueLimit)
        XCTAssertEqual(services[2].calls, [])

        XCTAssertEqual(mesh.defaults.replicas, 3)
        XCTAssertEqual(mesh.defaults.callTimeout, 200 * Nanos.millisecond)
        XCTAssertEqual(mesh.defaults.callRetries, 1)
        XCTAssertEqual(mesh.latency.sameHost, .constant(20_000))
        XCTAssertEqual(mesh.latency.crossRegion, .constant(40e6))
        XCTAssertEqual(mesh.latency.sameZone, PlacementLatency().sameZone, "unset relations keep their defaults")

        // services: without auth: → the default AuthSpec.
        let auth = try XCTUnwrap(s.auth)
        XCTAssertEqual(auth.strategy, AuthSpec().strategy)
        XCTAssertEqual(auth.lifetimes, AuthSpec.planBLifetimes)

        XCTAssertEqual(s.meshWorkloads.count, 3)
        XCTAssertEqual(s.meshWorkloads[0].entry, "api")
        guard case .poisson(500) = s.meshWorkloads[0].arrivals else { return XCTFail("\(s.meshWorkloads[0].arrivals)") }
        XCTAssertEqual(s.meshWorkloads[0].timeout, Nanos.second)
        XCTAssertEqual(s.meshWorkloads[0].start, 0)
        XCTAssertEqual(s.meshWorkloads[0].stop, 20 * Nanos.second)
        XCTAssertNil(s.meshWorkloads[1].entry, "nil entry = the graph's first service")
        guard case .constant(100) = s.meshWorkloads[1].arrivals else { return XCTFail("\(s.meshWorkloads[1].arrivals)") }
        guard case .interarrival(.exponential(mean: 5e6)) = s.meshWorkloads[2].arrivals else {
            return XCTFail("\(s.meshWorkloads[2].arrivals)")
        }
        XCTAssertNil(s.meshWorkloads[1].timeout)
        XCTAssertTrue(s.workload.isEmpty)

        XCTAssertEqual(s.faults.map(\.action.selectors), [
            [.service("orders")], [.node("api-r2")], [], [], [.service("api"), .node("tokeninfo-r1"), .node("jwks"), .node("token-provider")],
        ])
        guard case .slowdown("tokeninfo", 10) = s.faults[2].action, case .slowdown("payments", 3) = s.faults[3].action else {
            return XCTFail("\(s.faults.map(\.action))")
        }
        XCTAssertEqual(s.checks, ["no_accepted_invalid", "mesh_requests_accounted"])
        XCTAssertEqual(s.slos.map(\.name), ["auth_latency_p99", "availability_min", "tokeninfo_utilization_max"])
        XCTAssertEqual(s.slos[1].limit, 0.999, accuracy: 1e-12)
        XCTAssertTrue(s.slos[1].isLowerBound)
        XCTAssertTrue(s.compare.isEmpty)
    }

    func testGeneratedShapes() throws {
        func graph(_ text: String) throws -> MeshSpec {
            try XCTUnwrap(ScenarioLoader.parse(yaml: "duration: 1s\nservices:\n  graph: \(text)\n", file: "g.yaml").mesh)
        }
        let tree = try graph("{ shape: tree, depth: 2, fanout: 4 }")
        guard case .tree(depth: 2, fanout: 4) = tree.graph else { return XCTFail("\(tree.graph)") }
        XCTAssertEqual(tree.graph.serviceNames.count, 1 + 4 + 16)
        XCTAssertEqual(tree.graph.keyword, "tree")
        guard case .tree(depth: 0, fanout: 1) = try graph("{ shape: tree, depth: 0, fanout: 1 }").graph else { return XCTFail() }

        let layered = try graph("{ shape: layered, layers: 4, width: 5, edges: 2 }")
        guard case .layered(layers: 4, width: 5, edges: 2) = layered.graph else { return XCTFail("\(layered.graph)") }
        XCTAssertEqual(layered.graph.serviceNames.first, "l0-0")

        let dag = try graph("{ shape: random-dag, services: 20, edge_probability: 0.2 }")
        guard case .randomDAG(services: 20, edgeProbability: 0.2) = dag.graph else { return XCTFail("\(dag.graph)") }
        guard case .randomDAG(services: 20, edgeProbability: 0.2) = try graph("{ shape: random-dag, services: 20, edge_probability: 20% }").graph
        else { return XCTFail() }

        // The generated names (and their replicas, and tokeninfo's nodes) can be selected.
        let s = try ScenarioLoader.parse(yaml: """
            duration: 10s
            services:
              graph: { shape: tree, depth: 1, fanout: 2 }
              defaults: { replicas: 2 }
            auth: { tokeninfo: { nodes: 3 } }
            faults:
              - { at: 1s, crash: service(s1-1) }
              - { at: 2s, crash: s1-0-r2 }
              - { at: 3s, crash: tokeninfo-r3 }
              - { at: 4s, crash: service(tokeninfo) }
              - { at: 5s, slowdown: { station: s0-0, factor: 2 } }
            """, file: "g.yaml")
        XCTAssertEqual(s.faults.count, 5)
        XCTAssertEqual(s.mesh?.defaults.replicas, 2)
        XCTAssertEqual(s.auth?.tokeninfo.nodes, 3)
    }

    func testAuthFields() throws {
        let s = try ScenarioLoader.parse(yaml: """
            duration: 10s
            cluster: { zones: [a, b] }
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            auth:
              strategy: central
              tokeninfo: { nodes: 2, servers: 4, service: { exponential: { mean: 2ms } }, queue_limit: 500, zones: [b] }
              central: { cache_ttl: 10s, timeout: 100ms, retries: 1, retry_backoff: 10ms, breaker: { failures: 5, open_for: 5s } }
              local: { jwks_refresh: 30s, jwks_retry: 5s, unknown_kid: refetch, revocation_poll: never }
              verify_cost: { constant: 60us }
              leeway: 2s
              tokens: { realm: partners, clients: 50, refresh_at: 80%, refresh_retry: 2s, lifetimes: { services: 1h, partners: 30m } }
              key_rotation: { every: 10m, pre_publish: 1m }
              forged_tokens: 0.5%
              revocations: 1/s
            """, file: "a.yaml")
        let auth = try XCTUnwrap(s.auth)
        XCTAssertEqual(auth.strategy, .central)
        XCTAssertEqual(auth.tokeninfo.nodes, 2)
        XCTAssertEqual(auth.tokeninfo.servers, 4)
        XCTAssertEqual(auth.tokeninfo.service, .exponential(mean: 2e6))
        XCTAssertEqual(auth.tokeninfo.queueLimit, 500)
        XCTAssertEqual(auth.tokeninfo.zones, ["b"])
        XCTAssertEqual(auth.cacheTTL, 10 * Nanos.second)
        XCTAssertEqual(auth.tokeninfoTimeout, 100 * Nanos.millisecond)
        XCTAssertEqual(auth.tokeninfoRetries, 1)
        XCTAssertEqual(auth.retryBackoff, 10 * Nanos.millisecond)
        XCTAssertEqual(auth.breakerFailures, 5)
        XCTAssertEqual(auth.breakerOpenFor, 5 * Nanos.second)
        XCTAssertEqual(auth.jwksRefresh, 30 * Nanos.second)
        XCTAssertEqual(auth.jwksRetry, 5 * Nanos.second)
        XCTAssertTrue(auth.refetchOnUnknownKid)
        XCTAssertNil(auth.revocationPoll, "never = not polled")
        XCTAssertEqual(auth.verifyCost, .constant(60_000))
        XCTAssertEqual(auth.leeway, 2 * Nanos.second)
        XCTAssertEqual(auth.clientRealm, "partners")
        XCTAssertEqual(auth.clients, 50)
        XCTAssertEqual(auth.refreshAt, 0.8, accuracy: 1e-12)
        XCTAssertEqual(auth.refreshRetry, 2 * Nanos.second)
        // Lifetimes override Plan B's entries and add new realms; the others stay.
        XCTAssertEqual(auth.lifetimes["services"], 3600 * Nanos.second)
        XCTAssertEqual(auth.lifetimes["partners"], 30 * 60 * Nanos.second)
        XCTAssertEqual(auth.lifetimes["customers"], AuthSpec.planBLifetimes["customers"])
        XCTAssertEqual(auth.lifetimes.count, AuthSpec.planBLifetimes.count + 1)
        XCTAssertEqual(auth.rotationInterval, 10 * 60 * Nanos.second)
        XCTAssertEqual(auth.rotationPrePublish, 60 * Nanos.second)
        XCTAssertEqual(auth.forgedFraction, 0.005, accuracy: 1e-12)
        XCTAssertEqual(auth.revocationsPerSecond, 1)

        // Defaults for everything not written; `none` turns cache and breaker off.
        let d = try XCTUnwrap(ScenarioLoader.parse(yaml: """
            duration: 10s
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            auth: { strategy: hybrid, central: { cache_ttl: none, breaker: none }, key_rotation: never }
            """, file: "a.yaml").auth)
        XCTAssertEqual(d.strategy, .hybrid)
        XCTAssertNil(d.cacheTTL)
        XCTAssertNil(d.breakerFailures)
        XCTAssertNil(d.rotationInterval)
        XCTAssertEqual(d.clientRealm, "services")
        XCTAssertEqual(d.revocationPoll, AuthSpec().revocationPoll)
        XCTAssertEqual(d.forgedFraction, 0)
        XCTAssertEqual(d.tokeninfo.nodes, TokeninfoSpec().nodes)
    }

    func testCompare() throws {
        let s = try ScenarioLoader.parse(yaml: """
            duration: 10s
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            compare:
              auth.strategy: [central, local, hybrid, none]
              services.graph.depth: [1, 2]
            """, file: "c.yaml")
        XCTAssertEqual(s.compare, [
            CompareAxis(key: "auth.strategy", values: ["central", "local", "hybrid", "none"]),
            CompareAxis(key: "services.graph.depth", values: ["1", "2"]),
        ])
        XCTAssertEqual(s.auth?.strategy, AuthSpec().strategy, "compare does not change the scenario itself")
    }

    func testCompareValuesAreValidatedAtTheValue() {
        let errors = scenarioErrors("""
            duration: 10s
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            compare:
              auth.strategy: [central, lokal]
              services.graph.dpth: [2, 3]
              services.graph.depth: [2, 20]
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:4:28: compare.auth.strategy[1]: expected one of central, local, hybrid, none, found 'lokal' (did you mean 'local'?)",
            // A bad path is reported once, at the component that does not belong.
            "bad.yaml:5:18: compare.services.graph.dpth: expected one of the keys shape, depth, fanout, found unknown key 'dpth' (did you mean 'depth'?)",
            // An error elsewhere that the value causes is reported at the value, saying what it breaks.
            "bad.yaml:6:29: compare.services.graph.depth[1]: expected a value with which the scenario is valid, found '20', with which "
                + "bad.yaml:2:20: services.graph: expected a call graph of at most 100000 services, found a tree of depth 20 and fanout 2 with 2097151 services",
        ])
        // Shape errors are reported without trying the values.
        let shapes = scenarioErrors("""
            duration: 10s
            compare: { auth.strategy: [], seeds: 3, cluster.nodes: [[1]], warmup: [1s, 1s] }
            """)
        XCTAssertEqual(shapes.map(\.description), [
            "bad.yaml:2:27: compare.auth.strategy: expected at least one value, found a list",
            "bad.yaml:2:38: compare.seeds: expected a list of values to compare, such as [central, local], found '3'",
            "bad.yaml:2:57: compare.cluster.nodes[0]: expected a scalar value such as local, found a list",
            "bad.yaml:2:76: compare.warmup[1]: expected each value once, found '1s' again",
        ])
        let path = scenarioErrors("duration: 10s\ncompare:\n  cluster..nodes: [2]\n")
        XCTAssertEqual(path.map(\.description), [
            "bad.yaml:3:11: compare.cluster..nodes: expected a key path such as auth.strategy (as for --set), found 'cluster..nodes' (a path component is empty)",
        ])
    }

    func testOverridesReachMeshSettings() throws {
        let s = try ScenarioLoader.parse(yaml: """
            duration: 10s
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            auth: { strategy: central }
            """, file: "o.yaml", overrides: ["services.graph.depth=3", "auth.strategy=local"])
        guard case .tree(depth: 3, fanout: 2) = s.mesh?.graph else { return XCTFail("\(String(describing: s.mesh?.graph))") }
        XCTAssertEqual(s.auth?.strategy, .local)
        let byName = try ScenarioLoader.parse(yaml: explicit, file: "o.yaml",
                                              overrides: ["services.list.orders.replicas=5", "services.defaults.call.retries=0"])
        guard case .explicit(let services) = byName.mesh?.graph else { return XCTFail() }
        XCTAssertEqual(services[1].replicas, 5)
        XCTAssertEqual(services[0].calls[1].retries, 0)
        let bad = scenarioErrors(explicit, overrides: ["auth.strategy=centrl"])
        XCTAssertEqual(bad.map(\.description), [
            "--set:1:15: auth.strategy: expected one of central, local, hybrid, none, found 'centrl' (did you mean 'central'?)",
        ])
    }

    // MARK: Errors

    func testGraphAndListTogether() {
        let errors = scenarioErrors("""
            duration: 1s
            services:
              graph: { shape: tree, depth: 1, fanout: 2 }
              list: [{ name: api }]
            """)
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 4, column: 3))
        XCTAssertEqual(errors[0].keyPath, "services")
        XCTAssertEqual(errors[0].expected, "only one of graph, list (a generated or a written-out call graph)")
        XCTAssertEqual(errors[0].found, "'graph' and 'list'")

        let neither = scenarioErrors("duration: 1s\nservices: { defaults: { replicas: 2 } }\n")
        XCTAssertEqual(neither.map(\.description), [
            "bad.yaml:2:11: services: expected one of graph, list (a generated or a written-out call graph), found none of them",
        ])
    }

    func testUnknownKeysWithHints() {
        let errors = scenarioErrors("""
            duration: 1s
            services:
              graph: { shape: tree, depth: 1, fanotu: 2 }
              defualts: { replicas: 2 }
            auth: { stratgy: local, tokens: { relam: services } }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:35: services.graph.fanotu: expected one of the keys shape, depth, fanout, found unknown key 'fanotu' (did you mean 'fanout'?)",
            "bad.yaml:3:10: services.graph.fanout: expected a fanout ≥ 1 (calls each service makes), found no 'fanout' key ('fanout' is required)",
            "bad.yaml:4:3: services.defualts: expected one of the keys graph, list, defaults, latency, slow_threshold, found unknown key 'defualts' (did you mean 'defaults'?)",
            "bad.yaml:5:9: auth.stratgy: expected one of the keys strategy, tokeninfo, central, local, verify_cost, leeway, tokens, key_rotation, forged_tokens, revocations, found unknown key 'stratgy' (did you mean 'strategy'?)",
            "bad.yaml:5:35: auth.tokens.relam: expected one of the keys realm, clients, refresh_at, refresh_retry, lifetimes, found unknown key 'relam' (did you mean 'realm'?)",
        ].sortedByPosition)
        let shape = scenarioErrors("duration: 1s\nservices: { graph: { shape: layerd, layers: 2 } }\n")
        XCTAssertEqual(shape.map(\.description), [
            "bad.yaml:2:29: services.graph.shape: expected one of tree, layered, random-dag, found 'layerd' (did you mean 'layered'?)",
        ])
        let otherShape = scenarioErrors("duration: 1s\nservices: { graph: { shape: tree, depth: 1, fanout: 2, width: 3 } }\n")
        XCTAssertEqual(otherShape.first?.keyPath, "services.graph.width")
        XCTAssertEqual(otherShape.first?.expected, "one of the keys shape, depth, fanout")
    }

    func testBadCallTargets() {
        let errors = scenarioErrors(explicit
            .replacingOccurrences(of: "- payments\n", with: "- paymnets\n")
            .replacingOccurrences(of: "calls: [{ to: payments, timeout: never }]", with: "calls: [{ to: orders }]"))
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:15:11: services.list[0].calls[1]: expected a service of services.list (api, orders, payments), found unknown service 'paymnets' (did you mean 'payments'?)",
            "bad.yaml:17:21: services.list[1].calls[0].to: expected a service other than the caller itself, found 'orders'",
        ])
    }

    func testCycleIsReportedWithItsPath() {
        let errors = scenarioErrors("""
            duration: 1s
            services:
              list:
                - { name: a, calls: [b] }
                - { name: b, calls: [c, d] }
                - { name: c, calls: [a] }
                - { name: d }
            """)
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 6, column: 26))
        XCTAssertEqual(errors[0].keyPath, "services.list[2].calls[0]")
        XCTAssertEqual(errors[0].expected, "calls that form no cycle (the call graph must be acyclic)")
        XCTAssertEqual(errors[0].found, "the cycle a → b → c → a")
    }

    func testDuplicateAndReservedServiceNames() {
        let errors = scenarioErrors("""
            duration: 1s
            services:
              list:
                - { name: api }
                - { name: api }
                - { name: tokeninfo }
                - { name: zone(a) }
            """)
        XCTAssertEqual(errors.map(\.keyPath), ["services.list[1].name", "services.list[2].name", "services.list[3].name"])
        XCTAssertEqual(errors[0].found, "'api' again")
        XCTAssertTrue(errors[1].expected.contains("does not use itself"), errors[1].expected)
    }

    func testAuthNeedsServices() {
        let errors = scenarioErrors("duration: 1s\nauth: { strategy: local }\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:2:1: auth: expected auth together with a call graph or an organisation (auth: needs services: or organisation:), "
                + "found no services: or organisation: section",
        ])
    }

    func testCallsNeedServices() {
        let errors = scenarioErrors("duration: 1s\nworkload:\n  - calls: { rate: 10/s }\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:3:12: workload[0].calls: expected calls into a call graph or an organisation (calls need a services: or organisation: "
                + "section), found no services: or organisation: section",
        ])
        let entry = scenarioErrors(explicit.replacingOccurrences(of: "entry: api", with: "entry: apj"))
        XCTAssertEqual(entry.map(\.description), [
            "bad.yaml:23:21: workload[0].calls.entry: expected a service of the call graph (api, orders, payments), found unknown service 'apj' (did you mean 'api'?)",
        ])
        let typo = scenarioErrors(explicit.replacingOccurrences(of: "- calls: { rate: { constant", with: "- call: { rate: { constant"))
        XCTAssertEqual(typo.first?.keyPath, "workload[1].call")
        XCTAssertEqual(typo.first?.hint, "did you mean 'calls'?")
    }

    func testBadStrategyAndAuthValues() {
        let errors = scenarioErrors("""
            duration: 1s
            cluster: { zones: [a, b] }
            services: { graph: { shape: tree, depth: 1, fanout: 2 } }
            auth:
              strategy: hybird
              local: { unknown_kid: refech, revocation_poll: 0s }
              tokens: { realm: partner, refresh_at: 0% }
              tokeninfo: { zones: [c] }
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:5:13: auth.strategy: expected one of central, local, hybrid, none, found 'hybird' (did you mean 'hybrid'?)",
            "bad.yaml:6:25: auth.local.unknown_kid: expected reject or refetch, found 'refech' (did you mean 'refetch'?)",
            "bad.yaml:6:50: auth.local.revocation_poll: expected a positive duration such as 10s, or never, found '0s'",
            "bad.yaml:7:20: auth.tokens.realm: expected a realm with a token lifetime (customers, employees, guest-customers, services), found 'partner'",
            "bad.yaml:7:41: auth.tokens.refresh_at: expected a fraction of the token lifetime above 0, such as 80%, found '0%'",
            "bad.yaml:8:24: auth.tokeninfo.zones[0]: expected a zone of the cluster (a, b), found 'c'",
        ])
    }

    func testUnknownServiceSelector() {
        let errors = scenarioErrors(explicit.replacingOccurrences(of: "crash: service(orders)", with: "crash: service(order)"))
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].location, SourceLocation(file: "bad.yaml", line: 27, column: 22))
        XCTAssertEqual(errors[0].keyPath, "faults[0].crash")
        XCTAssertEqual(errors[0].expected, "a service of the call graph (api, orders, payments, tokeninfo)")
        XCTAssertEqual(errors[0].found, "unknown service 'order'")
        XCTAssertEqual(errors[0].hint, "did you mean 'orders'?")

        let noMesh = scenarioErrors("duration: 1s\nfaults: [{ at: 1s, crash: service(api) }]\n")
        XCTAssertEqual(noMesh.first?.expected, "a service of the call graph (this scenario has no services: section)")
        let slowdown = scenarioErrors(explicit.replacingOccurrences(of: "station: payments", with: "station: paymnts"))
        XCTAssertEqual(slowdown.first?.found, "unknown station or service 'paymnts'")
        XCTAssertEqual(slowdown.first?.hint, "did you mean 'payments'?")
        XCTAssertEqual(Selector(parsing: "service(api)"), .service("api"))
        XCTAssertEqual(Selector.service("api").description, "service(api)")
    }

    func testMeshChecksNeedServices() {
        let errors = scenarioErrors("duration: 1s\nchecks: [no_accepted_invalid]\n")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:2:10: checks[0]: expected a check of the models this scenario runs (no_accepted_invalid needs services: or organisation:), found 'no_accepted_invalid'",
        ])
    }

    func testOversizedGeneratedGraphs() {
        let tree = scenarioErrors("duration: 1s\nservices:\n  graph: { shape: tree, depth: 10, fanout: 4 }\n")
        XCTAssertEqual(tree.map(\.description), [
            "bad.yaml:3:10: services.graph: expected a call graph of at most 100000 services, found a tree of depth 10 and fanout 4 with 1398101 services",
        ])
        let huge = scenarioErrors("duration: 1s\nservices:\n  graph: { shape: tree, depth: 1000000000, fanout: 1000 }\n")
        XCTAssertEqual(huge.first?.expected, "a call graph of at most 100000 services")
        let chain = scenarioErrors("duration: 1s\nservices:\n  graph: { shape: tree, depth: 100000, fanout: 1 }\n")
        XCTAssertEqual(chain.first?.found, "a tree of depth 100000 and fanout 1 with 100001 services")
        let layered = scenarioErrors("duration: 1s\nservices:\n  graph: { shape: layered, layers: 1000, width: 1000, edges: 2 }\n")
        XCTAssertEqual(layered.first?.found, "1000 layers of 1000 with 1000000 services")
        let dag = scenarioErrors("duration: 1s\nservices:\n  graph: { shape: random-dag, services: 100001, edge_probability: 1.5 }\n")
        XCTAssertEqual(dag.map(\.keyPath), ["services.graph.edge_probability"])
        XCTAssertNoThrow(try ScenarioLoader.parse(
            yaml: "duration: 1s\nservices:\n  graph: { shape: random-dag, services: 100000, edge_probability: 0 }\n", file: "ok.yaml"))
    }

    func testProcessNamesMustNotClashWithClusterNodes() {
        let errors = scenarioErrors("""
            duration: 1s
            cluster: { nodes: [n1, jwks] }
            services: { list: [{ name: api }] }
            """)
        XCTAssertEqual(errors.count, 1, "\(errors)")
        XCTAssertEqual(errors[0].keyPath, "services")
        XCTAssertTrue(errors[0].found.contains("cluster node 'jwks'"), errors[0].found)
    }
}

private extension Array where Element == String {
    /// Error descriptions sorted as `ScenarioErrors` sorts them (by line, then column).
    var sortedByPosition: [String] {
        func key(_ text: String) -> (Int, Int) {
            let parts = text.split(separator: ":")
            return (Int(parts[1]) ?? 0, Int(parts[2]) ?? 0)
        }
        return sorted { key($0) < key($1) }
    }
}
