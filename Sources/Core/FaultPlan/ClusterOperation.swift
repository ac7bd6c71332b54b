import Sampling
import Scenario

/// One directed link between two nodes.
public struct LinkPair: Sendable, Equatable {
    public var from: ClusterNode
    public var to: ClusterNode
    public init(from: ClusterNode, to: ClusterNode) {
        self.from = from
        self.to = to
    }
}

/// The cluster-control protocol: the primitive operations a fault comes down to, which each
/// driver carries out its own way (the simulator on its virtual processes and network; a live
/// run with signals, and — with the chaos runner — namespaces, nftables and its fault proxy).
/// Nodes are already resolved, so carrying out an operation draws no randomness.
public enum ClusterOperation: Sendable {
    case crash([ClusterNode])
    case restart([ClusterNode])
    case pause([ClusterNode])
    /// Resume whichever of these nodes are paused.
    case resume([ClusterNode])
    case partition(groups: [[ClusterNode]])
    case block(from: [ClusterNode], to: [ClusterNode])
    case healPartitions
    /// Heal every partition and clear every link fault.
    case healAll
    case delay([LinkPair], extra: Distribution)
    case loss([LinkPair], probability: Double)
    case duplicate([LinkPair], probability: Double)
    case bandwidth([LinkPair], bytesPerSecond: Double)
    /// Reset the links' connections: what is in flight on them is lost.
    case reset([LinkPair])
    case clearLinks([LinkPair])
    case clock([ClusterNode], ClockChange)
    case disk([ClusterNode], DiskFault)
    /// A fault of a model's own state rather than of processes or links (slowing a station or
    /// service, an account compromise or API storm): the driver interprets it.
    case model(FaultAction)
}

/// What undoes a fault once its `for:` (or the nemesis's heal delay) is over.
public enum FaultUndo: Sendable, Equatable {
    case restart([ClusterNode])
    case resume([ClusterNode])
    case healPartitions
    case clearLinks([LinkPair])
    /// Clock or disk settings, slowdowns or storms go back to what the driver saved when the
    /// fault fired (the values are the driver's: a simulated clock is not a live one).
    case restoreSaved

    /// The operation that carries out this undo (nil: the driver restores what it saved).
    public var operation: ClusterOperation? {
        switch self {
        case .restart(let nodes): .restart(nodes)
        case .resume(let nodes): .resume(nodes)
        case .healPartitions: .healPartitions
        case .clearLinks(let pairs): .clearLinks(pairs)
        case .restoreSaved: nil
        }
    }
}

/// A fault, resolved: what to do now and what will undo it.
public struct PlannedFault: Sendable {
    public var operations: [ClusterOperation]
    /// Nil: nothing to undo (a restart, a heal, a compromise, or a fault that hit nothing the
    /// driver can restore).
    public var undo: FaultUndo?
    /// The nodes the fault hit, for traces and logs.
    public var targets: [ClusterNode]
}
