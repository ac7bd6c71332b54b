/// Identity of a broker (a node that hosts stream replicas).
///
/// Ordered so that every decision that picks "one of several brokers" (a new leader, the order
/// in which followers are checked for lag) can use sorted arrays instead of `Set` or
/// `Dictionary` iteration, whose order changes from process to process.
public struct BrokerID: RawRepresentable, Hashable, Comparable, Codable, Sendable,
    ExpressibleByIntegerLiteral, CustomStringConvertible
{
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt32) { self.rawValue = value }

    public static func < (lhs: BrokerID, rhs: BrokerID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "b\(rawValue)" }
}

extension Array where Element == BrokerID {
    /// Sorted, without duplicates: the one canonical form of a replica set.
    func canonical() -> [BrokerID] {
        var result: [BrokerID] = []
        for id in sorted() where result.last != id { result.append(id) }
        return result
    }

    /// Inserts `id` keeping the array sorted; no-op when present.
    mutating func insertSorted(_ id: BrokerID) {
        guard !contains(id) else { return }
        let index = firstIndex(where: { $0 > id }) ?? endIndex
        insert(id, at: index)
    }
}
