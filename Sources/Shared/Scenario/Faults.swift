import Sampling

/// Reads one entry of `faults:` — `{at: 20s, crash: n1, for: 5s}`.
struct FaultReader {
    let reader: Reader
    let names: Names

    static let actions = ["crash", "restart", "pause", "resume", "partition", "heal", "delay", "loss", "duplicate", "bandwidth", "reset",
                          "clock", "disk", "slowdown"] + accountActions
    /// Actions on whole accounts (the multi-account model; they need `organisation:`).
    static let accountActions = ["suspend", "bad-change", "compromise", "region-outage", "api-storm"]
    /// Actions that are themselves an undo (or instantaneous), so `for:` makes no sense.
    static let notUndoable = ["restart", "resume", "heal", "reset"]
    static let undoable: String = {
        let list = actions.filter { !notUndoable.contains($0) }
        return list.dropLast().joined(separator: ", ") + " and " + list.last!
    }()

    var selectors: Selectors { Selectors(reader: reader, names: names) }

    func fault(_ node: SourceNode, _ path: String) -> FaultEvent? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["at", "for"] + FaultReader.actions,
                               what: "a fault such as {at: 10s, crash: n1}") else { return nil }
        let at = r.required(f, "at", expected: "when the fault happens, such as 10s").flatMap { r.duration($0, f.path("at")) }
        guard let keyword = r.exactlyOne(f, of: FaultReader.actions, what: "the fault action") else { return nil }
        var duration: Int64?
        if let n = f["for"] {
            if FaultReader.notUndoable.contains(keyword) {
                r.fail(n, f.path("for"),
                       expected: "no 'for:' on \(keyword) (it cannot be undone)", found: n.foundDescription,
                       hint: "only \(FaultReader.undoable) can be undone")
            } else {
                duration = r.duration(n, f.path("for"), positive: true)
            }
        }
        let body = f.raw(keyword) ?? .null(at: f.keyLocation(keyword))
        let action = self.action(keyword, body, f.path(keyword))
        if case .clock(_, .jump) = action, let n = f["for"] {
            r.fail(n, f.path("for"), expected: "no 'for:' on a clock jump (a jump is instantaneous)",
                   found: n.foundDescription, hint: "use offset to hold the clock off for a while")
            duration = nil
        }
        guard let at, let action else { return nil }
        return FaultEvent(at: at, action: action, duration: duration, location: node.location)
    }

    func action(_ keyword: String, _ body: SourceNode, _ path: String) -> FaultAction? {
        let r = reader
        switch keyword {
        case "crash": return selectors.selector(body, path).map { .crash($0) }
        case "restart": return selectors.selector(body, path).map { .restart($0) }
        case "pause": return selectors.selector(body, path).map { .pause($0) }
        case "resume": return selectors.selector(body, path).map { .resume($0) }
        case "heal":
            if body.isNull || body.scalar == "all" || body.scalar == "true" { return .heal }
            r.fail(body, path, expected: "nothing, true or all (heal removes every partition and link fault)")
            return nil
        case "partition": return partition(body, path)
        case "delay":
            guard let f = r.fields(body, path, allowed: ["from", "to", "between", "add"],
                                   what: "{from: …, to: …, add: 10ms} or {between: [a, b], add: 10ms}"),
                  let link = link(f) else { return nil }
            guard let add = r.required(f, "add", expected: "the extra delay, such as 10ms or {exponential: 5ms}"),
                  let extra = r.distribution(add, f.path("add")) else { return nil }
            return .delay(link, extra: extra)
        case "loss", "duplicate":
            guard let f = r.fields(body, path, allowed: ["from", "to", "between", "probability"],
                                   what: "{from: …, to: …, probability: 10%} or {between: [a, b], probability: 10%}"),
                  let link = link(f) else { return nil }
            guard let n = r.required(f, "probability", expected: "a probability such as 10%"),
                  let p = r.probability(n, f.path("probability")) else { return nil }
            return keyword == "loss" ? .loss(link, probability: p) : .duplicate(link, probability: p)
        case "reset":
            guard let f = r.fields(body, path, allowed: ["from", "to", "between"],
                                   what: "{from: …, to: …}, {between: [a, b]} or {} (every link)"),
                  let link = link(f) else { return nil }
            return .reset(link)
        case "bandwidth":
            guard let f = r.fields(body, path, allowed: ["from", "to", "between", "rate"],
                                   what: "{from: …, to: …, rate: 1MB/s} or {between: [a, b], rate: 10Mbit/s}"),
                  let link = link(f) else { return nil }
            guard let n = r.required(f, "rate", expected: "a bandwidth such as 1MB/s or 10Mbit/s"),
                  let rate = r.unit(n, f.path("rate"), expected: "a bandwidth such as 1MB/s", Units.bandwidth) else { return nil }
            guard rate > 0 else {
                r.fail(n, f.path("rate"), expected: "a positive bandwidth such as 1MB/s (a link that carries nothing is a partition)")
                return nil
            }
            return .bandwidth(link, bytesPerSecond: rate)
        case "clock":
            guard let f = r.fields(body, path, allowed: ["node", "offset", "drift", "jump"],
                                   what: "{node: n2, offset: 50ms}, {node: n2, drift: 200ppm} or {node: n2, jump: -1s}") else { return nil }
            let target = r.required(f, "node", expected: "a selector for the clocks to change")
                .flatMap { selectors.selector($0, f.path("node")) }
            guard let which = r.exactlyOne(f, of: ["offset", "drift", "jump"], what: "the clock change"),
                  let n = f[which] else { return nil }
            let change: ClockChange?
            switch which {
            case "offset": change = r.duration(n, f.path(which), allowNegative: true).map { .offset($0) }
            case "jump": change = r.duration(n, f.path(which), allowNegative: true).map { .jump($0) }
            default: change = r.unit(n, f.path(which), expected: "a drift such as 200ppm", Units.partsPerMillion)
                .map { .drift(ppm: $0) }
            }
            guard let target, let change else { return nil }
            return .clock(target, change)
        case "disk":
            guard let f = r.fields(body, path, allowed: ["node", "slow_fsync", "fsync_error", "corrupt", "torn_writes"],
                                   what: "{node: n1, slow_fsync: 50ms}, {node: n1, fsync_error: true}, {node: n1, corrupt: 1%} or {node: n1, torn_writes: true}")
            else { return nil }
            let target = r.required(f, "node", expected: "a selector for the disks to change")
                .flatMap { selectors.selector($0, f.path("node")) }
            guard let which = r.exactlyOne(f, of: ["slow_fsync", "fsync_error", "corrupt", "torn_writes"], what: "the disk fault"),
                  let n = f[which] else { return nil }
            let fault: DiskFault?
            switch which {
            case "slow_fsync": fault = r.distribution(n, f.path(which)).map { .slowFsync($0) }
            case "corrupt": fault = r.probability(n, f.path(which)).map { .corrupt(probability: $0) }
            case "fsync_error": fault = r.bool(n, f.path(which)).map { .fsyncError($0) }
            default: fault = r.bool(n, f.path(which)).map { .tornWrites($0) }
            }
            guard let target, let fault else { return nil }
            return .disk(target, fault)
        case "slowdown":
            guard let f = r.fields(body, path, allowed: ["station", "factor"], what: "{station: tokeninfo, factor: 10}")
            else { return nil }
            // A station, or a service of the call graph (its replicas' work, or tokeninfo's service times).
            var station: String?
            if let n = r.required(f, "station", expected: names.hasServices || names.hasOrganisation ? "the name of a station or service" : "the name of a station"),
               let s = r.string(n, f.path("station"), expected: names.hasServices || names.hasOrganisation ? "a station or service name" : "a station name") {
                if names.stations.contains(s) || names.services.contains(s) { station = s } else if names.hasServices || names.hasOrganisation {
                    let graph = names.hasServices ? "the call graph" : "the organisation"
                    r.fail(n, f.path("station"),
                           expected: "a station (\(names.stations.joined(separator: ", "))) or a service of \(graph) (\(Names.listed(names.services)))",
                           found: "unknown station or service '\(s)'", hint: Suggest.hint(for: s, in: names.stations + names.services))
                } else {
                    r.fail(n, f.path("station"), expected: "a station (\(names.stations.joined(separator: ", ")))",
                           found: "unknown station '\(s)'", hint: Suggest.hint(for: s, in: names.stations))
                }
            }
            var factor: Double?
            if let n = r.required(f, "factor", expected: "a positive factor such as 10 or 10x") {
                let text = n.scalar.map { $0.hasSuffix("x") ? String($0.dropLast()) : $0 }
                if let text, let v = Units.number(text), v > 0 { factor = v } else {
                    r.fail(n, f.path("factor"), expected: "a positive factor such as 10 or 10x")
                }
            }
            guard let station, let factor else { return nil }
            return .slowdown(station: station, factor: factor)
        case "suspend", "bad-change", "compromise", "region-outage", "api-storm":
            return accountAction(keyword, body, path)
        default:
            return nil
        }
    }

    /// `suspend: account(acct-3)`, `bad-change: …`, `compromise: …`, `region-outage: eu-west-1`,
    /// `api-storm: {account: account(acct-3), rate: 50/s}`.
    func accountAction(_ keyword: String, _ body: SourceNode, _ path: String) -> FaultAction? {
        let r = reader
        guard names.hasOrganisation else {
            r.fail(body, path, expected: "\(keyword) in a scenario with accounts (\(keyword) needs organisation: and accounts:)",
                   found: "no organisation: section")
            return nil
        }
        switch keyword {
        case "suspend": return accountSelector(body, path, keyword).map { .suspend($0) }
        case "bad-change": return accountSelector(body, path, keyword).map { .badChange($0) }
        case "compromise": return accountSelector(body, path, keyword).map { .compromise($0) }
        case "region-outage":
            guard let region = r.string(body, path, expected: "a region of accounts.regions") else { return nil }
            if let regions = names.regions, !regions.contains(region) {
                r.fail(body, path, expected: "a region of accounts.regions (\(Names.listed(regions)))", found: "unknown region '\(region)'",
                       hint: Suggest.hint(for: region, in: regions))
                return nil
            }
            return .regionOutage(region)
        default:
            guard let f = r.fields(body, path, allowed: ["account", "rate"], what: "{account: account(acct-1), rate: 50/s}")
            else { return nil }
            let target = r.required(f, "account", expected: "the accounts the calls hit: account(<name>) or all")
                .flatMap { accountSelector($0, f.path("account"), keyword) }
            let rate = r.required(f, "rate", expected: "control-plane calls per second, such as 50/s")
                .flatMap { r.rate($0, f.path("rate")) }
            guard let target, let rate else { return nil }
            return .apiStorm(target, rate: rate)
        }
    }

    /// `account(<name>)` (a known account), `all` (every account) or `service(<name>)` (the
    /// accounts that service runs in, whatever the placement — so one schedule fits every strategy).
    func accountSelector(_ node: SourceNode, _ path: String, _ keyword: String) -> Selector? {
        let expected = "account(<name>), service(<name>) or all (\(keyword) acts on whole accounts)"
        guard let text = node.scalar else {
            reader.fail(node, path, expected: expected)
            return nil
        }
        switch Selectors.parse(text) {
        case .account, .all, .service: return selectors.selector(node, path)
        default:
            reader.fail(node, path, expected: expected, found: "'\(text)'",
                        hint: text.hasPrefix("acct-") ? "write account(\(text))" : nil)
            return nil
        }
    }

    /// `[[n1, n2], [n3]]` (groups), `minority` (isolate), `{from: [n1], to: [n2, n3]}` (one way).
    func partition(_ body: SourceNode, _ path: String) -> FaultAction? {
        let r = reader
        if body.scalar != nil {
            return selectors.selector(body, path).map { .partition(.isolate($0)) }
        }
        if let groups = body.items {
            guard groups.count >= 2, groups.allSatisfy({ $0.items != nil }) else {
                r.fail(body, path, expected: "two or more groups such as [[n1, n2], [n3]]",
                       hint: "to cut some nodes off from all others write partition: n1 or partition: zone(a)")
                return nil
            }
            let parsed = groups.enumerated().map { selectors.selectors($0.element, KeyPath.index(path, $0.offset)) }
            guard !parsed.contains(where: { $0 == nil }) else { return nil }
            return .partition(.groups(parsed.compactMap { $0 }))
        }
        guard let f = r.fields(body, path, allowed: ["from", "to"],
                               what: "groups [[n1, n2], [n3]], a selector, or {from: [n1], to: [n2, n3]}") else { return nil }
        let from = r.required(f, "from", expected: "the side whose messages are dropped").flatMap { selectors.selectors($0, f.path("from")) }
        let to = r.required(f, "to", expected: "the side that stops receiving them").flatMap { selectors.selectors($0, f.path("to")) }
        guard let from, let to else { return nil }
        return .partition(.oneWay(from: from, to: to))
    }

    /// `from`/`to` (one way), `between: [a, b]` (both ways), or neither (every link).
    func link(_ f: Fields) -> Link? {
        let r = reader
        if let between = f["between"] {
            if f.has("from") || f.has("to") {
                r.fail(between, f.path("between"), expected: "either between or from/to", found: "both")
                return nil
            }
            guard let sides = between.items, sides.count == 2 else {
                r.fail(between, f.path("between"), expected: "two sides such as [n1, n2] or [zone(a), [n3, n4]]")
                return nil
            }
            let a = selectors.selectors(sides[0], KeyPath.index(f.path("between"), 0))
            let b = selectors.selectors(sides[1], KeyPath.index(f.path("between"), 1))
            guard let a, let b else { return nil }
            return Link(from: a, to: b, bothWays: true)
        }
        if !f.has("from") && !f.has("to") { return Link(from: [.all], to: [.all], bothWays: true) }
        let from = f["from"].map { selectors.selectors($0, f.path("from")) } ?? [.all]
        let to = f["to"].map { selectors.selectors($0, f.path("to")) } ?? [.all]
        guard let from, let to else { return nil }
        return Link(from: from, to: to, bothWays: false)
    }
}
