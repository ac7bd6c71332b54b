import Foundation
import XCTest

/// The live PaaS acceptance test, through the CLI: `faultline load` starts the token provider,
/// a tokeninfo node and a two-service mesh as processes on loopback, drives a short open-loop
/// load for each strategy, simulates the same groups, and writes results in which every request
/// was authenticated at every hop.
final class PaaSLoadTests: XCTestCase {
    private func scenario(in dir: URL, forged: String = "5%", strategies: String = "[central, local, hybrid, none]") throws -> URL {
        let url = dir.appendingPathComponent("oauth.yaml")
        try """
        name: oauth-live-test
        duration: 3s
        warmup: 500ms
        seeds: 1
        cluster: { zones: [a] }
        services:
          list:
            - { name: api, calls: [orders] }
            - { name: orders }
          defaults: { replicas: 1, servers: 16, work: { exponential: 1ms }, call: { timeout: 1s } }
        auth:
          strategy: local
          tokeninfo: { nodes: 1, servers: 4, service: 200us }
          tokens: { realm: services, clients: 4, lifetimes: { services: 1h } }
          forged_tokens: \(forged)
        live: { connections: 2 }
        workload:
          - calls: { rate: { poisson: 100/s }, timeout: 2s }
        checks: [mesh_requests_accounted]
        compare:
          auth.strategy: \(strategies)
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testEveryStrategyAuthenticatesEveryHopLive() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let result = try CLI.run(["load", try scenario(in: dir).path, "--out", out.path, "--sim-seeds", "1",
                                  "--profile", try profile(in: dir).path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("## Simulated vs live"), result.stdout)

        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let groups = try XCTUnwrap(summary["groups"] as? [[String: Any]])
        var seen: [String] = []
        for group in groups {
            let parameters = try XCTUnwrap(group["parameters"] as? [String: String])
            guard parameters["driver"] == "live", let strategy = parameters["auth.strategy"] else { continue }
            seen.append(strategy)
            let metrics = try XCTUnwrap(group["metrics"] as? [String: [String: Any]])
            func value(_ name: String) -> Double? { metrics[name]?["mean"] as? Double }
            let sent = try XCTUnwrap(value("requests_sent"), strategy)
            let ok = try XCTUnwrap(value("requests_ok"), strategy)
            let forgedRejected = try XCTUnwrap(value("rejected_invalid"), strategy)
            let forgedAccepted = try XCTUnwrap(value("accepted_forged"), strategy)
            XCTAssertGreaterThan(sent, 250, strategy)
            XCTAssertEqual(value("unvalidated_hops"), 0, strategy)
            XCTAssertEqual(value("rejected_valid"), 0, strategy)
            XCTAssertEqual(value("timeouts"), 0, strategy)
            XCTAssertNotNil(metrics["request_latency"]?["p99"], strategy)
            // The validators' counters came from the mesh's /metrics.
            let validations = try XCTUnwrap(value("hop_validations"), strategy)
            if strategy == "none" {
                // No validation at all: forged tokens get through (the baseline's cost).
                XCTAssertGreaterThan(forgedAccepted, 0)
                XCTAssertEqual(ok + forgedAccepted, sent)
            } else {
                // Every legitimate request answered 200 with both hops validating; every forgery refused.
                XCTAssertEqual(forgedAccepted, 0, strategy)
                XCTAssertGreaterThan(forgedRejected, 0, strategy)
                XCTAssertEqual(ok + forgedRejected, sent, strategy)
                XCTAssertGreaterThanOrEqual(validations, 2 * ok, strategy)
                let checks = try XCTUnwrap(group["checks"] as? [String: [String: Any]])
                XCTAssertEqual(checks["hops_validated"]?["passed"] as? Bool, true, strategy)
            }
            if strategy == "central" { XCTAssertGreaterThanOrEqual(try XCTUnwrap(value("tokeninfo_requests")), ok) }
            if strategy == "local" {
                XCTAssertGreaterThanOrEqual(try XCTUnwrap(value("local_verifications")), 2 * ok)
                XCTAssertEqual(value("tokeninfo_requests"), 0)
            }
        }
        XCTAssertEqual(seen.sorted(), ["central", "hybrid", "local", "none"])
        let simVsLive = try XCTUnwrap(summary["sim_vs_live"] as? [[String: Any]])
        XCTAssertEqual(simVsLive.filter { $0["metric"] as? String == "request_latency" }.count, 4)
        // Logs of every process stay in the run folder.
        let logs = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("paas/logs").path)
        XCTAssertTrue(logs.contains("token-provider.log") && logs.contains("tokeninfo-r1.log") && logs.contains("mesh-local.log"), "\(logs)")
    }

    /// `calibrate` measures and writes a profile; `run --profile` accepts it.
    private func profile(in dir: URL) throws -> URL {
        let path = dir.appendingPathComponent("profile.yaml")
        let result = try CLI.run(["calibrate", try scenario(in: dir).path, "--out", path.path, "--samples", "50"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let text = try String(contentsOf: path, encoding: .utf8)
        for key in ["auth.verify_cost=", "auth.tokeninfo.service=", "services.latency.same_host=", "services.latency.same_zone="] {
            XCTAssertTrue(text.contains(key), text)
        }
        return path
    }

    func testCalibrationProfileAppliesToSimulation() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = dir.appendingPathComponent("profile.yaml")
        // A hand-written profile: a huge verify cost must show in the simulated auth latency.
        try """
        calibration: { host: test }
        set:
          - "auth.verify_cost=20ms"
        """.write(to: profile, atomically: true, encoding: .utf8)
        let scenario = try scenario(in: dir, forged: "0%", strategies: "[local]")
        let out = dir.appendingPathComponent("out")
        let result = try CLI.run(["run", scenario.path, "--profile", profile.path, "--seeds", "1", "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let data = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let metrics = try XCTUnwrap(summary["metrics"] as? [String: [String: Any]])
        XCTAssertGreaterThan(try XCTUnwrap(metrics["auth_latency"]?["p50"] as? Double), 19)

        try "set: [\"no-equals-sign\"]\n".write(to: profile, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["run", scenario.path, "--profile", profile.path, "--seeds", "1"])
        XCTAssertEqual(bad.status, 2, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stderr.contains("profile.yaml"), bad.stderr)
    }

    func testBadPaaSInputExitsTwo() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try CLI.run(["serve", "tokeninfo", "--config", dir.appendingPathComponent("nope.json").path])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nope.json"), missing.stderr)
        let target = try CLI.run(["load", try scenario(in: dir).path, "--target", "nats-jetstream"])
        XCTAssertEqual(target.status, 2, target.stderr)
        // A fault live OAuth runs cannot inject is refused up front (it used to be skipped).
        let url = try scenario(in: dir)
        try (try String(contentsOf: url, encoding: .utf8)
             + "\nfaults:\n  - { at: 1s, slowdown: { station: tokeninfo, factor: 3 }, for: 1s }\n").write(to: url, atomically: true, encoding: .utf8)
        let fault = try CLI.run(["load", url.path, "--out", dir.appendingPathComponent("out").path])
        XCTAssertEqual(fault.status, 2, fault.stdout + fault.stderr)
        XCTAssertTrue(fault.stderr.contains(":") && fault.stderr.contains("faults.slowdown"), fault.stderr)
    }
}
