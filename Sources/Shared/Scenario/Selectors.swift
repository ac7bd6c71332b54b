import Sampling

/// Reads selector text (`n1`, `zone(a)`, `random-node`, `station(tokeninfo)`, …) against the
/// names the scenario defines.
struct Selectors {
    let reader: Reader
    let names: Names

    static let keywords = ["random-node", "minority", "majority", "all", "crashed", "paused", "metadata-leader"]
    static let functions = ["zone", "station", "leader", "follower", "account", "service"]
    static let forms = "a node name, zone(…), station(…), service(…), leader(…), follower(…), account(…), random-node, minority, majority, all, crashed, paused or metadata-leader"

    /// Parses selector text without checking names; `nil` if the text has no selector shape.
    static func parse(_ text: String) -> Selector? {
        switch text {
        case "random-node": return .randomNode
        case "minority": return .minority
        case "majority": return .majority
        case "all": return .all
        case "crashed": return .crashed
        case "paused": return .paused
        case "metadata-leader": return .metadataLeader
        default: break
        }
        if let open = text.firstIndex(of: "("), text.hasSuffix(")") {
            let function = String(text[..<open])
            let argument = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
                .trimmingCharacters(in: .whitespaces)
            guard !argument.isEmpty else { return nil }
            switch function {
            case "zone": return .zone(argument)
            case "station": return .station(argument)
            case "leader": return .leader(argument)
            case "follower": return .follower(argument)
            case "account": return .account(argument)
            case "service": return .service(argument)
            default: return nil
            }
        }
        guard !text.isEmpty, !text.contains(where: { "()[]{}, ".contains($0) }) else { return nil }
        return .node(text)
    }

    func selector(_ node: SourceNode, _ path: String) -> Selector? {
        guard let text = node.scalar else {
            reader.fail(node, path, expected: "a selector: \(Selectors.forms)")
            return nil
        }
        guard let selector = Selectors.parse(text) else {
            var hint: String?
            if let open = text.firstIndex(of: "(") {
                hint = Suggest.hint(for: String(text[..<open]), in: Selectors.functions).map { $0 + " (as a function)" }
            }
            reader.fail(node, path, expected: "a selector: \(Selectors.forms)", hint: hint)
            return nil
        }
        switch selector {
        case .node(let name):
            let known = names.nodes + [ClusterSpec.clientName]
            guard known.contains(name) else {
                reader.fail(node, path, expected: "a node of the cluster (\(Names.listed(names.nodes))) or a selector keyword",
                            found: "unknown node '\(name)'",
                            hint: Suggest.hint(for: name, in: known + Selectors.keywords))
                return nil
            }
        case .zone(let zone):
            guard names.zones.contains(zone) else {
                reader.fail(node, path, expected: "a zone of the cluster (\(names.zones.joined(separator: ", ")))",
                            found: "unknown zone '\(zone)'", hint: Suggest.hint(for: zone, in: names.zones))
                return nil
            }
        case .leader(let stream), .follower(let stream):
            guard names.streams.contains(stream) else {
                reader.fail(node, path, expected: names.streams.isEmpty
                                ? "a stream of the broker (this scenario has no broker: section)"
                                : "a stream of the broker (\(names.streams.joined(separator: ", ")))",
                            found: "unknown stream '\(stream)'", hint: Suggest.hint(for: stream, in: names.streams))
                return nil
            }
        case .metadataLeader:
            guard names.hasBroker else {
                reader.fail(node, path, expected: "metadata-leader only with a broker: section", found: "no broker")
                return nil
            }
        case .station(let station):
            guard names.stations.contains(station) else {
                reader.fail(node, path, expected: "a station (\(names.stations.joined(separator: ", ")))",
                            found: "unknown station '\(station)'", hint: Suggest.hint(for: station, in: names.stations))
                return nil
            }
        case .service(let service):
            guard names.services.contains(service) else {
                reader.fail(node, path, expected: names.hasServices
                                ? "a service of the call graph (\(Names.listed(names.services)))"
                                : names.hasOrganisation
                                ? "a service of the organisation (\(Names.listed(names.services)))"
                                : "a service of the call graph (this scenario has no services: section)",
                            found: "unknown service '\(service)'", hint: Suggest.hint(for: service, in: names.services))
                return nil
            }
        case .account(let account):
            guard names.hasOrganisation else {
                reader.fail(node, path, expected: "an account of the organisation (this scenario has no organisation: section)",
                            found: "account '\(account)'")
                return nil
            }
            guard !names.checkAccounts || names.accounts.contains(account) else {
                reader.fail(node, path,
                            expected: "an account of the \(names.accountStrategy.rawValue) placement (\(Names.listed(names.accounts)))",
                            found: "unknown account '\(account)'", hint: Suggest.hint(for: account, in: names.accounts))
                return nil
            }
        case .randomNode, .minority, .majority, .all, .crashed, .paused:
            break
        }
        return selector
    }

    /// A selector or a list of selectors.
    func selectors(_ node: SourceNode, _ path: String) -> [Selector]? {
        if let items = node.items {
            guard !items.isEmpty else {
                reader.fail(node, path, expected: "at least one selector")
                return nil
            }
            let parsed = items.enumerated().map { selector($0.element, KeyPath.index(path, $0.offset)) }
            return parsed.contains(where: { $0 == nil }) ? nil : parsed.compactMap { $0 }
        }
        return selector(node, path).map { [$0] }
    }
}

extension Selector {
    /// Parses the text form (`n1`, `zone(a)`, `random-node`, …) without checking that the
    /// named node, zone or station exists; `nil` if the text has no selector shape.
    public init?(parsing text: String) {
        guard let selector = Selectors.parse(text) else { return nil }
        self = selector
    }
}
