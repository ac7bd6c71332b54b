/// The state machine the metadata Raft group applies: streams, their leaders, leader epochs
/// and ISRs. Deterministic: streams are kept sorted by name, sets of brokers are sorted
/// arrays, and every choice among brokers takes the lowest id.

public struct MetadataConfig: Codable, Sendable, Equatable {
    public enum WitnessQuorum: Codable, Sendable, Equatable {
        /// A majority of the ISR members other than the suspected leader, at least one.
        case majorityOfOtherISR
        /// A fixed number of distinct witnesses (at least one).
        case fixed(Int)
    }

    public var witnessQuorum: WitnessQuorum
    /// Whether a replica outside the ISR may become leader when no ISR member can (Kafka's
    /// `unclean.leader.election.enable`). Trades acknowledged data for availability.
    public var uncleanElection: Bool

    public init(witnessQuorum: WitnessQuorum = .majorityOfOtherISR, uncleanElection: Bool = false) {
        self.witnessQuorum = witnessQuorum
        self.uncleanElection = uncleanElection
    }
}

public enum MetadataChange: Equatable, Sendable {
    /// The stream's state changed (or was created); deliver it to its replicas.
    case updated(PartitionState)
    case deleted(stream: String)
    /// Accepted but nothing visible changed (a leader-failure witness below the quorum).
    case recorded
}

public enum MetadataRejection: Codable, Equatable, Sendable {
    case alreadyApplied(lastAppliedIndex: UInt64)
    case streamExists
    case unknownStream
    case invalidSpec(String)
    /// The command names a leader or leader epoch that is no longer current.
    case staleLeaderEpoch(currentLeader: BrokerID?, currentLeaderEpoch: UInt64)
    case notAReplica(BrokerID)
    case notInISR(BrokerID)
    case alreadyInISR(BrokerID)
    case cannotRemoveLeader
    case alreadyLeader
}

public enum MetadataApplyResult: Equatable, Sendable {
    case accepted(MetadataChange)
    case rejected(MetadataRejection)

    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

public struct MetadataStateMachine: Codable, Sendable, Equatable {
    /// Distinct witnesses reporting one (leader, leaderEpoch) of one stream.
    struct FailureReports: Codable, Sendable, Equatable {
        var leader: BrokerID
        var leaderEpoch: UInt64
        var witnesses: [BrokerID]
    }

    struct Stream: Codable, Sendable, Equatable {
        var state: PartitionState
        var reports: FailureReports?
    }

    public var config: MetadataConfig
    /// Sorted by name.
    private var records: [Stream]
    public private(set) var lastAppliedIndex: UInt64

    public init(config: MetadataConfig = MetadataConfig()) {
        self.config = config
        records = []
        lastAppliedIndex = 0
    }

    /// All streams, sorted by name.
    public var streams: [PartitionState] { records.map(\.state) }

    public func stream(named name: String) -> PartitionState? {
        position(of: name).found.map { records[$0].state }
    }

    /// Applies the command committed at Raft `index`. Every index is applied once (rejected
    /// commands consume it too); leader changes set `leaderEpoch = epoch = index`, ISR
    /// changes set `epoch = index`.
    public mutating func apply(_ command: MetadataCommand, index: UInt64) -> MetadataApplyResult {
        guard index > lastAppliedIndex else {
            return .rejected(.alreadyApplied(lastAppliedIndex: lastAppliedIndex))
        }
        lastAppliedIndex = index

        if case .createStream(let spec) = command {
            return create(spec, index: index)
        }
        guard let at = position(of: command.stream).found else { return .rejected(.unknownStream) }
        var record = records[at]
        let result: MetadataApplyResult
        switch command {
        case .createStream:
            preconditionFailure("handled above")
        case .deleteStream(let name):
            records.remove(at: at)
            return .accepted(.deleted(stream: name))
        case .changeLeader(_, let newLeader, let expected):
            result = changeLeader(&record, to: newLeader, expected: expected, index: index)
        case .shrinkISR(_, let replica, let leader, let leaderEpoch):
            result = shrink(&record, replica: replica, leader: leader, leaderEpoch: leaderEpoch, index: index)
        case .expandISR(_, let replica, let leader, let leaderEpoch, let partitionEpoch):
            if partitionEpoch != 0 && partitionEpoch != record.state.epoch {
                result = stale(record.state)
            } else {
                result = expand(&record, replica: replica, leader: leader, leaderEpoch: leaderEpoch, index: index)
            }
        case .reportLeaderFailure(_, let witness, let leader, let leaderEpoch):
            result = reportFailure(&record, witness: witness, leader: leader, leaderEpoch: leaderEpoch, index: index)
        case .renewLeaderEpoch(_, let leader, let leaderEpoch, let session):
            var state = record.state
            guard state.leader == leader, state.leaderEpoch == leaderEpoch else { return stale(state) }
            state.leaderEpoch = index
            state.epoch = index
            state.leaderSession = session
            record = Stream(state: state, reports: nil)
            result = .accepted(.updated(state))
        }
        records[at] = record
        return result
    }

    // MARK: - Commands

    private mutating func create(_ spec: StreamSpec, index: UInt64) -> MetadataApplyResult {
        let replicas = spec.replicas.canonical()
        if spec.name.isEmpty { return .rejected(.invalidSpec("empty stream name")) }
        if replicas.isEmpty { return .rejected(.invalidSpec("no replicas")) }
        if replicas.count != spec.replicas.count { return .rejected(.invalidSpec("duplicate replicas")) }
        if replicas.count != spec.replicationFactor {
            return .rejected(.invalidSpec("replicationFactor \(spec.replicationFactor) but \(replicas.count) replicas"))
        }
        if spec.minISR < 1 || spec.minISR > spec.replicationFactor {
            return .rejected(.invalidSpec("minISR \(spec.minISR) outside 1...\(spec.replicationFactor)"))
        }
        let slot = position(of: spec.name)
        if slot.found != nil { return .rejected(.streamExists) }
        let state = PartitionState(
            name: spec.name, subject: spec.subject, replicas: replicas, leader: spec.replicas[0],
            leaderEpoch: index, epoch: index, isr: replicas, minISR: spec.minISR)
        records.insert(Stream(state: state, reports: nil), at: slot.insertion)
        return .accepted(.updated(state))
    }

