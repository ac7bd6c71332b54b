import Foundation
import Yams

/// A scenario profile (`faultline calibrate` writes one): a YAML file whose `set:` list holds
/// `--set` overrides — measured costs of this machine stated as the scenario's own keys. Other
/// top-level keys (`calibration:`, what was measured) are informational.
public enum ScenarioProfile {
    /// The overrides of the profile at `path`, in file order; errors name the file.
    public static func overrides(fromFile path: String) throws(ScenarioErrors) -> [String] {
        func fail(_ found: String, expected: String) -> ScenarioErrors {
            ScenarioErrors([ScenarioError(location: SourceLocation(file: path, line: 1, column: 1), keyPath: "set",
                                          expected: expected, found: found)])
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw fail("no readable file", expected: "a profile written by `faultline calibrate`")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw fail("YAML that does not parse: \(error)", expected: "a YAML mapping with a `set:` list")
        }
        guard let mapping = node?.mapping, let list = mapping["set"]?.sequence else {
            throw fail("no `set:` list", expected: "a YAML mapping with a `set:` list of key.path=value strings")
        }
        var overrides: [String] = []
        for item in list {
            guard let s = item.string, s.contains("=") else {
                let mark = item.mark
                throw ScenarioErrors([ScenarioError(
                    location: SourceLocation(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1), keyPath: "set",
                    expected: "a key.path=value string", found: "'\(item.any)'")])
            }
            overrides.append(s)
        }
        return overrides
    }
}
