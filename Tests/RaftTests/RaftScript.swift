import Foundation
import Raft

/// A tiny interpreter for etcd-style scripted interactions. One command per line; `#` starts a
/// comment. Node ids are 1...n. A message filter is `A->B` with `*` for any side, optionally
/// followed by a kind: prevote, prevote-resp, vote, vote-resp, append, append-resp, heartbeat,
/// heartbeat-resp.
///
///     nodes 1 2 3 [prevote=on|off] [checkquorum=on|off] [max-append=N] [election=N] [heartbeat=N] [seed=N]
///     tick IDS|all [xN]            tick each listed node, N times
///     run N                        N rounds of: tick every live node once, deliver until quiet
///     campaign ID                  tick ID until it leaves the follower role
///     deliver [FILTER]             one round: deliver the matching messages pending now, oldest first
///     deliver-all [FILTER]         rounds until nothing matching is pending
///     drop [FILTER]                discard matching pending messages
///     hold [FILTER] / release      set matching pending messages aside / put them back at the end
///     partition 1 | 2 3 / heal     cut / restore links between groups
///     crash ID / restart ID        restart rebuilds the node from its disk only
///     disk ID term=T [vote=V] [commit=C] log=T,T,…   crash ID, replace its disk, restart it
///     inject A->B term=T append prev=I@T [entries=T,T…] [commit=C]   deliver a hand-made message
///     inject A->B term=T heartbeat commit=C
///     propose ID "cmd" [-> IDX|none]
///     expect leader ID term T      expect role IDS = follower|pre-candidate|candidate|leader
///     expect term IDS = T          expect commit IDS = C          expect last IDS = L
///     expect vote IDS = ID|none    expect leader-of IDS = ID|none expect log IDS = T T T (terms)
///     expect applied IDS = cmd…    expect truncated ID from I     expect no-leader
///     expect pending [FILTER] = K  expect leaders ID…  (exactly these nodes think they lead)
///     expect leader-among IDS      exactly one leader, one of IDS, followed by every node it can reach
///     expect same-log IDS          identical logs
///     numeric expectations also take `>` instead of `=` (e.g. `expect term 3 > 1`)
struct RaftScript {
    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var message: String
        var description: String { "line \(line): \(text)\n    \(message)" }
    }

    var cluster: RaftCluster?
    var held: [RaftMessage<Cmd>] = []
    var failures: [Failure] = []
    var transcript: [String] = []

    /// Runs `script`, collecting expectation failures and checker failures (with the line that
    /// triggered them). Stops at the first malformed line.
    static func run(_ script: String) -> [Failure] {
        var s = RaftScript()
        for (n, rawLine) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = String(rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
                .trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            do {
                try s.execute(text)
            } catch let message as ScriptError {
                s.failures.append(Failure(line: n + 1, text: text, message: message.text))
                if message.fatal { break }
            } catch {
                s.failures.append(Failure(line: n + 1, text: text, message: "\(error)"))
                break
            }
            if var c = s.cluster, !c.failures.isEmpty {
                for f in c.failures { s.failures.append(Failure(line: n + 1, text: text, message: "checker: \(f)")) }
                c.failures = []
                s.cluster = c
            }
        }
        if var c = s.cluster {
            c.checkAll()
            for f in c.failures { s.failures.append(Failure(line: 0, text: "(end)", message: "checker: \(f)")) }
        }
        return s.failures
    }

    struct ScriptError: Error {
        var text: String
        var fatal: Bool
    }

    static func bad(_ text: String) -> ScriptError { ScriptError(text: text, fatal: true) }
    static func unmet(_ text: String) -> ScriptError { ScriptError(text: text, fatal: false) }

    // MARK: Commands

    mutating func execute(_ line: String) throws {
        let words = tokenize(line)
        guard let command = words.first else { return }
        let args = Array(words.dropFirst())
        if command == "nodes" { return try makeNodes(args) }
        guard var c = cluster else { throw Self.bad("`nodes` must come first") }
        defer { cluster = c }
        switch command {
        case "tick":
            guard let first = args.first else { throw Self.bad("tick needs node ids") }
            var times = 1
            var targets: [RaftNodeID] = []
            for a in args {
                if a.hasPrefix("x"), let n = Int(a.dropFirst()) { times = n }
                else if a == "all" { targets = c.ids }
                else { targets.append(try id(a, in: c)) }
            }
            _ = first
            for _ in 0..<times { for t in targets { c.tick(t) } }
        case "run":
            guard let n = Int(args.first ?? "") else { throw Self.bad("run N") }
            for _ in 0..<n {
                for id in c.upIDs { c.tick(id) }
                var deliveries = 0
                while !c.pending.isEmpty {
                    c.deliver(at: 0)
                    deliveries += 1
                    if deliveries > 100_000 { throw Self.unmet("messages keep flowing") }
                }
            }
        case "disk":
            // Replace a node's disk with a crafted one and restart it from there.
            let target = try id(args.first, in: c)
            var disk = Disk()
            for a in args.dropFirst() {
                guard let eq = a.firstIndex(of: "=") else { throw Self.bad("disk ID key=value...") }
                let key = a[..<eq], value = String(a[a.index(after: eq)...])
                switch key {
                case "term": disk.hardState.term = try number(value)
                case "vote": disk.hardState.votedFor = value == "none" ? nil : try id(value, in: c)
                case "commit": disk.hardState.commitIndex = try number(value)
                case "log":
                    disk.log = try value.split(separator: ",").enumerated().map { k, t in
                        let index = LogIndex(k + 1)
                        return RaftEntry(term: try number(String(t)), index: index, command: "e\(index)t\(t)")
                    }
                default: throw Self.bad("unknown disk key \(key)")
                }
            }
            c.crash(target)
            c.disks[target - 1] = disk
            c.highestCommit[target - 1] = 0
            c.restart(target)
        case "inject":
            // Deliver a hand-made message: inject A->B term=T append prev=I@T entries=T,T commit=C
            //                               inject A->B term=T heartbeat commit=C
            guard args.count >= 3, let arrow = args[0].range(of: "->") else { throw Self.bad("inject A->B term=T KIND ...") }
            let from = try id(String(args[0][..<arrow.lowerBound]), in: c)
            let to = try id(String(args[0][arrow.upperBound...]), in: c)
            var fields: [String: String] = [:]
            for a in args.dropFirst() where a.contains("=") {
                let parts = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                fields[String(parts[0])] = String(parts[1])
            }
            let term: Term = try number(fields["term"] ?? "")
            let commit: LogIndex = try number(fields["commit"] ?? "0")
            let kind: RaftMessageKind<Cmd>
            if args.contains("append") {
                let prev = (fields["prev"] ?? "0@0").split(separator: "@")
                guard prev.count == 2 else { throw Self.bad("prev=INDEX@TERM") }
                let prevIndex: LogIndex = try number(String(prev[0]))
                let prevTerm: Term = try number(String(prev[1]))
                let entries = try (fields["entries"] ?? "").split(separator: ",").enumerated().map { k, t in
                    let index = prevIndex + LogIndex(k + 1)
                    return RaftEntry<Cmd>(term: try number(String(t)), index: index, command: "e\(index)t\(t)")
                }
                kind = .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, leaderCommit: commit)
            } else if args.contains("heartbeat") {
                kind = .heartbeat(leaderCommit: commit)
            } else {
                throw Self.bad("inject supports append and heartbeat")
            }
            c.deliver(RaftMessage(from: from, to: to, term: term, kind: kind))
        case "campaign":
            let target = try id(args.first, in: c)
            var n = 0
            while c.node(target)?.role == .follower {
                c.tick(target)
                n += 1
                if n > 10_000 { throw Self.unmet("n\(target) never campaigned") }
            }
        case "deliver":
            let filter = try Filter(args, cluster: c)
            deliverRound(&c, filter)
        case "deliver-all":
            let filter = try Filter(args, cluster: c)
            var rounds = 0
            while c.pending.contains(where: filter.matches) {
                deliverRound(&c, filter)
                rounds += 1
                if rounds > 1_000 { throw Self.unmet("messages keep flowing after 1000 rounds") }
            }
        case "drop":
            let filter = try Filter(args, cluster: c)
            c.pending.removeAll(where: filter.matches)
        case "hold":
            let filter = try Filter(args, cluster: c)
            held += c.pending.filter(filter.matches)
            c.pending.removeAll(where: filter.matches)
        case "release":
            c.pending += held
            held = []
        case "partition":
            var group = 0
            var groups = Array(repeating: -1, count: c.ids.count)
            for a in args {
                if a == "|" { group += 1 } else { groups[try id(a, in: c) - 1] = group }
            }
            guard !groups.contains(-1) else { throw Self.bad("partition must place every node") }
            c.groups = groups
            c.pending.removeAll { groups[$0.from - 1] != groups[$0.to - 1] }
        case "heal":
            c.groups = Array(repeating: 0, count: c.ids.count)
        case "crash":
            c.crash(try id(args.first, in: c))
        case "restart":
            c.restart(try id(args.first, in: c))
        case "propose":
            guard args.count >= 2 else { throw Self.bad("propose ID \"command\" [-> IDX|none]") }
            let target = try id(args[0], in: c)
            let result = c.propose(target, args[1])
            if args.count >= 4, args[2] == "->" {
                let want: LogIndex? = args[3] == "none" ? nil : LogIndex(args[3])
                if result != want { throw Self.unmet("propose returned \(result.map(String.init) ?? "none"), want \(args[3])") }
            }
        case "expect":
            try expect(args, &c)
        case "print":
            for id in c.ids {
                if let n = c.node(id) {
                    print("n\(id) \(n.role) term=\(n.term) vote=\(n.votedFor.map(String.init) ?? "-") leader=\(n.leader.map(String.init) ?? "-") commit=\(n.commitIndex) log=\(n.log.map { $0.term })")
                } else {
                    print("n\(id) down")
                }
            }
            for m in c.pending { print("  pending \(m.from)->\(m.to) t\(m.term) \(m.kind)") }
        default:
            throw Self.bad("unknown command \(command)")
        }
    }

    private mutating func makeNodes(_ args: [String]) throws {
        var ids: [RaftNodeID] = []
        var options: [String: String] = [:]
        for a in args {
            if let eq = a.firstIndex(of: "=") {
                options[String(a[..<eq])] = String(a[a.index(after: eq)...])
            } else if let n = Int(a) {
                ids.append(n)
            } else {
                throw Self.bad("bad nodes argument \(a)")
            }
        }
        guard !ids.isEmpty, ids == Array(1...ids.count) else { throw Self.bad("nodes must be 1...n") }
        func flag(_ key: String, _ def: Bool) throws -> Bool {
            guard let v = options[key] else { return def }
            guard v == "on" || v == "off" else { throw Self.bad("\(key) must be on or off") }
            return v == "on"
        }
        func int(_ key: String, _ def: Int) throws -> Int {
            guard let v = options[key] else { return def }
            guard let n = Int(v), n > 0 else { throw Self.bad("\(key) must be a positive integer") }
            return n
        }
        let preVote = try flag("prevote", true)
        let checkQuorum = try flag("checkquorum", true)
        let maxAppend = try int("max-append", 64)
        let election = try int("election", 10)
        let heartbeat = try int("heartbeat", 1)
        let seed = try int("seed", 1)
        cluster = RaftCluster(ids: ids, seed: UInt64(seed)) { c in
            c.preVote = preVote
            c.checkQuorum = checkQuorum
            c.maxEntriesPerAppend = maxAppend
            c.electionTicks = election
            c.heartbeatTicks = heartbeat
        }
    }

    private func deliverRound(_ c: inout RaftCluster, _ filter: Filter) {
        let round = c.pending.filter(filter.matches)
        c.pending.removeAll(where: filter.matches)
        for m in round { c.deliver(m) }
    }

    private func expect(_ args: [String], _ c: inout RaftCluster) throws {
        guard let what = args.first else { throw Self.bad("expect what?") }
        switch what {
        case "leader":
            guard args.count == 4, args[2] == "term", let t = Term(args[3]) else { throw Self.bad("expect leader ID term T") }
            let target = try id(args[1], in: c)
            guard let n = c.node(target) else { throw Self.unmet("n\(target) is down") }
            if n.role != .leader || n.term != t {
                throw Self.unmet("n\(target) is \(n.role) in term \(n.term), want leader in term \(t)")
            }
        case "leader-among":
            let among = try args.dropFirst().map { try id($0, in: c) }
            let leaders = c.leaders
            guard leaders.count == 1, among.contains(leaders[0]) else {
                throw Self.unmet("leaders are \(leaders), want exactly one of \(among)")
            }
            for other in c.upIDs where c.connected(other, leaders[0]) && c.node(other)!.leader != leaders[0] {
                throw Self.unmet("n\(other) follows \(c.node(other)!.leader.map(String.init) ?? "none"), not n\(leaders[0])")
            }
        case "same-log":
            let nodes = try args.dropFirst().map { try id($0, in: c) }
            guard let first = nodes.first, let reference = c.node(first)?.log else { throw Self.bad("expect same-log IDS (live nodes)") }
            for other in nodes.dropFirst() where c.node(other)?.log != reference {
                throw Self.unmet("n\(other) log differs from n\(first)")
            }
        case "no-leader":
            if !c.leaders.isEmpty { throw Self.unmet("leaders: \(c.leaders)") }
        case "leaders":
            let want = try args.dropFirst().map { try id($0, in: c) }
            if c.leaders != want { throw Self.unmet("leaders are \(c.leaders), want \(want)") }
        case "truncated":
            guard args.count == 4, args[2] == "from", let i = LogIndex(args[3]) else { throw Self.bad("expect truncated ID from I") }
            let target = try id(args[1], in: c)
            if c.lastTruncateFrom[target - 1] != i {
                throw Self.unmet("n\(target) last truncated from \(c.lastTruncateFrom[target - 1].map(String.init) ?? "none"), want \(i)")
            }
        case "pending":
            guard let eq = args.firstIndex(of: "="), eq + 1 < args.count, let k = Int(args[eq + 1]) else {
                throw Self.bad("expect pending [FILTER] = K")
            }
            let filter = try Filter(Array(args[1..<eq]), cluster: c)
            let n = c.pending.filter(filter.matches).count
            if n != k { throw Self.unmet("\(n) matching messages pending, want \(k)") }
        default:
            guard let eq = args.firstIndex(where: { $0 == "=" || $0 == ">" }) else { throw Self.bad("expect \(what) IDS = VALUE") }
            let greater = args[eq] == ">"
            let targets = try args[1..<eq].map { try id($0, in: c) }
            let want = args[(eq + 1)...].joined(separator: " ")
            for t in targets {
                guard let n = c.node(t) else { throw Self.unmet("n\(t) is down") }
                let got: String
                switch what {
                case "role":
                    switch n.role {
                    case .follower: got = "follower"
                    case .preCandidate: got = "pre-candidate"
                    case .candidate: got = "candidate"
                    case .leader: got = "leader"
                    }
                case "term": got = String(n.term)
                case "commit": got = String(n.commitIndex)
                case "last": got = String(n.lastIndex)
                case "vote": got = n.votedFor.map(String.init) ?? "none"
                case "leader-of": got = n.leader.map(String.init) ?? "none"
                case "log": got = n.log.map { String($0.term) }.joined(separator: " ")
                case "applied": got = c.disks[t - 1].applied.compactMap(\.command).joined(separator: " ")
                default: throw Self.bad("unknown expectation \(what)")
                }
                if greater {
                    guard let g = Int(got), let w = Int(want) else { throw Self.bad("> needs numbers") }
                    if g <= w { throw Self.unmet("n\(t) \(what) is \(g), want > \(w)") }
                } else if got != want {
                    throw Self.unmet("n\(t) \(what) is \"\(got)\", want \"\(want)\"")
                }
            }
        }
    }

    // MARK: Parsing

    private func number<N: FixedWidthInteger>(_ word: String) throws -> N {
        guard let n = N(word) else { throw Self.bad("not a number: \(word)") }
        return n
    }

    private func id(_ word: String?, in c: RaftCluster) throws -> RaftNodeID {
        guard let word, let n = Int(word.hasPrefix("n") ? String(word.dropFirst()) : word), c.ids.contains(n) else {
            throw Self.bad("not a node id: \(word ?? "nothing")")
        }
        return n
    }

    /// Splits on spaces, keeping "quoted strings" whole (without the quotes).
    private func tokenize(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for ch in line {
            if ch == "\"" {
                if quoted { words.append(current); current = "" }
                quoted.toggle()
            } else if ch == " " && !quoted {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    struct Filter {
        var from: RaftNodeID?
        var to: RaftNodeID?
        var kind: String?

        init(_ args: [String], cluster: RaftCluster) throws {
            for a in args {
                if a == "all" { continue }
                if let arrow = a.range(of: "->") {
                    let l = String(a[..<arrow.lowerBound]), r = String(a[arrow.upperBound...])
                    if l != "*" { guard let n = Int(l) else { throw RaftScript.bad("bad filter \(a)") }; from = n }
                    if r != "*" { guard let n = Int(r) else { throw RaftScript.bad("bad filter \(a)") }; to = n }
                } else if Self.kinds.contains(a) {
                    kind = a
                } else {
                    throw RaftScript.bad("bad filter \(a)")
                }
            }
        }

        static let kinds = ["prevote", "prevote-resp", "vote", "vote-resp", "append", "append-resp", "heartbeat", "heartbeat-resp"]

        func matches(_ m: RaftMessage<Cmd>) -> Bool {
            if let from, m.from != from { return false }
            if let to, m.to != to { return false }
            if let kind, Self.kindName(m.kind) != kind { return false }
            return true
        }

        static func kindName(_ k: RaftMessageKind<Cmd>) -> String {
            switch k {
            case .preVote: "prevote"
            case .preVoteResponse: "prevote-resp"
            case .vote: "vote"
            case .voteResponse: "vote-resp"
            case .append: "append"
            case .appendResponse: "append-resp"
            case .heartbeat: "heartbeat"
            case .heartbeatResponse: "heartbeat-resp"
            }
        }
    }
}
