/// A replica's `servers` (requests worked on at once) and its `queue_limit`, as the simulator's
/// station models them: a request takes a slot for its own work; beyond the slots it waits in
/// FIFO order; beyond the queue limit it is turned away (503).
actor ServerSlots {
    private let capacity: Int
    private let queueLimit: Int?
    private var busy = 0
    private var queue: [CheckedContinuation<Void, Never>] = []
    private var head = 0

    init(capacity: Int, queueLimit: Int?) {
        self.capacity = max(1, capacity)
        self.queueLimit = queueLimit
    }

    /// False when the queue is full.
    func acquire() async -> Bool {
        if busy < capacity {
            busy += 1
            return true
        }
        if let queueLimit, queue.count - head >= queueLimit { return false }
        await withCheckedContinuation { queue.append($0) }
        return true
    }

    func release() {
        if head < queue.count {
            // The slot passes straight to the oldest waiter.
            let next = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            next.resume()
        } else {
            busy -= 1
        }
    }

    var waiting: Int { queue.count - head }
}
