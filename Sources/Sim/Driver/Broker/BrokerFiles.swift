import Foundation
import LogStore
import Raft
import Replication
import SimCore
import SimStorage

/// A simulated broker's files: the live broker's stores (LogStore: segment format, CRC-32C
/// records, offset indexes, checkpoints, recovery) on the node's simulated disk. Open files are
/// volatile process state, dropped at a crash; a restart opens the stores again and recovers.
struct BrokerFiles: Sendable {
    /// The seam the stores write through; the driver lends it the process's disk per operation.
    let fileSystem: SimDiskFileSystem
    let raft: RaftLogStore
    /// By stream index; nil where the node holds no replica.
    let streams: [StreamLogStore?]

    static let raftDirectory = "/raft"
    static func streamDirectory(_ name: String) -> String { "/streams/" + name }
}

/// What a node's stores recovered at boot.
struct RecoveredFiles {
    var files: BrokerFiles
    var hardState: HardState
    var raftLog: [RaftEntry<MetadataCommand>]
    var streams: [RecoveredLog?]
}

extension BrokerModel {
    /// Opens the node's stores and runs their recovery: records checked by CRC, the log cut at
    /// the first bad one (a torn write, a flipped bit), indexes rebuilt. Recovery takes no
    /// virtual time and its repairs are durable before the node starts, as `recover()` returns
    /// only after its fsyncs on a live node.
    mutating func recoverBrokerFiles(_ node: NodeID, _ cluster: inout VirtualCluster) throws -> RecoveredFiles {
        let names = world.streamNames
        let hosts = world.hosts[node]
        let fileSystem = SimDiskFileSystem()
        var cuts: [(log: String, bytes: UInt64)] = []
        let recovered = try fileSystem.lending(&cluster.processes[node].disk) { () throws -> RecoveredFiles in
            let raft = try RaftLogStore(directory: URL(fileURLWithPath: BrokerFiles.raftDirectory, isDirectory: true), files: fileSystem)
            let (hardState, raftLog) = try raft.recover()
            if raft.bytesCutByRecovery > 0 { cuts.append(("raft", raft.bytesCutByRecovery)) }
            var stores: [StreamLogStore?] = Array(repeating: nil, count: names.count)
            var logs: [RecoveredLog?] = Array(repeating: nil, count: names.count)
            for stream in names.indices where hosts[stream] {
                let store = try StreamLogStore(
                    directory: URL(fileURLWithPath: BrokerFiles.streamDirectory(names[stream]), isDirectory: true), files: fileSystem)
                logs[stream] = try store.recover()
                if store.bytesCutByRecovery > 0 { cuts.append((names[stream], store.bytesCutByRecovery)) }
                stores[stream] = store
            }
            fileSystem.completeFsyncs()
            return RecoveredFiles(files: BrokerFiles(fileSystem: fileSystem, raft: raft, streams: stores),
                                  hardState: hardState, raftLog: raftLog, streams: logs)
        }
        for cut in cuts {
            world.recoveryCuts += 1
            world.recoveryCutBytes += cut.bytes
            if let sink = cluster.traceSink {
                var line = TraceLine(time: cluster.now, sequence: 0, kind: "log_cut_on_recovery")
                line.add("node", cluster.processes[node].name)
                line.add("log", cut.log)
                line.add("bytes", cut.bytes)
                sink.write(line: line.json)
            }
        }
        return recovered
    }

    /// A node whose files cannot be recovered (a flipped bit in its Raft hard state: guessing a
    /// term and vote could let it vote twice) does not start, as the live broker refuses to.
    mutating func brokerFailedToStart(_ node: NodeID, _ error: Error, _ cluster: inout VirtualCluster) {
        if let sink = cluster.traceSink {
            var line = TraceLine(time: cluster.now, sequence: 0, kind: "broker_failed_to_start")
            line.add("node", cluster.processes[node].name)
            line.add("error", "\(error)")
            sink.write(line: line.json)
        }
    }

    /// Runs store operations on the node's disk; adds their bytes and fsyncs to the run's totals
    /// and returns the virtual time they take. The fsyncs they began stay in
    /// `fileSystem.tickets` for the caller to complete when that time has passed.
    mutating func onDisk(_ node: NodeID, _ fileSystem: SimDiskFileSystem, _ cluster: inout VirtualCluster, _ body: () throws -> Void) -> Int64 {
        fileSystem.resetCost()
        do {
            try fileSystem.lending(&cluster.processes[node].disk, body)
        } catch {
            // The simulated disk never fails a call: an error is the driver and the store
            // disagreeing about the log, a bug to surface, not a fault to model.
            preconditionFailure("simulated storage of \(cluster.processes[node].name): \(error)")
        }
        world.diskBytesWritten += UInt64(fileSystem.bytesWritten)
        world.fsyncs += UInt64(fileSystem.syncs)
        return fileSystem.latency
    }

    /// A stream store operation on `node` (see `onDisk`).
    mutating func onStreamStore(_ node: NodeID, _ stream: Int, _ cluster: inout VirtualCluster, _ body: (StreamLogStore) throws -> Void) -> (latency: Int64, fileSystem: SimDiskFileSystem) {
        let files = world.files[node]!
        let store = files.streams[stream]!
        return (onDisk(node, files.fileSystem, &cluster) { try body(store) }, files.fileSystem)
    }

    /// Checkpoint files are replaced whole (temporary file, fsync, rename, directory fsync:
    /// Kafka's checkpoint files); durable once the replacement's fsyncs have completed.
    mutating func checkpoint(_ node: NodeID, _ stream: Int, _ cluster: inout VirtualCluster, _ write: (StreamLogStore) throws -> Void) {
        let (latency, fileSystem) = onStreamStore(node, stream, &cluster) { try write($0) }
        for ticket in fileSystem.tickets {
            world.nodes[node]!.checkpointTickets.append(ticket)
            cluster.schedule(.checkpointSynced(node: Int32(node), incarnation: cluster.processes[node].incarnation, ticket: ticket.id),
                           at: cluster.now + latency)
        }
    }
}
