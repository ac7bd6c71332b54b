import Sampling

/// `nemesis:` — the randomised fault generator.
extension ScenarioBuilder {
    func nemesis(_ node: SourceNode, _ path: String, names: Names) -> NemesisSpec? {
        let r = reader
        guard let f = r.fields(node, path, allowed: ["interval", "duration", "start", "stop", "actions", "targets", "swarm"]) else {
            return nil
        }
        let interval = r.required(f, "interval", expected: "a positive duration such as 10s")
            .flatMap { r.duration($0, f.path("interval"), positive: true) }
        let duration = r.required(f, "duration", expected: "how long each fault lasts, such as 3s")
            .flatMap { r.duration($0, f.path("duration"), positive: true) }
        let start = f["start"].map { r.duration($0, f.path("start")) } ?? 0
        let stop = f["stop"].flatMap { r.duration($0, f.path("stop")) }
        if let start, let stop, let n = f["stop"], stop <= start {
            r.fail(n, f.path("stop"), expected: "a stop time after start")
        }
        var actions: [NemesisAction] = []
        let known = NemesisAction.allCases.map(\.rawValue)
        if let n = r.required(f, "actions", expected: "a list of actions from \(known.joined(separator: ", "))"),
           let items = r.sequence(n, f.path("actions"), of: "actions from \(known.joined(separator: ", "))") {
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(f.path("actions"), i)
                guard let text = r.string(item, p, expected: "an action name") else { continue }
                if let action = NemesisAction(rawValue: text) {
                    if !actions.contains(action) { actions.append(action) }
                } else {
                    r.fail(item, p, expected: "one of \(known.joined(separator: ", "))", found: "'\(text)'",
                           hint: Suggest.hint(for: text, in: known))
                }
            }
            if items.isEmpty { r.fail(n, f.path("actions"), expected: "at least one action") }
        }
        var targets = Selector.randomNode
        if let n = f["targets"], let s = Selectors(reader: r, names: names).selector(n, f.path("targets")) { targets = s }
        let swarm = f["swarm"].flatMap { r.bool($0, f.path("swarm")) } ?? false
        guard let interval, let duration, let start, !actions.isEmpty else { return nil }
        var spec = NemesisSpec(interval: interval, duration: duration, start: start, stop: stop, actions: actions,
                               targets: targets)
        spec.swarm = swarm
        return spec
    }
}
