import Yams

/// The YAML document as a plain tree whose every node knows where it was written.
/// Yams' `Node` is converted once; overrides edit this tree before validation, so values given
/// with `--set` carry `--set` locations through validation.
struct SourceNode {
    enum Kind {
        case scalar(String, quoted: Bool)
        case mapping([(key: SourceNode, value: SourceNode)])
        case sequence([SourceNode])
    }

    var kind: Kind
    var location: SourceLocation

    static func null(at location: SourceLocation) -> SourceNode {
        SourceNode(kind: .scalar("", quoted: false), location: location)
    }

    var isNull: Bool {
        if case .scalar(let text, let quoted) = kind, !quoted {
            return ["", "~", "null", "Null", "NULL"].contains(text)
        }
        return false
    }

    /// The scalar's text; `nil` for collections and null.
    var scalar: String? {
        if case .scalar(let text, _) = kind, !isNull { return text }
        return nil
    }

    var entries: [(key: SourceNode, value: SourceNode)]? {
        if case .mapping(let entries) = kind { return entries }
        return nil
    }

    var items: [SourceNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    /// How the node is shown after "found": the scalar in quotes, or what kind of thing it is.
    var foundDescription: String {
        switch kind {
        case .scalar(let text, _): return isNull ? "nothing" : "'\(text)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}

extension SourceNode {
    /// Converts Yams' tree. `lineOverride`/`columnOffset` shift marks (used for `--set` values,
    /// which are parsed on their own but reported at their column in the override string).
    /// `budget` bounds the node count: aliases can make a small file expand exponentially.
    static func convert(_ node: Node, file: String, lineOverride: Int?, columnOffset: Int,
                        fallback: SourceLocation, budget: inout Int) -> SourceNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let location = node.mark.map {
            SourceLocation(file: file, line: lineOverride ?? $0.line, column: $0.column + columnOffset)
        } ?? fallback
        func child(_ n: Node, _ budget: inout Int) -> SourceNode? {
            convert(n, file: file, lineOverride: lineOverride, columnOffset: columnOffset, fallback: location,
                    budget: &budget)
        }
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
                || scalar.style == .literal || scalar.style == .folded
            return SourceNode(kind: .scalar(scalar.string, quoted: quoted), location: location)
        case .mapping(let mapping):
            var entries: [(key: SourceNode, value: SourceNode)] = []
            for pair in mapping {
                guard let key = child(pair.key, &budget), let value = child(pair.value, &budget) else { return nil }
                entries.append((key, value))
            }
            return SourceNode(kind: .mapping(entries), location: location)
        case .sequence(let sequence):
            var items: [SourceNode] = []
            for item in sequence {
                guard let converted = child(item, &budget) else { return nil }
                items.append(converted)
            }
            return SourceNode(kind: .sequence(items), location: location)
        case .alias:
            // Yams resolves aliases while composing; an unresolved one reads as null.
            return .null(at: location)
        }
    }

    static let nodeBudget = 1_000_000

    /// Parses YAML text into a tree, turning Yams' errors into located scenario errors.
    static func parse(yaml: String, file: String, lineOverride: Int? = nil, columnOffset: Int = 0)
        -> Result<SourceNode, ScenarioError>
    {
        let start = SourceLocation(file: file, line: lineOverride ?? 1, column: 1 + columnOffset)
        do {
            guard let root = try Yams.compose(yaml: yaml) else { return .success(.null(at: start)) }
            var budget = nodeBudget
            guard let tree = convert(root, file: file, lineOverride: lineOverride, columnOffset: columnOffset,
                                     fallback: start, budget: &budget)
            else {
                return .failure(ScenarioError(location: start, keyPath: "", expected: "at most \(nodeBudget) YAML nodes",
                                              found: "more (aliases expanding?)"))
            }
            return .success(tree)
        } catch let error as YamlError {
            return .failure(convert(error, yaml: yaml, file: file, lineOverride: lineOverride,
                                    columnOffset: columnOffset))
        } catch {
            return .failure(ScenarioError(location: start, keyPath: "", expected: "well-formed YAML",
                                          found: "\(error)"))
        }
    }

    private static func convert(_ error: YamlError, yaml: String, file: String, lineOverride: Int?,
                                columnOffset: Int) -> ScenarioError
    {
        func location(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: lineOverride ?? mark.line, column: mark.column + columnOffset)
        }
        let start = SourceLocation(file: file, line: lineOverride ?? 1, column: 1 + columnOffset)
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var hint: String?
            if let context {
                hint = "\(context.text) at \(location(context.mark))"
            }
            // libyaml phrases problems as "found …" / "but found …"; we print our own "found".
            var found = problem
            for prefix in ["but found ", "found "] where found.hasPrefix(prefix) {
                found = String(found.dropFirst(prefix.count))
                break
            }
            return ScenarioError(location: location(mark), keyPath: "", expected: "well-formed YAML",
                                 found: found, hint: hint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ScenarioError(location: location(context.mark), keyPath: "",
                                 expected: "each key at most once in a mapping",
                                 found: "duplicate key \(keys)")
        case .reader(let problem, let offset, _, _):
            var line = 1, column = 1
            for character in yaml.prefix(offset ?? 0) {
                if character == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            let at = SourceLocation(file: file, line: lineOverride ?? line, column: column + columnOffset)
            return ScenarioError(location: at, keyPath: "", expected: "readable UTF-8 text", found: problem)
        default:
            return ScenarioError(location: start, keyPath: "", expected: "well-formed YAML", found: "\(error)")
        }
    }
}
