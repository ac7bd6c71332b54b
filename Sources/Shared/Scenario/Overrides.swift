import Foundation

/// `--set key.path=value`: edits the YAML tree before validation, so an overridden value is
/// checked exactly like one written in the file, and its errors point at `--set:N:col`
/// (N = which `--set`, 1-based; col = column in that override's text).
enum Overrides {
    /// Applies one override; returns the error if it cannot be applied.
    static func apply(_ text: String, line: Int, to root: inout SourceNode) -> ScenarioError? {
        let file = SourceLocation.overrideFile
        func at(_ column: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column) }

        guard let equals = text.firstIndex(of: "=") else {
            return ScenarioError(location: at(1), keyPath: "", expected: "an override such as key.path=value",
                                 found: "'\(text)'", hint: "write e.g. cluster.nodes=5 or stations.0.servers=2")
        }
        let pathText = String(text[..<equals])
        let valueText = String(text[text.index(after: equals)...])
        let components: [(name: String, column: Int)]
        switch split(pathText, at: at) {
        case .success(let parts): components = parts
        case .failure(let error): return error
        }

        let valueColumnOffset = text[..<text.index(after: equals)].unicodeScalars.count
        let value: SourceNode
        switch SourceNode.parse(yaml: valueText, file: file, lineOverride: line, columnOffset: valueColumnOffset) {
        case .success(let node):
            value = node.isNull ? .null(at: at(valueColumnOffset + 1)) : node
        case .failure(var error):
            error.keyPath = pathText
            return error
        }
        return set(&root, components[...], value: value, path: "", at: at)
    }

    /// Puts `value` at a `--set`-style key path (`compare:` uses it to try each value). `at` maps a
    /// column of `pathText` (1-based) to the location reported for that path component.
    static func set(path pathText: String, to value: SourceNode, in root: inout SourceNode,
                    at: (Int) -> SourceLocation) -> ScenarioError? {
        switch split(pathText, at: at) {
        case .success(let components): return set(&root, components[...], value: value, path: "", at: at)
        case .failure(let error): return error
        }
    }

    /// Splits a key path, remembering each component's column for error positions.
    static func split(_ pathText: String, at: (Int) -> SourceLocation)
        -> Result<[(name: String, column: Int)], ScenarioError>
    {
        var components: [(name: String, column: Int)] = []
        var column = 1
        for part in pathText.split(separator: ".", omittingEmptySubsequences: false) {
            let name = String(part).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                return .failure(ScenarioError(location: at(column), keyPath: pathText,
                                              expected: "a key path such as stations.0.servers",
                                              found: "'\(pathText)'", hint: "a path component is empty"))
            }
            components.append((name, column))
            column += part.unicodeScalars.count + 1
        }
        return .success(components)
    }

    private static func set(_ node: inout SourceNode, _ components: ArraySlice<(name: String, column: Int)>,
                            value: SourceNode, path: String, at: (Int) -> SourceLocation) -> ScenarioError? {
        guard let (name, column) = components.first else {
            node = value
            return nil
        }
        let rest = components.dropFirst()
        let location = at(column)

        if node.isNull { node = SourceNode(kind: .mapping([]), location: node.location) }
        switch node.kind {
        case .mapping(var entries):
            let childPath = KeyPath.child(path, name)
            if let index = entries.firstIndex(where: { $0.key.scalar == name }) {
                if let error = set(&entries[index].value, rest, value: value, path: childPath, at: at) { return error }
            } else {
                // A missing key is created; validation still rejects keys that don't belong.
                var child = rest.isEmpty ? value : SourceNode(kind: .mapping([]), location: location)
                if let error = set(&child, rest, value: value, path: childPath, at: at) { return error }
                entries.append((key: SourceNode(kind: .scalar(name, quoted: false), location: location), value: child))
            }
            node.kind = .mapping(entries)
            return nil

        case .sequence(var items):
            let index: Int
            if let number = Int(name) {
                guard items.indices.contains(number) else {
                    return ScenarioError(location: location, keyPath: KeyPath.child(path, name),
                                         expected: "an index below \(items.count) or the name of an element",
                                         found: "'\(name)'")
                }
                index = number
            } else {
                let named = items.map { $0.entries?.first(where: { $0.key.scalar == "name" })?.value.scalar }
                guard let found = named.firstIndex(where: { $0 == name }) else {
                    let candidates = named.compactMap { $0 }
                    return ScenarioError(
                        location: location, keyPath: KeyPath.child(path, name),
                        expected: candidates.isEmpty ? "an index below \(items.count)"
                            : "an index below \(items.count) or one of the names \(candidates.joined(separator: ", "))",
                        found: "'\(name)'", hint: Suggest.hint(for: name, in: candidates))
                }
                index = found
            }
            if let error = set(&items[index], rest, value: value, path: KeyPath.index(path, index), at: at) {
                return error
            }
            node.kind = .sequence(items)
            return nil

        case .scalar:
            return ScenarioError(location: location, keyPath: KeyPath.child(path, name),
                                 expected: "a mapping or list at \(path.isEmpty ? "the top level" : path)",
                                 found: node.foundDescription + " (\(node.location))")
        }
    }
}
