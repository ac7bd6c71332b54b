import Foundation

/// A scenario as editable text: the parsed YAML tree with `--set` overrides applied, the edits a
/// shrinker makes (drop faults, shorten them, move them earlier, shorten the run, lower rates),
/// and the YAML it writes back. Every edit returns a new value; `scenario()` validates it as a
/// file would be, so whatever a shrinker accepts is a scenario `faultline run` accepts.
public struct ScenarioSource: Sendable {
    var root: SourceNode
    public let file: String

    /// One entry of `faults:` as written (times in ns).
    public struct FaultEntry: Sendable, Equatable {
        public var at: Int64
        public var duration: Int64?
        /// The entry as one line of YAML, e.g. `{at: 8s, crash: n1}`.
        public var text: String
    }

    public init(yaml: String, file: String, overrides: [String] = []) throws(ScenarioErrors) {
        // Validate first: the errors (with file:line:col) are the loader's.
        _ = try ScenarioLoader.parse(yaml: yaml, file: file, overrides: overrides)
        guard case .success(var root) = SourceNode.parse(yaml: yaml, file: file) else {
            throw ScenarioErrors([ScenarioError(location: SourceLocation(file: file, line: 1, column: 1), keyPath: "",
                                                expected: "YAML", found: "text that does not parse")])
        }
        for (index, text) in overrides.enumerated() { _ = Overrides.apply(text, line: index + 1, to: &root) }
        self.root = root
        self.file = file
    }

