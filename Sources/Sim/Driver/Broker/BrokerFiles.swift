import ArrayClearing
import Foundation
import LogStore
import Raft
import Replication
import SimCore
import SimStorage

/// A simulated broker's files: the live broker's `NodeStore` (LogStore: segment format, CRC-32C
/// records, offset indexes, checkpoints, recovery, the group-commit batch rule) on the node's
/// simulated disk. Open files are volatile process state, dropped at a crash; a restart opens
/// the store again and recovers.
struct BrokerFiles: Sendable {
    /// The seam the store writes through; the driver lends it the process's disk per batch.
    let fileSystem: SimDiskFileSystem
    let store: NodeStore
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
            let store = try NodeStore(root: "", files: fileSystem)
            let (hardState, raftLog) = try store.recoverRaft()
            var logs: [RecoveredLog?] = Array(repeating: nil, count: names.count)
            for stream in names.indices where hosts[stream] {
                logs[stream] = try store.recoverStream(names[stream])
            }
            cuts = store.recoveryCuts
            fileSystem.completeFsyncs()
            return RecoveredFiles(files: BrokerFiles(fileSystem: fileSystem, store: store),
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

    /// Queues a disk operation on the node (group commit) and starts a batch if none runs.
    mutating func store(_ op: StorageOp, completion: SimulatedBroker.StorageCompletion? = nil, on node: NodeID,
                        _ cluster: inout VirtualCluster) {
        world.nodes[node]!.storage.submit(op, completion: completion)
        runStorage(node, &cluster)
    }

    /// Runs the node's next batch on its disk, if one is due: the writes land now (a crash
    /// before the batch is done loses what its fsyncs had not made durable yet); the batch is
    /// done after the virtual time its writes and fsyncs take one after another, as on a
    /// storage thread.
    mutating func runStorage(_ node: NodeID, _ cluster: inout VirtualCluster) {
        guard let ops = world.nodes[node]!.storage.nextBatch() else { return }
        let files = world.files[node]!
        let fileSystem = files.fileSystem
        fileSystem.resetCost()
        do {
            _ = try fileSystem.lending(&cluster.processes[node].disk) { try files.store.run(ops) }
        } catch {
            // The simulated disk never fails a call: an error is the driver and the store
            // disagreeing about the log, a bug to surface, not a fault to model.
            preconditionFailure("simulated storage of \(cluster.processes[node].name): \(error)")
        }
        world.diskBytesWritten += UInt64(fileSystem.bytesWritten)
        world.fsyncs += UInt64(fileSystem.syncs)
        world.nodes[node]!.batchTickets.append(contentsOf: fileSystem.tickets)
        cluster.schedule(.storageBatchDone(node: Int32(node), incarnation: cluster.processes[node].incarnation),
                         at: cluster.now + fileSystem.latency)
    }

    /// Whether the node's batch due now synced anything on a disk whose fsyncs fail: then the
    /// run fail-stops the node instead of completing the batch. (A paused node's batch waits
    /// for the resume and is judged then.)
    /// `inout` only so that the cluster is not copied per storage batch (see `placementLatency`);
    /// `mutating` only so that the model is not: called through `broker?`, a non-mutating method
    /// copied the whole model (880 bytes) per batch.
    mutating func batchFsyncFailed(_ node: NodeID, _ incarnation: UInt32, _ cluster: inout VirtualCluster) -> Bool {
        guard node < world.up.count, world.up[node], cluster.processes[node].incarnation == incarnation,
              cluster.processes[node].state == .running, cluster.processes[node].disk.config.fsyncFails,
              let broker = world.nodes[node] else { return false }
        return !broker.batchTickets.isEmpty
    }

    /// The node's batch is done: its fsyncs complete, then its completions reach the protocol
    /// in the order asked for (and whatever they ask of the disk forms the next batch).
    mutating func storageBatchDone(_ node: NodeID, _ cluster: inout VirtualCluster) {
        for ticket in world.nodes[node]!.batchTickets { cluster.processes[node].disk.completeFsync(ticket) }
        world.nodes[node]!.batchTickets.clearKeepingCapacity()
        let completions = world.nodes[node]!.storage.finish()
        for completion in completions {
            guard world.up[node] else { return }
            switch completion {
            case .appended(let stream, let upTo): replicaInput(node, stream, .appendCompleted(upTo: upTo), &cluster)
            case .fsynced(let stream, let upTo): replicaInput(node, stream, .fsyncCompleted(upTo: upTo), &cluster)
            case .raftPersisted: raftPersisted(node, &cluster)
            }
        }
        if world.up[node] { runStorage(node, &cluster) }
    }
}
