/// A set of message ids for the end-of-run checkers, which test every committed message once
/// or twice. Producers are few and number their messages 0, 1, 2, …, so each producer gets a
/// bitmap over its sequences and membership needs no hashing. `Set<MessageID>` hashed every id
/// with SipHash (~300 instructions per insert); the checkers and metrics did that for every
/// committed message, 2.6% of a simulated swarm seed.
///
/// Sequences beyond `denseLimit` (a producer that starts numbering high) and producers beyond
/// the first `linearProducers` still work: the former go to an ordinary set, the latter are
/// found through a dictionary instead of a scan.
public struct MessageIDSet: Sendable {
    private var producers: [UInt32] = []
    private var bitmaps: [[UInt64]] = []
    /// Producer → index into `bitmaps`, once there are too many producers to scan.
    private var producerIndex: [UInt32: Int] = [:]
    private var sparse: Set<MessageID> = []
    public private(set) var count = 0

    /// At most 2 MiB of bitmap per producer.
    static let denseLimit: UInt64 = 1 << 24
    static let linearProducers = 16

    public init() {}

    /// The set of the entries' messages.
    public init(_ entries: [ObservedEntry]) {
        for entry in entries { insert(entry.message) }
    }

    /// Inserts `id`; false if it was already there.
    @discardableResult
    public mutating func insert(_ id: MessageID) -> Bool {
        guard id.sequence < Self.denseLimit else {
            let inserted = sparse.insert(id).inserted
            if inserted { count += 1 }
            return inserted
        }
        let p = slot(of: id.producer) ?? addProducer(id.producer)
        let word = Int(id.sequence >> 6), bit = UInt64(1) << (id.sequence & 63)
        if word >= bitmaps[p].count {
            bitmaps[p].append(contentsOf: repeatElement(0, count: Swift.max(word + 1, bitmaps[p].count * 2) - bitmaps[p].count))
        }
        if bitmaps[p][word] & bit != 0 { return false }
        bitmaps[p][word] |= bit
        count += 1
        return true
    }

    public func contains(_ id: MessageID) -> Bool {
        guard id.sequence < Self.denseLimit else { return sparse.contains(id) }
        guard let p = slot(of: id.producer) else { return false }
        let word = Int(id.sequence >> 6)
        return word < bitmaps[p].count && bitmaps[p][word] & (UInt64(1) << (id.sequence & 63)) != 0
    }

    private func slot(of producer: UInt32) -> Int? {
        if producers.count <= Self.linearProducers { return producers.firstIndex(of: producer) }
        return producerIndex[producer]
    }

    private mutating func addProducer(_ producer: UInt32) -> Int {
        producers.append(producer)
        bitmaps.append([])
        if producers.count > Self.linearProducers {
            if producerIndex.isEmpty {
                for (index, known) in producers.enumerated() { producerIndex[known] = index }
            } else {
                producerIndex[producer] = producers.count - 1
            }
        }
        return producers.count - 1
    }
}
