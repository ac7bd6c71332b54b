import Foundation
import Sampling

/// YAML scenario file → validated `Scenario`. The format is documented in Scenarios/README.md.
public enum ScenarioLoader {
    public static let topLevelKeys = [
        "name", "description", "duration", "warmup", "seeds", "cluster", "broker", "services", "auth", "organisation",
        "accounts", "stations", "workload", "faults", "nemesis", "checks", "slos", "compare", "live", "hypothesis", "rollbacks",
        "regression", "timeseries",
    ]

    /// Reads and validates a scenario file. `overrides` are `key.path=value` strings (`--set`).
    public static func load(path: String, overrides: [String] = []) throws(ScenarioErrors) -> Scenario {
        // Errors name the file as the user wrote it, so an editor can jump to it.
        let file = path
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ScenarioErrors([ScenarioError(
                location: SourceLocation(file: path, line: 1, column: 1), keyPath: "",
                expected: "a readable scenario file",
                found: exists ? (isDirectory.boolValue ? "a directory" : "a file that cannot be read") : "no such file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors([ScenarioError(
                location: SourceLocation(file: file, line: 1, column: 1), keyPath: "",
                expected: "UTF-8 text", found: "bytes that are not UTF-8")])
        }
        return try parse(yaml: text, file: file, overrides: overrides)
    }

    /// Parses and validates scenario text; `file` is only used in error locations and `sourceFile`.
    public static func parse(yaml: String, file: String, overrides: [String] = []) throws(ScenarioErrors) -> Scenario {
        var root: SourceNode
        switch SourceNode.parse(yaml: yaml, file: file) {
        case .success(let node): root = node
        case .failure(let error): throw ScenarioErrors([error])
        }
        var overrideErrors: [ScenarioError] = []
        for (index, text) in overrides.enumerated() {
            if let error = Overrides.apply(text, line: index + 1, to: &root) { overrideErrors.append(error) }
        }
        let reader = Reader()
        reader.errors = overrideErrors
        let scenario = ScenarioBuilder(reader: reader, file: file).build(root)
        if !reader.errors.isEmpty { throw ScenarioErrors(reader.errors) }
        guard let scenario else {
            // Every path that returns nil records an error; this is a belt-and-braces guard.
            throw ScenarioErrors([ScenarioError(location: root.location, keyPath: "", expected: "a valid scenario",
                                                found: "an invalid one")])
        }
        return scenario
    }
}

/// Names that selectors and references may use, collected from the parts read earlier.
struct Names {
    var nodes: [String] = []
    var zones: [String] = []
    var stations: [String] = []
    var streams: [String] = []
    var hasBroker = false
    /// Services of the call graph, and `tokeninfo` (empty without `services:`).
    var services: [String] = []
    var hasServices = false
    /// `organisation:` is there (its services are in `services`, its replicas in `nodes`).
    var hasOrganisation = false
    /// The organisation's teams and services as written; `nil` when they cannot be told.
    var teams: [String]?
    var organisationServices: [String]?
    /// The accounts of the placement (for `account(…)` selectors) and its strategy.
    var accounts: [String] = []
    var accountStrategy = PlacementStrategySetting.single
    /// `false` while the placement itself has errors, so `account(…)` is not checked against a wrong list.
    var checkAccounts = true
    /// `accounts.regions`; `nil` when they have errors (then any region is accepted).
    var regions: [String]?

    /// Names for an error message, shortened when there are many (a generated graph has thousands).
    static func listed(_ names: [String], limit: Int = 12) -> String {
        guard names.count > limit else { return names.joined(separator: ", ") }
        return names.prefix(limit - 2).joined(separator: ", ") + ", … (\(names.count) in all)"
    }
}

struct ScenarioBuilder {
    let reader: Reader
    let file: String

