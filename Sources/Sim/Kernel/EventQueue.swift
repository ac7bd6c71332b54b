/// The simulator's agenda: a hand-written 4-ary min-heap of value-type events ordered by
/// (time, sequence). Events at the same virtual time come out in the order they were
/// scheduled (FIFO), which is what makes a run reproducible. Events of a fixed delay (timeouts)
/// can wait in FIFO lanes beside the heap, only each lane's earliest in it (see `lanes`).
///
/// Why hand-written: closures on the hot path measured 3.5× slower and swift-collections'
/// `Heap` ~25% slower than a specialised heap over a struct (see `faultline bench`).
public struct ScheduledEvent<Payload>: Sendable where Payload: Sendable & BitwiseCopyable {
    public let time: VirtualTime
    /// The sequence number shifted left by `laneBits`, the event's lane (0: none) in the low
    /// bits: ordering by it is ordering by sequence.
    @usableFromInline let key: UInt64
    /// The payload's bytes. Why not a `Payload` field: the sifts copy every element they pass,
    /// and the compiler copies a typed payload field by field (a 14-byte `SimEvent` as 8 + 4 +
    /// 2 bytes, spilling each piece of the element being sifted); as two words the element is
    /// 32 bytes moved in two 16-byte moves, two elements to a cache line. Payloads are plain
    /// bits (`BitwiseCopyable`) of at most 16 bytes (checked when scheduling).
    @usableFromInline var bits: (UInt64, UInt64)

    @usableFromInline static var laneBits: UInt64 { 5 }

    @inlinable @inline(__always)
    init(time: VirtualTime, sequence: UInt64, lane: Int = 0, payload: Payload) {
        precondition(MemoryLayout<Payload>.size <= MemoryLayout<(UInt64, UInt64)>.size
                     && MemoryLayout<Payload>.alignment <= MemoryLayout<UInt64>.alignment,
                     "an event payload must fit in 16 bytes")
        self.time = time
        self.key = sequence << Self.laneBits | UInt64(lane)
        var bits: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bits) { $0.storeBytes(of: payload, as: Payload.self) }
        self.bits = bits
    }

    public var payload: Payload {
        @inlinable @inline(__always) get { withUnsafeBytes(of: bits) { $0.load(as: Payload.self) } }
    }

    /// Scheduling order: events at the same time come out in this order.
    @inlinable public var sequence: UInt64 { key >> Self.laneBits }
    @inlinable var lane: Int { Int(key & ((1 << Self.laneBits) - 1)) }

    /// (time, key) as one signed 128-bit number: ordering by it is ordering by time, then key.
    /// A compare and a subtract-with-borrow instead of two compares and up to two jumps, and the
    /// compiler picks some of the sift-down's least children with conditional moves: fewer
    /// mispredicted jumps, ~20% more events a second in the kernel's hold bench (same order).
    @inlinable @inline(__always)
    var order: Int128 { Int128(time) &<< 64 | Int128(key) }

    @inlinable @inline(__always)
    func precedes(_ other: ScheduledEvent) -> Bool {
        order < other.order
    }
}

public struct EventQueue<Payload: Sendable & BitwiseCopyable>: Sendable {
    @usableFromInline var heap: [ScheduledEvent<Payload>] = []
    @usableFromInline var nextSequence: UInt64 = 0
    /// Lanes 1…`maxLanes`: runs of events scheduled in time order (a timeout of fixed length
    /// per request, a periodic tick). Only a lane's earliest event sits in the heap; the rest
    /// wait in the lane, in order. A simulation with many requests in flight otherwise keeps
    /// every pending timeout in the heap, and each pop sifts through all their levels (the
    /// heap was 11% of an OAuth fan-out run). The order of events is exactly the heap's:
    /// (time, sequence), whatever lane they wait in.
    @usableFromInline var lanes: [Lane] = []
    /// Events waiting in lanes behind their lane's head.
    @usableFromInline var waiting = 0

    @usableFromInline
    struct Lane: Sendable {
        @usableFromInline var queued: [ScheduledEvent<Payload>] = []
        @usableFromInline var next = 0
        /// The time of the lane's latest event; nil while the lane is empty (nothing in the heap).
        @usableFromInline var latest: VirtualTime?

        @inlinable init() {}
    }

    public static var maxLanes: Int { (1 << Int(ScheduledEvent<Payload>.laneBits)) - 1 }

