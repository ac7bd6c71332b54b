import Raft
import Replication

/// What one broker node sends another over its peer TCP connection: a greeting that says who is
/// calling, the metadata group's Raft traffic, and stream replication (fetches and the
/// epoch-end-offset exchange). One enum gives one type-code table, one codec and one decoder per
/// connection, whichever of the two protocols a message belongs to.
///
/// Strings travel as u16 length + UTF-8, so stream names, subjects and cluster ids must be at most
/// 65 535 UTF-8 bytes; encoding a longer one is a programmer error (precondition).
public enum PeerMessage: Sendable, Equatable {
    /// The first frame each side sends. A receiver closes the connection when `clusterID` is not
    /// its own (a mis-addressed broker must not vote in our elections) or `protocolVersion` is
    /// one it does not speak.
    case hello(from: BrokerID, clusterID: String, protocolVersion: UInt16)
    /// The metadata Raft group (the `RaftNode<MetadataCommand>` of `BrokerCore`).
    case raft(RaftMessage<MetadataCommand>)
    case replication(ReplicationMessage)
    /// A metadata command forwarded to the metadata leader (`BrokerCore.Route.forward`): stream
    /// replicas propose ISR and leader changes from whichever node they run on.
    case proposal(MetadataCommand)
}