    func build(_ root: SourceNode) -> Scenario? {
        let r = reader
        let top: SourceNode = root.isNull
            ? SourceNode(kind: .mapping([]), location: root.location) : root
        guard let f = r.fields(top, "", allowed: ScenarioLoader.topLevelKeys,
                               what: "a mapping of scenario keys (name, duration, cluster, …)") else { return nil }

        let name = f["name"].flatMap { r.string($0, "name") }
            ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let description = f["description"].flatMap { r.string($0, "description", expected: "text") } ?? ""
        let duration = r.required(f, "duration", expected: "a positive duration such as 60s")
            .flatMap { r.duration($0, "duration", positive: true) }
        let warmup = f["warmup"].flatMap { r.duration($0, "warmup") } ?? 0
        if let duration, let node = f["warmup"], warmup >= duration {
            r.fail(node, "warmup", expected: "a warm-up shorter than the duration (\(duration / Nanos.millisecond)ms)")
        }
        let seeds = f["seeds"].flatMap { r.integer($0, "seeds", minimum: 1, expected: "a positive integer") } ?? 10

        var names = Names()
        var cluster = f["cluster"].flatMap { self.cluster($0, "cluster") } ?? ClusterSpec()
        // A call graph or an organisation brings its own processes: no idle default node unless
        // nodes are asked for.
        if (f.has("services") || f.has("organisation")) && !(f["cluster"]?.entries?.contains { $0.key.scalar == "nodes" } ?? false) {
            cluster.nodes = []
        }
        names.nodes = cluster.nodes.map(\.name)
        names.zones = cluster.zones

        let broker = f["broker"].flatMap { self.broker($0, "broker", names: names) }
        names.streams = broker?.streams.map(\.name) ?? []
        names.hasBroker = f.has("broker")

        var stations: [StationSpec] = []
        if let node = f["stations"], let items = r.sequence(node, "stations", of: "stations") {
            // Names count even when a station has other errors, so references to it don't
            // produce a second, misleading error.
            names.stations = items.compactMap { $0.entries?.first(where: { $0.key.scalar == "name" })?.value.scalar }
            for (i, item) in items.enumerated() {
                let path = KeyPath.index("stations", i)
                guard let station = self.station(item, path, names: names) else { continue }
                if stations.contains(where: { $0.name == station.name }) {
                    r.fail(item, path + ".name", expected: "a station name used once", found: "'\(station.name)' again")
                }
                stations.append(station)
            }
        }

        // The call graph and its token validation: read before the workload and faults, which name
        // its services and processes.
        names.hasServices = f["services"] != nil
        let mesh = f["services"].flatMap { self.mesh($0, "services", names: names) }
        // The multi-account model: an organisation's services, placed into accounts.
        names.hasOrganisation = f["organisation"] != nil
        if names.hasServices && names.hasOrganisation {
            r.fail(at: f.keyLocation("organisation"), "organisation",
                   expected: "either services: (the OAuth call graph) or organisation: (the multi-account model), not both",
                   found: "both services: and organisation:")
        }
        let organisation = f["organisation"].flatMap { self.organisation($0, "organisation", names: names) }
        var auth: AuthSpec?
        if let node = f["auth"] {
            let spec = self.auth(node, "auth", names: names)
            if names.hasServices || names.hasOrganisation {
                auth = spec
            } else {
                r.fail(at: f.keyLocation("auth"), "auth",
                       expected: "auth together with a call graph or an organisation (auth: needs services: or organisation:)",
                       found: "no services: or organisation: section")
            }
        } else if names.hasServices {
            auth = AuthSpec()
        }
        if let node = f["services"] { addMeshNames(to: &names, mesh: mesh, auth: auth, servicesNode: node) }
        if let node = f["organisation"] {
            addOrganisationNames(to: &names, organisation: organisation, auth: auth, node: node)
        }
        var accounts: AccountsSpec?
        if let node = f["accounts"] {
            if !names.hasOrganisation {
                r.fail(at: f.keyLocation("accounts"), "accounts",
                       expected: "accounts together with an organisation (accounts: needs organisation:)",
                       found: "no organisation: section")
            }
            accounts = self.accounts(node, "accounts", names: &names)
        } else if names.hasOrganisation {
            accounts = AccountsSpec()
            addAccountNames(to: &names, accounts: AccountsSpec())
        }

        var workload: [RequestWorkload] = []
        var publishes: [PublishWorkload] = []
        var consumers: [ConsumeWorkload] = []
        var meshWorkloads: [MeshWorkload] = []
        if let node = f["workload"], let items = r.sequence(node, "workload", of: "workload entries such as - requests: {…}") {
            for (i, item) in items.enumerated() {
                let path = KeyPath.index("workload", i)
                if Self.workloadKind(item) == "publish" {
                    if let entry = self.publish(item, path, names: names) { publishes.append(entry) }
                } else if Self.workloadKind(item) == "consume" {
                    if let entry = self.consume(item, path, names: names) { consumers.append(entry) }
                } else if Self.workloadKind(item) == "calls" {
                    if let entry = self.meshCalls(item, path, names: names) { meshWorkloads.append(entry) }
                } else if let entry = self.workload(item, path, names: names, duration: duration) {
                    workload.append(entry)
                }
            }
        }

        var faults: [FaultEvent] = []
        if let node = f["faults"], let items = r.sequence(node, "faults", of: "faults such as - {at: 10s, crash: n1}") {
            for (i, item) in items.enumerated() {
                if let fault = FaultReader(reader: r, names: names).fault(item, KeyPath.index("faults", i)) {
                    faults.append(fault)
                }
            }
        }
        faults = faults.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)

        let nemesis = f["nemesis"].flatMap { self.nemesis($0, "nemesis", names: names) }

        var checks: [String] = []
        if let node = f["checks"], let items = r.sequence(node, "checks", of: "check names") {
            for (i, item) in items.enumerated() {
                let path = KeyPath.index("checks", i)
                guard let check = r.string(item, path, expected: "a check name") else { continue }
                if CheckCatalog.brokerChecks.contains(check) && broker == nil && !f.has("broker") {
                    r.fail(item, path, expected: "a check of the models this scenario runs (\(check) needs a broker: section)",
                           found: "'\(check)'")
                } else if CheckCatalog.meshChecks.contains(check) && !names.hasServices && !names.hasOrganisation {
                    r.fail(item, path, expected: "a check of the models this scenario runs (\(check) needs services: or organisation:)",
                           found: "'\(check)'")
                } else if CheckCatalog.stationChecks.contains(check) && !f.has("stations") {
                    r.fail(item, path, expected: "a check of the models this scenario runs (\(check) needs stations:)",
                           found: "'\(check)'")
                } else if Scenario.knownChecks.contains(check) {
                    if !checks.contains(check) { checks.append(check) }
                } else {
                    r.fail(item, path, expected: "one of the checks \(Scenario.knownChecks.joined(separator: ", "))",
                           found: "unknown check '\(check)'", hint: Suggest.hint(for: check, in: Scenario.knownChecks))
                }
            }
        }

