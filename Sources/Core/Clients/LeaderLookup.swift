/// How a client picks a stream's leader from the metadata answers of the brokers it reached:
/// the answer with the highest leader epoch wins (as KIP-320 clients never go back to an older
/// epoch's leader); among equal epochs one that names a leader, then the first (the driver's
/// rotation order). One broker's answer can be stale — an isolated old leader keeps naming
/// itself while the majority has moved on — so both drivers ask every broker they reach and
/// decide with this rule (before it, the live client asked the first running node only and the
/// simulated one the next in rotation: after a leader's isolation both kept going back to it
/// until the partition healed).
public enum LeaderLookup {
    public static func freshest<Answer>(_ answers: [Answer], epoch: (Answer) -> UInt64, namesLeader: (Answer) -> Bool) -> Answer? {
        var best: Answer?
        for answer in answers {
            guard let current = best else {
                best = answer
                continue
            }
            let (e, b) = (epoch(answer), epoch(current))
            if e > b || (e == b && namesLeader(answer) && !namesLeader(current)) { best = answer }
        }
        return best
    }
}
