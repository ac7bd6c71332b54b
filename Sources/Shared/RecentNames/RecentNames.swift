import ArrayClearing

/// The last few (name, value) pairs looked up, found again by comparing names instead of
/// hashing them. For callers that use the same few names over and over — a simulated disk's
/// files, a node's stream stores — where hashing a path per operation cost whole percents of
/// a simulated swarm seed. Bounded: once full, the newest pair replaces the oldest.
public struct RecentNames<Value> {
    @usableFromInline var entries: [(name: String, value: Value)] = []
    @usableFromInline var next = 0
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The value remembered for `name`, if it is among the recent ones. Lengths are compared
    /// first (O(1) for native strings): a full comparison of two different paths cost ~80
    /// instructions.
    @inlinable
    public func value(for name: String) -> Value? {
        let length = name.utf8.count
        // By index, read in place: binding each entry (`for entry in`) retained and released its name.
        for index in entries.indices where entries[index].name.utf8.count == length && entries[index].name == name {
            return entries[index].value
        }
        return nil
    }

    @inlinable
    public mutating func remember(_ name: String, _ value: Value) {
        if entries.count < capacity {
            entries.append((name, value))
        } else {
            entries[next] = (name, value)
            next = (next + 1) % capacity
        }
    }

    @inlinable
    public mutating func removeAll() {
        entries.clearKeepingCapacity()
        next = 0
    }
}

extension RecentNames: Sendable where Value: Sendable {}