        let slos = f["slos"].map { self.slos($0, "slos") } ?? []

        var compare: [CompareAxis] = []
        if let node = f["compare"] {
            let entries = self.compare(node, "compare")
            compare = entries.map(\.axis)
            // Each value is tried only on a scenario that is valid as written, so its errors are its own.
            if r.errors.isEmpty { checkCompare(entries, root: top) }
        }

        let live = f["live"].flatMap { self.live($0, "live") }
        let hypothesis = f["hypothesis"].flatMap { self.hypothesis($0, "hypothesis") }
        let rollbacks = f["rollbacks"].map { self.rollbacks($0, "rollbacks", names: names) } ?? []
        let regression = f["regression"].flatMap { self.regression($0, "regression") }
        let timeSeriesWindow = f["timeseries"].flatMap { self.timeSeriesWindow($0, "timeseries") }

        guard let duration else { return nil }
        var scenario = Scenario(name: name, description: description, duration: duration, warmup: warmup, seeds: seeds,
                                cluster: cluster, stations: stations, workload: workload, faults: faults, nemesis: nemesis,
                                checks: checks, slos: slos, sourceFile: file)
        scenario.broker = broker
        scenario.publishes = publishes
        scenario.consumers = consumers
        scenario.mesh = mesh
        scenario.auth = auth
        scenario.meshWorkloads = meshWorkloads
        scenario.organisation = organisation
        scenario.accounts = names.hasOrganisation ? accounts : nil
        scenario.compare = compare
        scenario.live = live
        scenario.hypothesis = hypothesis
        scenario.regression = regression
        scenario.rollbacks = rollbacks
        if let timeSeriesWindow { scenario.timeSeriesWindow = timeSeriesWindow }
        if let hypothesis { checkHypothesisFits(hypothesis, scenario) }
        return scenario
    }

    /// `timeseries: { window: 1s }` — the width of the windows of the run's time series.
    private func timeSeriesWindow(_ node: SourceNode, _ path: String) -> Int64? {
        guard let f = reader.fields(node, path, allowed: ["window"], what: "a mapping such as { window: 1s }") else { return nil }
        guard let window = f["window"] else { return nil }
        guard let nanos = reader.duration(window, path + ".window", positive: true) else { return nil }
        if nanos < Nanos.millisecond {
            reader.fail(window, path + ".window", expected: "a window of at least 1ms")
            return nil
        }
        return nanos
    }

    /// The hypothesis needs a method to be checked around, room for its window before the method
    /// starts, and room to recover before the load ends.
    private func checkHypothesisFits(_ hypothesis: HypothesisSpec, _ scenario: Scenario) {
        let seconds = { (ns: Int64) in "\(Double(ns) / 1e9)s" }
        guard let span = scenario.methodSpan else {
            reader.fail(at: hypothesis.location, "hypothesis", expected: "a method to check the hypothesis around (faults: or nemesis:)",
                        found: "no faults and no nemesis")
            return
        }
        if span.start < hypothesis.window {
            reader.fail(at: hypothesis.location, "hypothesis.window",
                        expected: "a window that fits before the first fault (at \(seconds(span.start)))",
                        found: seconds(hypothesis.window), hint: "start the faults later or shorten the window")
        }
        if span.end + hypothesis.recoverWithin > scenario.duration {
            reader.fail(at: hypothesis.location, "hypothesis.recover_within",
                        expected: "recovery that fits in the run: the method ends at \(seconds(span.end)), the run at \(seconds(scenario.duration))",
                        found: seconds(hypothesis.recoverWithin), hint: "lengthen the run or shorten recover_within")
        }
    }
}

extension ScenarioLoader {
    /// A thresholds file (`faultline compare --thresholds FILE`): the same entries as a
    /// scenario's `regression:` section, at the top level or under `regression:`.
    public static func regression(path: String) throws(ScenarioErrors) -> RegressionSpec {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors([ScenarioError(location: SourceLocation(file: path, line: 1, column: 1), keyPath: "",
                                                expected: "a readable thresholds file (YAML)", found: "no such file")])
        }
        let parsed: SourceNode
        switch SourceNode.parse(yaml: text, file: path) {
        case .success(let node): parsed = node
        case .failure(let error): throw ScenarioErrors([error])
        }
        let reader = Reader()
        let spec = ScenarioBuilder(reader: reader, file: path).thresholdsDocument(parsed)
        if !reader.errors.isEmpty { throw ScenarioErrors(reader.errors) }
        return spec ?? RegressionSpec()
    }
}
