/// A map from request ids (`UInt64`) to values, for tables that look up, insert and remove
/// but are never iterated: a hop's tokeninfo calls in flight, keyed by request.
///
/// Why not `Dictionary`: every operation hashes the key with SipHash through `Hasher` (about
/// 90 instructions for one `UInt64`), and a tokeninfo call takes three operations (insert when
/// sent, look up and remove when answered). Measured under callgrind on a simulated OAuth
/// fan-out with central tokeninfo (`oauth/central-vs-local.yaml`, the central run): the
/// dictionary's operations were 3.5% of the run's instructions. Here a key is hashed with one
/// multiplication (Fibonacci hashing) into an open-addressed table with linear probing;
/// removal shifts the following entries back, so no tombstones build up.
///
/// Deterministic by construction: nothing depends on where an entry sits, since the table
/// cannot be iterated.
public struct RequestTable<Value> {
    /// `UInt64.max` marks an empty slot (so that id cannot be a key).
    @usableFromInline var keys: [UInt64]
    @usableFromInline var values: [Value?]
    /// log2 of the slot count.
    @usableFromInline var bits: Int
    @usableFromInline var storedCount: Int
    public var count: Int { storedCount }

    @usableFromInline static var empty: UInt64 { .max }

    public init() {
        storedCount = 0
        bits = 3
        keys = Array(repeating: Self.empty, count: 1 << bits)
        values = Array(repeating: nil, count: 1 << bits)
    }

    public var isEmpty: Bool { count == 0 }

    @inlinable @inline(__always)
    func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inlinable
    func slot(of key: UInt64) -> (index: Int, found: Bool) {
        let mask = keys.count - 1
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key { return (i, true) }
            if k == Self.empty { return (i, false) }
            i = (i + 1) & mask
        }
    }

    public subscript(key: UInt64) -> Value? {
        @inlinable get {
            let (i, found) = slot(of: key)
            return found ? values[i] : nil
        }
        @inlinable set {
            precondition(key != Self.empty, "RequestTable: UInt64.max cannot be a key")
            let (i, found) = slot(of: key)
            if let newValue {
                if found {
                    values[i] = newValue
                    return
                }
                keys[i] = key
                values[i] = newValue
                storedCount += 1
                // At most half full: probe runs stay short.
                if 2 * count > keys.count { grow() }
            } else if found {
                remove(at: i)
            }
        }
    }

    /// Empties slot `hole` and moves back any later entry of the same probe run whose home
    /// is not between the hole and itself (Knuth's algorithm R), so lookups never need
    /// tombstones.
    @inlinable
    mutating func remove(at index: Int) {
        let mask = keys.count - 1
        // The removed value travels with the hole and is released where the hole ends.
        var hole = index
        var i = index
        while true {
            i = (i + 1) & mask
            let k = keys[i]
            if k == Self.empty { break }
            let h = home(k)
            // Entry i may fill the hole when its home does not lie cyclically in (hole, i].
            let stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i)
            if stays { continue }
            keys[hole] = k
            values.swapAt(hole, i)
            hole = i
        }
        keys[hole] = Self.empty
        values[hole] = nil
        storedCount -= 1
    }

    @inlinable
    mutating func grow() {
        let oldKeys = keys
        var oldValues = values
        bits += 1
        keys = Array(repeating: Self.empty, count: 1 << bits)
        values = Array(repeating: nil, count: 1 << bits)
        for i in oldKeys.indices where oldKeys[i] != Self.empty {
            let target = slot(of: oldKeys[i]).index
            keys[target] = oldKeys[i]
            swap(&values[target], &oldValues[i])
        }
    }
}

extension RequestTable: Sendable where Value: Sendable {}
