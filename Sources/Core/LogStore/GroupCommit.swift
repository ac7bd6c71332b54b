import ArrayClearing

/// A node's storage queue with group commit, as both drivers run it: one batch at a time, and
/// everything asked for while a batch runs forms the next batch. `NodeStore.run` then covers a
/// whole batch with one fsync per stream (and one for Raft), which is what lets `fsync: always`
/// keep up with many publishers — and what makes an operation asked for mid-batch wait for the
/// rest of that batch *and* its own, a cost the simulator must charge as the live node pays it.
///
/// Sans-IO: the driver runs the batch (a storage thread live, the simulated disk in virtual time)
/// and reports it finished; `Completion` is whatever the driver needs to hand results back.
public struct GroupCommit<Completion> {
    // Three rotating buffers per kind (queued → running → finished → queued again): handing out
    // an array and then clearing the one it came from (`removeAll(keepingCapacity:)` on a shared
    // buffer) allocated two arrays per batch, ~3% of a simulated broker run.
    private var queuedOps: [StorageOp] = []
    private var runningOps: [StorageOp] = []
    private var queuedCompletions: [Completion] = []
    private var runningCompletions: [Completion] = []
    private var finishedCompletions: [Completion] = []
    /// A batch runs; `finish()` ends it.
    public private(set) var isRunning = false

    public init() {}

    public var isEmpty: Bool { queuedOps.isEmpty }

    /// Queues an operation (and what to do once its batch is done, if anything).
    public mutating func submit(_ op: StorageOp, completion: Completion? = nil) {
        queuedOps.append(op)
        if let completion { queuedCompletions.append(completion) }
    }

    /// The next batch, when none runs and something is queued; the queue is busy until `finish()`.
    public mutating func nextBatch() -> [StorageOp]? {
        guard !isRunning, !queuedOps.isEmpty else { return nil }
        swap(&runningOps, &queuedOps)
        queuedOps.clearKeepingCapacity()
        swap(&runningCompletions, &queuedCompletions)
        queuedCompletions.clearKeepingCapacity()
        isRunning = true
        return runningOps
    }

    /// The running batch is done: its completions, in the order they were asked for.
    public mutating func finish() -> [Completion] {
        precondition(isRunning, "GroupCommit.finish without a running batch")
        isRunning = false
        swap(&finishedCompletions, &runningCompletions)
        runningCompletions.clearKeepingCapacity()
        return finishedCompletions
    }
}

extension GroupCommit: Sendable where Completion: Sendable {}
