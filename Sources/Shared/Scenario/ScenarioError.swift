/// Where a value came from: a scenario file, or `--set` (line = which override, 1-based).
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The file name `--set` overrides are reported under.
    public static let overrideFile = "--set"
}

/// One problem with a scenario, phrased for the person who wrote it:
/// `quickstart.yaml:12:14: stations[0].servers: expected a positive integer, found '-3'`.
public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    /// `stations[0].service.exponential`; empty for problems with the document as a whole.
    public var keyPath: String
    public var expected: String
    public var found: String
    /// e.g. `did you mean 'servers'?`
    public var hint: String?

    public init(location: SourceLocation, keyPath: String, expected: String, found: String, hint: String? = nil) {
        self.location = location
        self.keyPath = keyPath
        self.expected = expected
        self.found = found
        self.hint = hint
    }

    public var description: String {
        var text = "\(location): "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += "expected \(expected), found \(found)"
        if let hint { text += " (\(hint))" }
        return text
    }
}

/// Every problem found in one scenario, sorted by position (the file first, then `--set`).
public struct ScenarioErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ScenarioError]

    public init(_ errors: [ScenarioError]) {
        self.errors = ScenarioErrors.sorted(errors)
    }

    public init(errors: [ScenarioError]) { self.init(errors) }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }

    static func sorted(_ errors: [ScenarioError]) -> [ScenarioError] {
        let indexed = errors.enumerated().map { ($0.offset, $0.element) }
        func rank(_ e: ScenarioError) -> Int { e.location.file == SourceLocation.overrideFile ? 1 : 0 }
        let sorted = indexed.sorted { a, b in
            let (x, y) = (a.1.location, b.1.location)
            let keyA = (rank(a.1), x.file, x.line, x.column, a.0)
            let keyB = (rank(b.1), y.file, y.line, y.column, b.0)
            return keyA < keyB
        }
        var seen = Set<String>()
        var result: [ScenarioError] = []
        for (_, error) in sorted where seen.insert(error.description).inserted {
            result.append(error)
        }
        return result
    }
}

/// "Did you mean" suggestions: edit distance ≤ 2, or one word a prefix of the other.
enum Suggest {
    static func closest(to word: String, in candidates: [String]) -> String? {
        guard !word.isEmpty else { return nil }
        var best: (distance: Int, candidate: String)?
        for candidate in candidates where candidate != word {
            let distance = levenshtein(word.lowercased(), candidate.lowercased())
            let prefix = word.count >= 2 && (candidate.hasPrefix(word) || word.hasPrefix(candidate))
            guard (distance <= 2 && distance < word.count) || prefix else { continue }
            if best == nil || distance < best!.distance { best = (distance, candidate) }
        }
        return best?.candidate
    }

    static func hint(for word: String, in candidates: [String]) -> String? {
        closest(to: word, in: candidates).map { "did you mean '\($0)'?" }
    }

    static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
