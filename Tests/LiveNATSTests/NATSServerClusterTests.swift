import Foundation
import LiveNATS
import XCTest

final class NATSServerClusterTests: XCTestCase {
    func testClusterStopsAndRestartsItsProcesses() async throws {
        try await withCluster { cluster in
            let firstPid = try XCTUnwrap(cluster.pids.first)
            try await cluster.restart(node: 0)
            let secondPid = try XCTUnwrap(cluster.pids.first)
            XCTAssertNotEqual(firstPid, secondPid)
            XCTAssertEqual(kill(firstPid, 0), -1, "old process gone")
            let connection = try await connect(cluster)
            try await connection.flush()
            try await connection.close()
            cluster.stop()
            XCTAssertEqual(cluster.pids, [])
            XCTAssertEqual(kill(secondPid, 0), -1, "stopped process gone")
        }
    }

    func testConfigRoutesEachNodeToTheOthers() async throws {
        try await withCluster(nodes: 3, jetstream: true) { cluster in
            XCTAssertEqual(Set(cluster.clientPorts).count, 3)
            XCTAssertEqual(cluster.pids.count, 3)
            let config = try String(contentsOf: cluster.nodes[0].configFile, encoding: .utf8)
            XCTAssertTrue(config.contains("server_name: \"n1\""))
            XCTAssertTrue(config.contains("nats-route://127.0.0.1:\(cluster.nodes[1].clusterPort)"))
            XCTAssertTrue(config.contains("nats-route://127.0.0.1:\(cluster.nodes[2].clusterPort)"))
            XCTAssertTrue(config.contains("store_dir"))
            // Every node answers the JetStream API: the meta leader is known cluster-wide.
            for node in 0..<3 {
                let connection = try await connect(cluster, node: node)
                _ = try await JetStream(connection: connection).accountInfo()
                try await connection.close()
            }
        }
    }
}
