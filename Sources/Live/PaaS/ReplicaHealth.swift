import LiveHTTP
import NIOCore
import Synchronization

/// The live mesh's health checks (`services.defaults.health_checks`): one checker per callee
/// service polls each replica's `/health` and keeps what it last saw; callers then skip replicas
/// believed down (`CallRules.replica`, the simulator's rule). The simulator's checks notice a
/// crash at once; live ones take up to one interval plus the probe's timeout.
final class ReplicaHealth: Sendable {
    let service: String
    let pools: [HTTPConnectionPool]
    let interval: Duration
    let probeTimeout: TimeAmount
    private let up: Mutex<[Bool]>
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(service: String, pools: [HTTPConnectionPool], interval: Duration = .milliseconds(100),
         probeTimeout: TimeAmount = .milliseconds(200)) {
        self.service = service
        self.pools = pools
        self.interval = interval
        self.probeTimeout = probeTimeout
        up = Mutex(Array(repeating: true, count: pools.count))  // optimistic until a probe fails
    }

    func isUp(_ replica: Int) -> Bool { up.withLock { $0[replica] } }

    /// The result of one probe of `replica` (a health-check result is an input like any other).
    func record(_ replica: Int, healthy: Bool) { up.withLock { $0[replica] = healthy } }

    func start() {
        let probe = HTTPRequestSpec(method: "GET", target: "/health", headers: [])
        task.withLock { current in
            guard current == nil else { return }
            current = Task { [self] in
                while !Task.isCancelled {
                    for (replica, pool) in pools.enumerated() {
                        let healthy = (try? await pool.send(probe, timeout: probeTimeout))?.status == 200
                        record(replica, healthy: healthy)
                    }
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    func stop() {
        task.withLock { current in
            current?.cancel()
            current = nil
        }
    }
}