    private func changeLeader(_ record: inout Stream, to newLeader: BrokerID, expected: UInt64, index: UInt64)
        -> MetadataApplyResult
    {
        var state = record.state
        guard expected == state.leaderEpoch else { return stale(state) }
        guard state.replicas.contains(newLeader) else { return .rejected(.notAReplica(newLeader)) }
        guard newLeader != state.leader else { return .rejected(.alreadyLeader) }
        if !state.isr.contains(newLeader) {
            guard config.uncleanElection else { return .rejected(.notInISR(newLeader)) }
            state.isr = [newLeader]
        }
        // A controlled move keeps the old leader in the ISR: it truncates and follows.
        state.leader = newLeader
        state.leaderEpoch = index
        state.leaderSession = 0
        state.epoch = index
        record = Stream(state: state, reports: nil)
        return .accepted(.updated(state))
    }

    private func shrink(_ record: inout Stream, replica: BrokerID, leader: BrokerID, leaderEpoch: UInt64, index: UInt64)
        -> MetadataApplyResult
    {
        var state = record.state
        guard state.leader == leader, state.leaderEpoch == leaderEpoch else { return stale(state) }
        guard replica != leader else { return .rejected(.cannotRemoveLeader) }
        guard let at = state.isr.firstIndex(of: replica) else { return .rejected(.notInISR(replica)) }
        // Allowed even below minISR: that is precisely what stops commits (Kafka, Liftbridge).
        state.isr.remove(at: at)
        state.epoch = index
        record.state = state
        return .accepted(.updated(state))
    }

    private func expand(_ record: inout Stream, replica: BrokerID, leader: BrokerID, leaderEpoch: UInt64, index: UInt64)
        -> MetadataApplyResult
    {
        var state = record.state
        guard state.leader == leader, state.leaderEpoch == leaderEpoch else { return stale(state) }
        guard state.replicas.contains(replica) else { return .rejected(.notAReplica(replica)) }
        guard !state.isr.contains(replica) else { return .rejected(.alreadyInISR(replica)) }
        state.isr.insertSorted(replica)
        state.epoch = index
        record.state = state
        return .accepted(.updated(state))
    }

    /// Liftbridge-style failure detection: the metadata leader does not trust one follower's
    /// word (it may be the one partitioned away); it replaces the leader only when enough
    /// distinct witnesses report the same (leader, leaderEpoch).
    ///
    /// Witnesses must be replicas other than the leader. They count towards the quorum when
    /// they are in the ISR; when the leader is the only ISR member, any replica counts (one
    /// witness suffices), which is what lets an unclean election happen at all.
    private func reportFailure(
        _ record: inout Stream, witness: BrokerID, leader: BrokerID, leaderEpoch: UInt64, index: UInt64
    ) -> MetadataApplyResult {
        var state = record.state
        guard state.leader == leader, state.leaderEpoch == leaderEpoch else { return stale(state) }
        guard state.replicas.contains(witness), witness != leader else { return .rejected(.notAReplica(witness)) }

        var reports = record.reports ?? FailureReports(leader: leader, leaderEpoch: leaderEpoch, witnesses: [])
        reports.witnesses.insertSorted(witness)
        record.reports = reports

        let otherISR = state.isr.filter { $0 != leader }
        let counted = otherISR.isEmpty ? reports.witnesses : reports.witnesses.filter { otherISR.contains($0) }
        let needed: Int
        switch config.witnessQuorum {
        case .majorityOfOtherISR: needed = otherISR.isEmpty ? 1 : otherISR.count / 2 + 1
        case .fixed(let n): needed = max(1, n)
        }
        guard counted.count >= needed else { return .accepted(.recorded) }

        // Lowest-id candidate, preferring those that just proved they are alive by reporting.
        // Sorted arrays make the choice the same in every process.
        func pick(_ candidates: [BrokerID]) -> BrokerID? {
            candidates.first(where: { reports.witnesses.contains($0) }) ?? candidates.first
        }
        if let clean = pick(otherISR) {
            state.leader = clean
            state.isr = otherISR
        } else if config.uncleanElection, let unclean = pick(state.replicas.filter { $0 != leader }) {
            state.leader = unclean
            state.isr = [unclean]
        } else {
            // No eligible replica: the stream goes offline. Like Kafka, keep the failed leader
            // as the last ISR member so that it can lead again (via changeLeader) without loss.
            state.leader = nil
        }
        state.leaderEpoch = index
        state.leaderSession = 0
        state.epoch = index
        record = Stream(state: state, reports: nil)
        return .accepted(.updated(state))
    }

    // MARK: - Helpers

    private func stale(_ state: PartitionState) -> MetadataApplyResult {
        .rejected(.staleLeaderEpoch(currentLeader: state.leader, currentLeaderEpoch: state.leaderEpoch))
    }

    /// Binary search over the name-sorted records.
    private func position(of name: String) -> (found: Int?, insertion: Int) {
        var low = 0
        var high = records.count
        while low < high {
            let mid = (low + high) / 2
            if records[mid].state.name < name { low = mid + 1 } else { high = mid }
        }
        let found = low < records.count && records[low].state.name == name ? low : nil
        return (found, low)
    }
}
