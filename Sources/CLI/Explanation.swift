import Foundation
import Sim

/// A failing run told as a story: the timeline (with the protocol's events that
/// `SimulationOptions.explain` adds) up to the check's first violation, the entries that involve
/// the violating messages in bold. Acknowledgements are many: only those of violating offsets
/// are kept, collapsed into ranges.
struct Explanation {
    let outcome: RunOutcome
    let check: String
    let scenario: String

    /// Offsets a violation names, per stream (`stream orders: … at offset 15190 …`).
    static func violatingOffsets(_ violations: [String]) -> [String: Set<UInt64>] {
        var out: [String: Set<UInt64>] = [:]
        for text in violations {
            guard let streamRange = text.range(of: "stream "), let colon = text[streamRange.upperBound...].firstIndex(of: ":") else { continue }
            let stream = String(text[streamRange.upperBound..<colon])
            var rest = text[colon...]
            while let r = rest.range(of: "offset ") {
                let digits = rest[r.upperBound...].prefix { $0.isNumber }
                if let offset = UInt64(digits) { out[stream, default: []].insert(offset) }
                rest = rest[r.upperBound...]
            }
        }
        return out
    }

    /// Identifiers a violation names in parentheses (a token's jti: `… accepted a revoked token (tok-17)`).
    static func namedIdentifiers(_ violations: [String]) -> Set<String> {
        var out: Set<String> = []
        for text in violations {
            var rest = text[...]
            while let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
                let inside = rest[rest.index(after: open)..<close]
                // An identifier has letters and digits (`t17`, not the "s" of "hop(s)").
                if !inside.contains(" "), inside.contains(where: \.isNumber), inside.contains(where: \.isLetter) { out.insert(String(inside)) }
                rest = rest[rest.index(after: close)...]
            }
        }
        return out
    }

    /// "orders: offset 15190 acknowledged by n1" → (orders, 15190, n1)
    private static func ack(_ description: String) -> (stream: String, offset: UInt64, node: String)? {
        let parts = description.components(separatedBy: ": offset ")
        guard parts.count == 2 else { return nil }
        let rest = parts[1].components(separatedBy: " acknowledged by ")
        guard rest.count == 2, let offset = UInt64(rest[0]) else { return nil }
        return (parts[0], offset, rest[1])
    }

    /// "orders: n1 truncates its log at offset 15010" → (orders, 15010)
    private static func truncation(_ description: String) -> (stream: String, from: UInt64)? {
        guard let colon = description.firstIndex(of: ":"), let r = description.range(of: "at offset ") else { return nil }
        return UInt64(description[r.upperBound...]).map { (String(description[..<colon]), $0) }
    }

    /// "orders: n1 crashed holding log end 15200, fsynced to 15010, HW 15190" → (orders, log end, fsynced)
    private static func held(_ description: String) -> (stream: String, logEnd: UInt64, fsynced: UInt64)? {
        guard let colon = description.firstIndex(of: ":"), let a = description.range(of: "log end "),
              let b = description.range(of: ", fsynced to "), let c = description.range(of: ", HW ") else { return nil }
        guard let logEnd = UInt64(description[a.upperBound..<b.lowerBound]),
              let fsynced = UInt64(description[b.upperBound..<c.lowerBound]) else { return nil }
        return (String(description[..<colon]), logEnd, fsynced)
    }

    func markdown() -> String {
        let report = outcome.checks.first { $0.name == check }
        let violations = report?.violations ?? []
        let lost = Self.violatingOffsets(violations.map(\.description))
        let identifiers = Self.namedIdentifiers(violations.map(\.description))
        let firstViolation = violations.compactMap(\.time).min() ?? outcome.endTime
        // A checker may date a violation by the message (when it was acknowledged) and find it
        // only at the end of the run: the story runs to the end (acknowledgements are filtered,
        // so what remains is faults, leaders, ISR, replica states and truncations).
        let storyEnd = max(violations.compactMap(\.time).max() ?? 0, outcome.endTime)
        func touches(_ stream: String, _ range: ClosedRange<UInt64>) -> Bool {
            lost[stream]?.contains { range.contains($0) } ?? false
        }
        var out = "# Why seed \(outcome.seed) fails `\(check)`\n\n"
        out += "Scenario \(scenario); trace hash \(outcome.traceHash). "
        if let first = violations.first {
            out += "First violation (dated \(Self.seconds(first.time ?? firstViolation))): \(first.description)"
            if violations.count > 1 { out += " (and \(violations.count - 1) more)" }
            out += ".\n\n"
        }
        if !lost.isEmpty {
            out += "Violating offsets: " + lost.keys.sorted().map { "\($0) " + Self.ranges(lost[$0]!.sorted()) }.joined(separator: "; ") + ".\n\n"
        }
        if !identifiers.isEmpty {
            out += "Named in the violations: " + identifiers.sorted().joined(separator: ", ") + ".\n\n"
        }
        out += "**Bold**: entries that involve what the violations name — acknowledgements of the violating offsets, a crash "
            + "that lost them from a node's page cache (past its fsynced end), a truncation that cut them; a token's "
            + "revocation and the hops that accepted it.\n\n"
        out += "| time | what | detail | nodes |\n|---:|---|---|---|\n"
        // Acknowledgements of violating offsets, collapsed per (stream, node) into runs of adjacent time.
        var pendingAcks: [(at: Int64, stream: String, node: String, offsets: [UInt64])] = []
        func flushAcks() {
            for run in pendingAcks {
                out += "| \(Self.seconds(run.at)) | **ack** | **\(run.stream): offsets \(Self.ranges(run.offsets.sorted())) acknowledged by \(run.node)** | \(run.node) |\n"
            }
            pendingAcks.removeAll()
        }
        // Hops accepting an invalid token: the first per token is told, the rest counted.
        var accepted: [String: (count: Int, last: Int64)] = [:]
        var otherAccepts = 0
        for event in outcome.timeline where event.atNanos <= storyEnd {
            if event.kind == "accept" {
                guard let token = identifiers.first(where: { event.description.contains("(\($0))") }) else {
                    otherAccepts += 1
                    continue
                }
                if let seen = accepted[token] {
                    accepted[token] = (seen.count + 1, event.atNanos)
                    continue
                }
                accepted[token] = (1, event.atNanos)
            }
            if event.kind == "ack" {
                guard let a = Self.ack(event.description), lost[a.stream]?.contains(a.offset) == true else { continue }
                if let i = pendingAcks.firstIndex(where: { $0.stream == a.stream && $0.node == a.node }) {
                    pendingAcks[i].offsets.append(a.offset)
                } else {
                    pendingAcks.append((event.atNanos, a.stream, a.node, [a.offset]))
                }
                continue
            }
            flushAcks()
            var bold = identifiers.contains { event.description.contains("(\($0))") || event.description.contains("token \($0) ") }
            if event.kind == "truncate", let t = Self.truncation(event.description) {
                bold = touches(t.stream, t.from...UInt64.max)
            } else if event.kind == "replica", event.description.contains("crashed"), let h = Self.held(event.description), h.logEnd > h.fsynced {
                bold = touches(h.stream, h.fsynced...(h.logEnd - 1))
            }
            let detail = event.description.replacingOccurrences(of: "|", with: "\\|")
            let kind = bold ? "**\(event.kind)**" : event.kind
            out += "| \(Self.seconds(event.atNanos)) | \(kind) | \(bold ? "**\(detail)**" : detail) | \(event.nodes.joined(separator: ", ")) |\n"
        }
        flushAcks()
        for token in accepted.keys.sorted() where accepted[token]!.count > 1 {
            let a = accepted[token]!
            out += "| \(Self.seconds(a.last)) | **accept** | **token \(token) accepted by \(a.count) hops in all (the last now)** | |\n"
        }
        if otherAccepts > 0 {
            out += "| | accept | \(otherAccepts) more hops accepted tokens the violations do not name | |\n"
        }
        for violation in violations.prefix(10) {
            out += "| \(Self.seconds(violation.time ?? firstViolation)) | **violation** | **\(violation.description.replacingOccurrences(of: "|", with: "\\|"))** | |\n"
        }
        if violations.count > 10 { out += "| | | … \(violations.count - 10) more violations | |\n" }
        return out
    }

    /// The same story as a standalone HTML page (the Markdown's heading, paragraphs and table;
    /// bold entries highlighted).
    static func html(fromMarkdown markdown: String) -> String {
        func escape(_ s: Substring) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        func inline(_ s: Substring) -> String {
            // **x** → <strong>x</strong>, `x` → <code>x</code> (the Markdown writes no other markup).
            var out = ""
            var bold = false, code = false
            var rest = escape(s)[...]
            while let c = rest.first {
                if rest.hasPrefix("**") {
                    out += bold ? "</strong>" : "<strong>"
                    bold.toggle()
                    rest = rest.dropFirst(2)
                } else if c == "`" {
                    out += code ? "</code>" : "<code>"
                    code.toggle()
                    rest = rest.dropFirst()
                } else {
                    out.append(c)
                    rest = rest.dropFirst()
                }
            }
            return out.replacingOccurrences(of: "\\|", with: "|")
        }
        func cells(_ line: Substring) -> [Substring] {
            // Split on | not preceded by a backslash.
            var parts: [Substring] = []
            var start = line.index(after: line.startIndex)
            var i = start
            while i < line.endIndex {
                if line[i] == "|", line[line.index(before: i)] != "\\" {
                    parts.append(line[start..<i])
                    start = line.index(after: i)
                }
                i = line.index(after: i)
            }
            return parts.map { $0.drop { $0 == " " } }.map { Substring($0.reversed().drop { $0 == " " }.reversed()) }
        }
        var body = ""
        var inTable = false
        var header = true
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("|") {
                if !inTable { body += "<table>\n"; inTable = true; header = true }
                if line.hasPrefix("|---") || line.hasPrefix("|:") || line.hasPrefix("|--") { continue }
                let row = cells(line)
                let tag = header ? "th" : "td"
                let strong = line.contains("| **")
                body += "<tr\(strong ? " class=\"involved\"" : "")>" + row.map { "<\(tag)>\(inline($0))</\(tag)>" }.joined() + "</tr>\n"
                header = false
                continue
            }
            if inTable { body += "</table>\n"; inTable = false }
            if line.hasPrefix("# ") { body += "<h1>\(inline(line.dropFirst(2)))</h1>\n" } else if !line.isEmpty { body += "<p>\(inline(line))</p>\n" }
        }
        if inTable { body += "</table>\n" }
        return """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>Faultline: explanation</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;\
        font-size:13px;text-align:left}tr.involved{background:#fff3cd}code{background:#eee}</style></head>
        <body>
        \(body)</body></html>

        """
    }

    /// Explains `outcome`'s `check` (default: its first failing one) to `out` or stdout; says so
    /// when every check held. `scenario` labels the story; `seedLabel` names the seed.
    static func deliver(_ outcome: RunOutcome, check: String?, scenario: String, seedLabel: String, out: String?) throws {
        if let check, !outcome.checks.contains(where: { $0.name == check }) {
            throw BadInput("--check: the scenario has no check '\(check)' (checks: \(outcome.checks.map(\.name).joined(separator: ", ")))")
        }
        guard let target = check ?? outcome.checks.first(where: { !$0.passed })?.name else {
            print("nothing to explain: \(seedLabel) passes every check")
            return
        }
        let markdown = Explanation(outcome: outcome, check: target, scenario: scenario).markdown()
        // A file ending in .html gets the HTML page; anything else (and stdout) the Markdown.
        let text = out.map { $0.lowercased().hasSuffix(".html") } == true ? html(fromMarkdown: markdown) : markdown
        guard let out else {
            print("")
            print(text)
            return
        }
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw InternalFailure("cannot write \(out): \(error)")
        }
        print("explanation: \(out)")
    }

    static func seconds(_ nanos: Int64) -> String { String(format: "%.6f s", Double(nanos) / 1e9) }

    /// 1, 2, 3, 7, 9, 10 → "1–3, 7, 9–10"
    static func ranges(_ sorted: [UInt64]) -> String {
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])–\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}
