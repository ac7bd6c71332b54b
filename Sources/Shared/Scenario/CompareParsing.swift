import Sampling

/// `compare:` — settings `faultline run` tries side by side: `{auth.strategy: [central, local]}`.
extension ScenarioBuilder {
    /// One axis as written, with the nodes its errors are reported at.
    struct CompareEntry {
        var axis: CompareAxis
        var keyNode: SourceNode
        var valueNodes: [SourceNode]
    }

    func compare(_ node: SourceNode, _ path: String) -> [CompareEntry] {
        let r = reader
        guard let entries = node.entries else {
            r.fail(node, path, expected: "a mapping of key paths (as for --set) to values, such as {auth.strategy: [central, local]}")
            return []
        }
        var result: [CompareEntry] = []
        for (keyNode, valueNode) in entries {
            guard let key = keyNode.scalar else {
                r.fail(keyNode, path, expected: "a key path such as auth.strategy")
                continue
            }
            let p = KeyPath.child(path, key)
            if case .failure(let error) = Overrides.split(key, at: { keyNode.location.shifted(by: $0 - 1) }) {
                r.fail(at: error.location, p, expected: "a key path such as auth.strategy (as for --set)", found: "'\(key)'",
                       hint: error.hint)
                continue
            }
            guard let items = valueNode.items else {
                r.fail(valueNode, p, expected: "a list of values to compare, such as [central, local]")
                continue
            }
            if items.isEmpty {
                r.fail(valueNode, p, expected: "at least one value")
                continue
            }
            var values: [String] = []
            var nodes: [SourceNode] = []
            for (i, item) in items.enumerated() {
                let itemPath = KeyPath.index(p, i)
                guard let value = item.scalar else {
                    r.fail(item, itemPath, expected: "a scalar value such as local")
                    continue
                }
                if values.contains(value) {
                    r.fail(item, itemPath, expected: "each value once", found: "'\(value)' again")
                    continue
                }
                values.append(value)
                nodes.append(item)
            }
            result.append(CompareEntry(axis: CompareAxis(key: key, values: values), keyNode: keyNode, valueNodes: nodes))
        }
        return result
    }

    /// Validates the scenario once per compared value, as `faultline run` will build it, so that a
    /// value that cannot work (a misspelt strategy, a graph too large) is reported now, at the value.
    func checkCompare(_ entries: [CompareEntry], root: SourceNode) {
        guard case .mapping(let topEntries) = root.kind else { return }
        var base = root
        base.kind = .mapping(topEntries.filter { $0.key.scalar != "compare" })
        for entry in entries {
            let key = entry.axis.key
            let keyPath = KeyPath.child("compare", key)
            let keyLocation = entry.keyNode.location
            let keyColumns = keyLocation.column..<(keyLocation.column + key.unicodeScalars.count)
            for (i, valueNode) in entry.valueNodes.enumerated() {
                let valuePath = KeyPath.index(keyPath, i)
                var trial = base
                if let error = Overrides.set(path: key, to: valueNode, in: &trial, at: { keyLocation.shifted(by: $0 - 1) }) {
                    reader.fail(at: error.location, keyPath, expected: error.expected, found: error.found, hint: error.hint)
                    break
                }
                let trialReader = Reader()
                _ = ScenarioBuilder(reader: trialReader, file: file).build(trial)
                var keyFailed = false
                for error in trialReader.errors {
                    let location = error.location
                    if location == valueNode.location {
                        reader.fail(at: location, valuePath, expected: error.expected, found: error.found, hint: error.hint)
                    } else if location.file == keyLocation.file && location.line == keyLocation.line
                                && keyColumns.contains(location.column) {
                        // A path component that does not belong (created by the trial, checked like --set).
                        reader.fail(at: location, keyPath, expected: error.expected, found: error.found, hint: error.hint)
                        keyFailed = true
                    } else {
                        reader.fail(valueNode, valuePath, expected: "a value with which the scenario is valid",
                                    found: "'\(valueNode.scalar ?? "")', with which \(error)")
                    }
                }
                // A bad key path fails the same way for every value.
                if keyFailed { break }
            }
        }
    }
}

extension SourceLocation {
    func shifted(by columns: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + columns)
    }
}
