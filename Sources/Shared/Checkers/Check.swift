import Sampling

/// One thing that went wrong in a run, with the virtual time it was noticed.
public struct CheckViolation: Sendable, Equatable {
    public var check: String
    public var description: String
    public var time: VirtualTime?

    public init(check: String, description: String, time: VirtualTime?) {
        self.check = check
        self.description = description
        self.time = time
    }
}

/// The verdict of one checker over one run.
public struct CheckReport: Sendable, Equatable {
    public var name: String
    public var violations: [CheckViolation]
    public var passed: Bool { violations.isEmpty }

    public init(name: String, violations: [CheckViolation]) {
        self.name = name
        self.violations = violations
    }
}

/// How a request ended, as the client saw it.
public enum RequestOutcome: UInt8, Sendable {
    case pending = 0, succeeded, timedOut, rejected, failed
}