    public static func load(path: String, overrides: [String] = []) throws(ScenarioErrors) -> ScenarioSource {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            _ = try ScenarioLoader.load(path: path, overrides: overrides)  // throws the loader's error
            throw ScenarioErrors([])
        }
        return try ScenarioSource(yaml: text, file: path, overrides: overrides)
    }

    /// The validated scenario this text describes.
    public func scenario() throws(ScenarioErrors) -> Scenario {
        try ScenarioLoader.parse(yaml: yaml(), file: file)
    }

    // MARK: Reading

    private func value(_ key: String) -> SourceNode? {
        root.entries?.first { $0.key.scalar == key }?.value
    }

    private func durationValue(_ key: String) -> Int64? {
        value(key)?.scalar.flatMap { try? Units.duration($0) }
    }

    /// `duration:` in ns.
    public var duration: Int64? { durationValue("duration") }
    /// `warmup:` in ns (0 when absent).
    public var warmup: Int64 { durationValue("warmup") ?? 0 }
    /// Whether a nemesis draws faults at run time (they are not in `faults:`).
    public var hasNemesis: Bool { value("nemesis").map { !$0.isNull } ?? false }

    public var faults: [FaultEntry] {
        (value("faults")?.items ?? []).map { item in
            let at = field(item, "at").flatMap { try? Units.duration($0) } ?? 0
            let duration = field(item, "for").flatMap { try? Units.duration($0) }
            return FaultEntry(at: at, duration: duration, text: Self.flow(item))
        }
    }

    private func field(_ node: SourceNode, _ key: String) -> String? {
        node.entries?.first { $0.key.scalar == key }?.value.scalar
    }

    /// Publish rates (messages per second) of the workload's `publish:` entries, in order.
    public var publishRates: [Double] {
        (value("workload")?.items ?? []).compactMap { item in
            item.entries?.first { $0.key.scalar == "publish" }.flatMap { field($0.value, "rate") }.flatMap(Self.perSecond)
        }
    }

    static func perSecond(_ text: String) -> Double? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let n = Double(parts[0].trimmingCharacters(in: .whitespaces)) else { return nil }
        switch parts[1].trimmingCharacters(in: .whitespaces) {
        case "s": return n
        case "ms": return n * 1e3
        case "m", "min": return n / 60
        default: return nil
        }
    }

    /// `cluster.nodes` when written as a count.
    public var nodeCount: Int? {
        value("cluster").flatMap { field($0, "nodes") }.flatMap { Int($0) }
    }

    /// Names of `broker.streams`, in order.
    public var streamNames: [String] {
        (value("broker").flatMap { $0.entries?.first { $0.key.scalar == "streams" }?.value.items } ?? []).compactMap { field($0, "name") }
    }

    /// How many `workload:` entries there are.
    public var workloadCount: Int { value("workload")?.items?.count ?? 0 }

    // MARK: Edits

    /// Whether `compare:` axes make a plain run several configurations.
    public var hasCompareAxes: Bool { value("compare").map { !$0.isNull } ?? false }

    /// Without `compare:`: one configuration, the one the overrides chose.
    public func withoutCompareAxes() -> ScenarioSource {
        guard case .mapping(var top) = root.kind else { return self }
        top.removeAll { $0.key.scalar == "compare" }
        var copy = self
        copy.root.kind = .mapping(top)
        return copy
    }

    /// One node fewer (the last: `n<N>` goes). A fault or stream naming it makes the result invalid.
    public func withOneNodeFewer() -> ScenarioSource {
        guard let count = nodeCount, count > 1, let cluster = value("cluster") else { return self }
        return setting("cluster", to: replacing("nodes", in: cluster, with: String(count - 1)))
    }

    /// Without stream `name` and the workload entries that publish to or consume from it.
    public func removingStream(_ name: String) -> ScenarioSource {
        guard let broker = value("broker"), var entries = broker.entries,
              let s = entries.firstIndex(where: { $0.key.scalar == "streams" }), let streams = entries[s].value.items else { return self }
        var streamsNode = entries[s].value
        streamsNode.kind = .sequence(streams.filter { field($0, "name") != name })
        entries[s].value = streamsNode
        var brokerNode = broker
        brokerNode.kind = .mapping(entries)
        var copy = setting("broker", to: brokerNode)
        if let workload = value("workload"), let items = workload.items {
            var node = workload
            node.kind = .sequence(items.filter { item in
                !(item.entries ?? []).contains { field($0.value, "stream") == name }
            })
            copy = copy.setting("workload", to: node)
        }
        return copy
    }

    /// Without workload entry `index`.
    public func removingWorkload(_ index: Int) -> ScenarioSource {
        guard let workload = value("workload"), let items = workload.items, items.indices.contains(index) else { return self }
        var node = workload
        node.kind = .sequence(items.enumerated().filter { $0.offset != index }.map(\.element))
        return setting("workload", to: node)
    }

    /// Without `nemesis:`, its strikes written into `faults:` instead (after the file's own
    /// faults, in time order). nil when a strike has no explicit form.
    public func materialisingNemesis(_ strikes: [MaterialisedFault]) -> ScenarioSource? {
        var entries: [SourceNode] = []
        for strike in strikes {
            guard let texts = strike.yamlEntries else { return nil }
            for text in texts {
                guard case .success(let node) = SourceNode.parse(yaml: text, file: file) else { return nil }
                entries.append(node)
            }
        }
        guard case .mapping(var top) = root.kind else { return nil }
        top.removeAll { $0.key.scalar == "nemesis" }
        var copy = self
        copy.root.kind = .mapping(top)
        let existing = value("faults")?.items ?? []
        let faults = SourceNode(kind: .sequence(existing + entries), location: root.location)
        return copy.setting("faults", to: faults)
    }

    private func setting(_ key: String, to node: SourceNode) -> ScenarioSource {
        var copy = self
        guard case .mapping(var entries) = root.kind else { return self }
        if let i = entries.firstIndex(where: { $0.key.scalar == key }) {
            entries[i].value = node
        } else {
            entries.append((SourceNode(kind: .scalar(key, quoted: false), location: root.location), node))
        }
        copy.root.kind = .mapping(entries)
        return copy
    }

    private func scalar(_ text: String) -> SourceNode {
        SourceNode(kind: .scalar(text, quoted: false), location: root.location)
    }

    public func with(duration nanos: Int64) -> ScenarioSource {
        setting("duration", to: scalar(Self.durationText(nanos)))
    }

    /// `seeds:` so that a plain `faultline run` (seeds 1…N) includes `seed`.
    public func with(seeds: UInt64) -> ScenarioSource {
        setting("seeds", to: scalar(String(seeds)))
    }

    /// Without the faults at these indices (of `faults`).
    public func removingFaults(_ indices: Set<Int>) -> ScenarioSource {
        editingFaults { items in items.enumerated().filter { !indices.contains($0.offset) }.map(\.element) }
    }

    /// Every fault `by` earlier (never before 0).
    public func shiftingFaults(earlierBy nanos: Int64) -> ScenarioSource {
        editingFaults { items in
            items.map { item in
                guard let at = field(item, "at").flatMap({ try? Units.duration($0) }) else { return item }
                return replacing("at", in: item, with: Self.durationText(max(0, at - nanos)))
            }
        }
    }

    /// Fault `index` held for `nanos` instead (its `for:`).
    public func settingFaultDuration(_ index: Int, to nanos: Int64) -> ScenarioSource {
        editingFaults { items in
            var items = items
            items[index] = replacing("for", in: items[index], with: Self.durationText(nanos))
            return items
        }
    }

    /// Every `publish:` rate scaled by `factor`.
    public func scalingPublishRates(by factor: Double) -> ScenarioSource {
        guard let workload = value("workload"), let items = workload.items else { return self }
        let scaled = items.map { item -> SourceNode in
            guard var entries = item.entries, let p = entries.firstIndex(where: { $0.key.scalar == "publish" }),
                  let rate = field(entries[p].value, "rate"), let perSecond = Self.perSecond(rate) else { return item }
            entries[p].value = replacing("rate", in: entries[p].value, with: Self.rateText(perSecond * factor))
            var copy = item
            copy.kind = .mapping(entries)
            return copy
        }
        var node = workload
        node.kind = .sequence(scaled)
        return setting("workload", to: node)
    }

    private func editingFaults(_ edit: ([SourceNode]) -> [SourceNode]) -> ScenarioSource {
        guard let faults = value("faults"), let items = faults.items else { return self }
        var node = faults
        node.kind = .sequence(edit(items))
        return setting("faults", to: node)
    }

    private func replacing(_ key: String, in node: SourceNode, with text: String) -> SourceNode {
        guard var entries = node.entries, let i = entries.firstIndex(where: { $0.key.scalar == key }) else { return node }
        entries[i].value = scalar(text)
        var copy = node
        copy.kind = .mapping(entries)
        return copy
    }

    public static func durationText(_ nanos: Int64) -> String {
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        if nanos % 1_000 == 0 { return "\(nanos / 1_000)us" }
        return "\(nanos)ns"
    }

    static func rateText(_ perSecond: Double) -> String {
        let rounded = max(1, perSecond.rounded())
        return "\(Int(rounded))/s"
    }

    // MARK: Writing

    /// The scenario as YAML: block style at the top, one-line flow style for entries that fit.
    public func yaml() -> String {
        var out = ""
        Self.block(root, indent: 0, into: &out)
        return out
    }

    private static func block(_ node: SourceNode, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        switch node.kind {
        case .mapping(let entries):
            for (key, value) in entries {
                let k = scalarText(key, inFlow: false)
                if isCollection(value), !fitsOnOneLine(value, indent: indent + k.count + 2) {
                    out += "\(pad)\(k):\n"
                    block(value, indent: indent + 2, into: &out)
                } else {
                    out += "\(pad)\(k): \(flow(value))\n"
                }
            }
        case .sequence(let items):
            for item in items {
                if isCollection(item), !fitsOnOneLine(item, indent: indent + 2) {
                    // A block item: the first line after "- ", the rest indented under it.
                    var inner = ""
                    block(item, indent: indent + 2, into: &inner)
                    let dropped = inner.dropFirst(indent + 2)
                    out += "\(pad)- \(dropped)"
                } else {
                    out += "\(pad)- \(flow(item))\n"
                }
            }
        case .scalar:
            out += "\(pad)\(flow(node))\n"
        }
    }

    private static func isCollection(_ node: SourceNode) -> Bool {
        if case .scalar = node.kind { return false }
        return true
    }

    private static func fitsOnOneLine(_ node: SourceNode, indent: Int) -> Bool {
        indent + flow(node).count <= 110
    }

    /// One-line YAML for a node.
    static func flow(_ node: SourceNode) -> String {
        switch node.kind {
        case .scalar: return node.isNull ? "null" : scalarText(node, inFlow: true)
        case .sequence(let items): return "[" + items.map(flow).joined(separator: ", ") + "]"
        case .mapping(let entries):
            return "{" + entries.map { "\(scalarText($0.key, inFlow: true)): \(flow($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// A scalar as written when that reads back the same (plain), else double-quoted.
    private static func scalarText(_ node: SourceNode, inFlow: Bool) -> String {
        guard case .scalar(let text, let quoted) = node.kind else { return flow(node) }
        if !quoted, isPlainSafe(text, inFlow: inFlow) { return text }
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default:
                if scalar.value < 0x20 { escaped += String(format: "\\x%02X", scalar.value) } else { escaped.unicodeScalars.append(scalar) }
            }
        }
        return escaped + "\""
    }

    private static func isPlainSafe(_ text: String, inFlow: Bool) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if " -?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first), !(first == "-" && text.count > 1 && text.dropFirst().first?.isNumber == true) {
            return false
        }
        if last == " " || last == ":" { return false }
        if text.contains(": ") || text.contains(" #") || text.contains("\n") { return false }
        if inFlow, text.contains(where: { ",[]{}".contains($0) }) { return false }
        return true
    }
}
