import SimCore
import Stations

/// The bare queueing model: Poisson-style arrivals into one `Station`, no clients,
/// network, faults or trace. It is what SimPy's textbook M/M/1 does, so `faultline bench`
/// and `scripts/bench-vs-simpy` use it to compare the two engines like for like (the full
/// station scenario adds two network hops, client bookkeeping and histograms per request).
public struct QueueOnlySimulation {
    enum Event: Sendable {
        case arrival
        case departure(server: Int32)
    }

    let interarrival: Distribution
    let service: Distribution
    var station: Station
    var arrivals: SeededGenerator
    var services: SeededGenerator
    var queue = EventQueue<Event>(capacity: 64)
    var arrivalTimes = ArrivalTimes()

    public init(servers: Int, interarrival: Distribution, service: Distribution, seed: UInt64) {
        let root = SeededGenerator(seed: seed)
        self.interarrival = interarrival
        self.service = service
        station = Station(.init(servers: servers))
        arrivals = root.stream("arrivals")
        services = root.stream("service")
    }

    /// Runs until `customers` have left; returns events processed and mean response time (ns).
    public mutating func run(customers: Int) -> (events: UInt64, meanResponseNanos: Double) {
        var events: UInt64 = 0
        var departed = 0
        var generated = 0
        var totalResponse = 0.0
        queue.schedule(.arrival, at: interarrival.sampleNanos(&arrivals))
        while departed < customers, let event = queue.popNext() {
            events += 1
            let now = event.time
            switch event.payload {
            case .arrival:
                let id = UInt64(generated)
                generated += 1
                arrivalTimes.arrived(at: now)
                if case .serve(_, let server) = station.arrive(id, at: now) {
                    queue.schedule(.departure(server: Int32(server)), at: now + service.sampleNanos(&services))
                }
                if generated < customers {
                    queue.schedule(.arrival, at: now + interarrival.sampleNanos(&arrivals))
                }
            case .departure(let server):
                let (done, next) = station.finish(server: Int(server), at: now)
                totalResponse += Double(now - arrivalTimes.departed(done))
                departed += 1
                if next != nil {
                    queue.schedule(.departure(server: server), at: now + service.sampleNanos(&services))
                }
            }
        }
        return (events, departed > 0 ? totalResponse / Double(departed) : 0)
    }
}

/// Arrival times of customers still in the system, by customer id (ids are dense, in
/// arrival order). FIFO service means ids leave nearly in order, so the times of customers
/// long gone are dropped from the front now and then.
struct ArrivalTimes {
    private var times: [VirtualTime] = []
    private var base: UInt64 = 0

    /// Records the next customer's arrival; its id is the number of arrivals before it.
    mutating func arrived(at time: VirtualTime) {
        times.append(time)
    }

    mutating func departed(_ id: UInt64) -> VirtualTime {
        let time = times[Int(id - base)]
        if times.count > 4096 && Int(id - base) > times.count / 2 {
            let drop = Int(id - base) / 2
            times.removeFirst(drop)
            base += UInt64(drop)
        }
        return time
    }
}
