import Sampling

/// Key paths as shown in errors: `stations[0].service.exponential`.
enum KeyPath {
    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    static func index(_ path: String, _ index: Int) -> String { "\(path)[\(index)]" }
}

/// A mapping whose keys were checked against the keys allowed at its level.
struct Fields {
    let node: SourceNode
    let path: String
    private(set) var values: [String: (key: SourceNode, value: SourceNode)] = [:]
    /// Keys in the order written (for "exactly one of" checks).
    private(set) var order: [String] = []
    /// Keys that are not allowed here (already reported).
    var unknownKeys: [String] = []

    init(node: SourceNode, path: String, entries: [(key: SourceNode, value: SourceNode)]) {
        self.node = node
        self.path = path
        for entry in entries {
            guard let key = entry.key.scalar else { continue }
            if values[key] == nil { order.append(key) }
            values[key] = entry
        }
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    /// The value node, including an explicit null.
    func raw(_ key: String) -> SourceNode? { values[key]?.value }

    /// The value node; an explicit null (`warmup:`) counts as absent, so the default applies.
    subscript(_ key: String) -> SourceNode? {
        guard let value = values[key]?.value, !value.isNull else { return nil }
        return value
    }

    func path(_ key: String) -> String { KeyPath.child(path, key) }
    func keyLocation(_ key: String) -> SourceLocation { values[key]?.key.location ?? node.location }
}

/// Reads a `SourceNode` tree into model values, collecting every error instead of stopping.
final class Reader {
    var errors: [ScenarioError] = []

    func fail(_ node: SourceNode, _ path: String, expected: String, found: String? = nil, hint: String? = nil) {
        errors.append(ScenarioError(location: node.location, keyPath: path, expected: expected,
                                    found: found ?? node.foundDescription, hint: hint))
    }

    func fail(at location: SourceLocation, _ path: String, expected: String, found: String, hint: String? = nil) {
        errors.append(ScenarioError(location: location, keyPath: path, expected: expected, found: found, hint: hint))
    }

    // MARK: Structure

    /// Checks that `node` is a mapping with only `allowed` keys; reports unknown keys with a
    /// suggestion. `what` names the mapping for the "expected" text.
    func fields(_ node: SourceNode, _ path: String, allowed: [String], what: String? = nil) -> Fields? {
        guard let entries = node.entries else {
            let description = what ?? "a mapping with keys \(allowed.joined(separator: ", "))"
            fail(node, path, expected: description)
            return nil
        }
        var unknown: [String] = []
        for entry in entries {
            guard let key = entry.key.scalar else {
                fail(entry.key, path, expected: "a plain key such as \(allowed.first ?? "name")")
                continue
            }
            if !allowed.contains(key) {
                unknown.append(key)
                errors.append(ScenarioError(
                    location: entry.key.location, keyPath: KeyPath.child(path, key),
                    expected: "one of the keys \(allowed.joined(separator: ", "))",
                    found: "unknown key '\(key)'", hint: Suggest.hint(for: key, in: allowed)))
            }
        }
        var fields = Fields(node: node, path: path, entries: entries)
        fields.unknownKeys = unknown
        return fields
    }

    /// A value that must be there; a missing key is reported at its parent mapping.
    func required(_ fields: Fields, _ key: String, expected: String) -> SourceNode? {
        if let value = fields[key] { return value }
        if let present = fields.raw(key) {
            fail(present, fields.path(key), expected: expected)
        } else {
            fail(at: fields.node.location, fields.path(key), expected: expected,
                 found: "no '\(key)' key", hint: "'\(key)' is required")
        }
        return nil
    }

    /// Exactly one of `keys` must be present; returns it.
    func exactlyOne(_ fields: Fields, of keys: [String], what: String) -> String? {
        let present = fields.order.filter { keys.contains($0) }
        if present.count == 1 { return present[0] }
        if present.isEmpty {
            // A misspelt action is already reported with a suggestion; don't add "none of them".
            guard fields.unknownKeys.isEmpty else { return nil }
            fail(at: fields.node.location, fields.path, expected: "one of \(keys.joined(separator: ", ")) (\(what))",
                 found: "none of them")
        } else {
            fail(at: fields.keyLocation(present[1]), fields.path,
                 expected: "only one of \(keys.joined(separator: ", ")) (\(what))",
                 found: present.map { "'\($0)'" }.joined(separator: " and "))
        }
        return nil
    }

