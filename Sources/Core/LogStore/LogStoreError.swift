#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum LogStoreError: Error, Equatable, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// `recover()` must run before the log is read or written.
    case notRecovered
    /// An earlier write failed half-way; what is on disk is unknown until `recover()` runs again.
    case failed
    case closed
    /// An append that does not start at the log end (or is not dense).
    case nonContiguousAppend(expected: UInt64, found: UInt64)
    /// An append whose epoch (stream) or term (Raft) is below the last stored one: recovery
    /// would discard it, so it is refused up front.
    case epochWentBackwards(position: UInt64, epoch: UInt64, previous: UInt64)
    /// A record that failed its checksum or framing after recovery (a disk error under us).
    case corruptRecord(path: String, position: UInt64)
    /// A record whose checksum holds but whose content does not decode: written by an
    /// incompatible version. Recovery refuses it rather than discarding intact data.
    case undecodableRecord(path: String, position: UInt64)
    /// A Raft hard-state file that exists but fails its checksum (see `RaftLogStore.recover`).
    case corruptCheckpoint(path: String)

    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .notRecovered: "the store was not recovered"
        case .failed: "an earlier write failed; recover the store again"
        case .closed: "the store is closed"
        case .nonContiguousAppend(let expected, let found):
            "append starts at \(found), expected \(expected)"
        case .epochWentBackwards(let position, let epoch, let previous):
            "entry \(position) has epoch/term \(epoch) below \(previous)"
        case .corruptRecord(let path, let position): "corrupt record at \(position) in \(path)"
        case .undecodableRecord(let path, let position): "undecodable record at \(position) in \(path)"
        case .corruptCheckpoint(let path): "corrupt checkpoint \(path)"
        }
    }
}

/// The life of a store: reads and writes only between `recover()` and `close()`, and none after
/// a failed write until the next `recover()`.
enum StoreState {
    case unrecovered, open, failed, closed

    func checkOpen() throws {
        switch self {
        case .open: return
        case .unrecovered: throw LogStoreError.notRecovered
        case .failed: throw LogStoreError.failed
        case .closed: throw LogStoreError.closed
        }
    }
}