    public init(capacity: Int = 1024) {
        heap.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { heap.count + waiting }
    @inlinable public var isEmpty: Bool { heap.isEmpty }
    /// Time of the next event, if any.
    @inlinable public var nextTime: VirtualTime? { heap.first?.time }
    /// How many events were ever scheduled (the next sequence number).
    @inlinable public var scheduledCount: UInt64 { nextSequence }

    // Always inlined, as they were before lanes made the type bigger: called out of line they
    // cost a station run 5% more instructions.
    @inlinable @inline(__always)
    public mutating func schedule(_ payload: Payload, at time: VirtualTime) {
        let event = ScheduledEvent(time: time, sequence: nextSequence, payload: payload)
        nextSequence &+= 1
        push(event)
    }

    /// Schedules in lane `lane` (1…`maxLanes`), for events that usually come in time order:
    /// a fixed delay after the current time. An event earlier than the lane's latest goes to
    /// the heap as `schedule` would put it, so the lane is a speed-up, never a change of order.
    @inlinable
    public mutating func schedule(_ payload: Payload, at time: VirtualTime, lane: Int) {
        precondition(lane >= 1 && lane <= Self.maxLanes, "lane out of range")
        if lanes.count <= lane { lanes.append(contentsOf: repeatElement(Lane(), count: lane + 1 - lanes.count)) }
        guard let latest = lanes[lane].latest else {
            lanes[lane].latest = time
            let event = ScheduledEvent(time: time, sequence: nextSequence, lane: lane, payload: payload)
            nextSequence &+= 1
            push(event)
            return
        }
        guard time >= latest else { return schedule(payload, at: time) }
        lanes[lane].latest = time
        lanes[lane].queued.append(ScheduledEvent(time: time, sequence: nextSequence, lane: lane, payload: payload))
        nextSequence &+= 1
        waiting += 1
    }

    @inlinable @inline(__always)
    public mutating func popNext() -> ScheduledEvent<Payload>? {
        guard let first = heap.first else { return nil }
        if first.lane != 0 { return popLaned(first) }
        removeRoot()
        return first
    }

    /// Takes the root off: the last element sifts down from the root in its place.
    @inlinable @inline(__always)
    mutating func removeRoot() {
        let last = heap.removeLast()
        if !heap.isEmpty { siftDownFromRoot(last) }
    }

    /// `popNext` when the earliest event (`first`, the root) waited in a lane: the lane's next
    /// event, if any, takes its place — one sift instead of a pop and a push, and the heap's
    /// last element stays where it is (taking it off and appending it again cost ~35
    /// instructions per laned pop). Out of line: the common pop stays small enough to inline.
    @inlinable @inline(never)
    mutating func popLaned(_ first: ScheduledEvent<Payload>) -> ScheduledEvent<Payload> {
        if let successor = takeWaiting(first.lane) {
            siftDownFromRoot(successor)
        } else {
            removeRoot()
        }
        return first
    }

    /// The next event waiting in `lane`, if any; otherwise marks the lane empty.
    @inlinable
    mutating func takeWaiting(_ lane: Int) -> ScheduledEvent<Payload>? {
        let next = lanes[lane].next
        guard next < lanes[lane].queued.count else {
            lanes[lane].latest = nil
            if next > 0 {
                lanes[lane].queued.removeAll(keepingCapacity: true)
                lanes[lane].next = 0
            }
            return nil
        }
        waiting -= 1
        let event = lanes[lane].queued[next]
        if next >= 1024 && 2 * next >= lanes[lane].queued.count {
            // Taken events are dropped in bulk once they are half the lane: amortised O(1),
            // and a lane that never runs dry does not keep every event it ever held.
            lanes[lane].queued.removeFirst(next + 1)
            lanes[lane].next = 0
        } else {
            lanes[lane].next = next + 1
        }
        return event
    }

    public mutating func removeAll() {
        heap.removeAll(keepingCapacity: true)
        lanes.removeAll()
        waiting = 0
    }

    // The heap is 4-ary: half the levels of a binary heap, so a pop moves an element half as
    // often and an insertion climbs half as far; finding the least of four children costs three
    // comparisons, which touch one cache line. Measured against the binary heap under
    // callgrind: the heap operations of a simulated multi-account run (~1,000 events pending)
    // 16% fewer instructions, the whole run 2% fewer. Both sifts work on the raw buffer:
    // Array's bounds and uniqueness checks per level measured ~15% of kernel time.

    /// Adds `event` to the heap: appended, then sifted up (both `schedule`s end here).
    @inlinable @inline(__always)
    mutating func push(_ event: ScheduledEvent<Payload>) {
        heap.append(event)
        siftUp(event, from: heap.count - 1)
    }

    /// Moves `moving`, just appended at `start`, up to its place. It comes in registers rather
    /// than being read back from the slot it was just stored to: that load spans stores of other
    /// sizes (the key, the payload's words), so the store could not be forwarded and the load
    /// waited for it to reach the cache — 79% of this function's samples in a station run (perf).
    @inlinable
    mutating func siftUp(_ moving: ScheduledEvent<Payload>, from start: Int) {
        heap.withUnsafeMutableBufferPointer { heap in
            var child = start
            while child > 0 {
                let parent = (child - 1) >> 2
                if !moving.precedes(heap[parent]) { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = moving
        }
    }

    /// Puts `moving` in place of the root (which the caller took) and restores the heap.
    /// Floyd's bottom-up sift: the element put at the root came from the bottom, so it almost
    /// always sinks back to the bottom. Walk the hole down along the least children (never
    /// comparing with the element on the way), then sift the element up from there. The element
    /// is written once, where it ends: storing it at the root first cost every pop another
    /// uniqueness check and store (~9 instructions an event).
    @inlinable
    mutating func siftDownFromRoot(_ moving: ScheduledEvent<Payload>) {
        heap.withUnsafeMutableBufferPointer { heap in
            let count = heap.count
            var hole = 0
            var child = 1
            while child &+ 3 < count {
                // All four children: unrolled (a loop over them cost 25% more instructions).
                var least = child
                var leastOrder = heap[child].order
                let order1 = heap[child &+ 1].order
                if order1 < leastOrder { least = child &+ 1; leastOrder = order1 }
                let order2 = heap[child &+ 2].order
                if order2 < leastOrder { least = child &+ 2; leastOrder = order2 }
                if heap[child &+ 3].order < leastOrder { least = child &+ 3 }
                heap[hole] = heap[least]
                hole = least
                child = 4 &* hole &+ 1
            }
            if child < count {
                // The last, partly filled level.
                var least = child
                for sibling in (child + 1)..<count where heap[sibling].precedes(heap[least]) { least = sibling }
                heap[hole] = heap[least]
                hole = least
            }
            while hole > 0 {
                let parent = (hole - 1) >> 2
                if !moving.precedes(heap[parent]) { break }
                heap[hole] = heap[parent]
                hole = parent
            }
            heap[hole] = moving
        }
    }
}
