import Links
import Sampling

extension NetworkModel {
    /// Carries out the network operations of the cluster-control protocol (partitions, one-way
    /// blocks, heals, extra delay, loss, duplication and bandwidth, resets, clearing links; `now`
    /// dates a reset) — one mapping for the
    /// simulator's network and the live fault proxy. Returns false for operations that are not
    /// the network's (processes, clocks, disks, model faults): the driver carries those out.
    public mutating func apply(_ operation: ClusterOperation, now: VirtualTime) -> Bool {
        switch operation {
        case .partition(let groups):
            partition(groups: groups)
        case .block(let from, let to):
            block(from: from, to: to)
        case .healPartitions:
            healPartitions()
        case .healAll:
            healPartitions()
            clearAllLinkFaults()
        case .delay(let pairs, let extra):
            for pair in pairs { addDelay(from: pair.from, to: pair.to, extra: extra) }
        case .loss(let pairs, let probability):
            for pair in pairs { setFaultLoss(from: pair.from, to: pair.to, probability: probability) }
        case .duplicate(let pairs, let probability):
            for pair in pairs { setFaultDuplicate(from: pair.from, to: pair.to, probability: probability) }
        case .reset(let pairs):
            for pair in pairs { reset(from: pair.from, to: pair.to, at: now) }
        case .bandwidth(let pairs, let rate):
            for pair in pairs { setFaultBandwidth(from: pair.from, to: pair.to, bytesPerSecond: rate) }
        case .clearLinks(let pairs):
            for pair in pairs { clearLinkFaults(from: pair.from, to: pair.to) }
        case .crash, .restart, .pause, .resume, .clock, .disk, .model:
            return false
        }
        return true
    }
}

extension ClusterOperation {
    /// Whether this operation acts on the network (links and partitions).
    public var isNetwork: Bool {
        switch self {
        case .partition, .block, .healPartitions, .healAll, .delay, .loss, .duplicate, .bandwidth, .reset, .clearLinks: true
        case .crash, .restart, .pause, .resume, .clock, .disk, .model: false
        }
    }
}