    func sequence(_ node: SourceNode, _ path: String, of what: String) -> [SourceNode]? {
        guard let items = node.items else {
            fail(node, path, expected: "a list of \(what)")
            return nil
        }
        return items
    }

    // MARK: Scalars

    func string(_ node: SourceNode, _ path: String, expected: String = "a name") -> String? {
        guard let text = node.scalar, !text.isEmpty else {
            fail(node, path, expected: expected)
            return nil
        }
        return text
    }

    func integer(_ node: SourceNode, _ path: String, minimum: Int, expected: String) -> Int? {
        guard let text = node.scalar, let value = Int(text.replacingOccurrences(of: "_", with: "")),
              value >= minimum
        else {
            fail(node, path, expected: expected)
            return nil
        }
        return value
    }

    func bool(_ node: SourceNode, _ path: String) -> Bool? {
        switch node.scalar?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(node, path, expected: "true or false")
            return nil
        }
    }

    func number(_ node: SourceNode, _ path: String, expected: String, valid: (Double) -> Bool = { _ in true }) -> Double? {
        guard let text = node.scalar, let value = Units.number(text), valid(value) else {
            fail(node, path, expected: expected)
            return nil
        }
        return value
    }

    /// Parses a scalar with one of the `Units` parsers, reporting its error at the node.
    func unit<T>(_ node: SourceNode, _ path: String, expected: String,
                 _ parse: (String) throws(UnitError) -> T) -> T? {
        guard let text = node.scalar else {
            fail(node, path, expected: expected)
            return nil
        }
        do {
            return try parse(text)
        } catch {
            fail(node, path, expected: error.expected, hint: error.hint)
            return nil
        }
    }

    func duration(_ node: SourceNode, _ path: String, positive: Bool = false, allowNegative: Bool = false) -> Int64? {
        guard let value = unit(node, path, expected: Units.durationExample, { text throws(UnitError) in
            try Units.duration(text, allowNegative: allowNegative)
        }) else { return nil }
        if positive && value <= 0 {
            fail(node, path, expected: "a positive duration such as 10ms")
            return nil
        }
        return value
    }

    func probability(_ node: SourceNode, _ path: String) -> Double? {
        unit(node, path, expected: "a probability", Units.probability)
    }

    func size(_ node: SourceNode, _ path: String) -> Int? {
        unit(node, path, expected: "a size with a unit such as 512B", Units.size)
    }

    /// A duration, or `never` (`.some(nil)`: no timeout, never polled); `nil` when invalid.
    func durationOrNever(_ node: SourceNode, _ path: String, positive: Bool = true) -> Int64?? {
        if node.scalar == "never" { return .some(nil) }
        let expected = positive ? "a positive duration such as 10s, or never" : "a duration such as 10s, or never"
        guard let text = node.scalar else {
            fail(node, path, expected: expected)
            return nil
        }
        do {
            let value = try Units.duration(text)
            guard !positive || value > 0 else {
                fail(node, path, expected: expected)
                return nil
            }
            return .some(value)
        } catch {
            fail(node, path, expected: expected, hint: error.hint)
            return nil
        }
    }

    /// `queue_limit:` — a count, or `unbounded` (`.some(nil)`); `nil` when invalid.
    func queueLimit(_ node: SourceNode, _ path: String) -> Int?? {
        if node.scalar == "unbounded" { return .some(nil) }
        guard let value = integer(node, path, minimum: 0, expected: "a non-negative integer, or unbounded") else { return nil }
        return .some(value)
    }

    func rate(_ node: SourceNode, _ path: String) -> Double? {
        guard let value = unit(node, path, expected: "a rate such as 2000/s", Units.rate) else { return nil }
        guard value > 0 else {
            fail(node, path, expected: "a positive rate such as 2000/s")
            return nil
        }
        return value
    }
}
