import Mesh
import NIOConcurrencyHelpers
import Scenario

/// Availability as the simulator counts it: every legitimate request due after the warm-up
/// counts once, a success when it was answered `ok` — a timeout, a transport error or a refusal
/// is a failure — overall, inside each scheduled fault's window (by when it was sent:
/// `availability_during_fault<i>_<action>`) and outside every window. Requests sent with a token
/// that had already expired (the client could not refresh it) are failures too, but their 401
/// is right: they are told apart from valid tokens refused.
final class AvailabilityLedger: Sendable {
    private struct Entry { var sentAt: Int64; var ok = false; var expired = false }
    private let entries = NIOLockedValueBox<[Int: Entry]>([:])

    /// Request `i` of a legitimate client was sent at `t` (ns since the load's start).
    func sent(_ i: Int, at t: Int64, expiredToken: Bool) {
        entries.withLockedValue { $0[i] = Entry(sentAt: t, expired: expiredToken) }
    }

    func answeredOK(_ i: Int) { entries.withLockedValue { $0[i]?.ok = true } }

    /// Whether request `i` carried a token that had expired when it was sent.
    func hadExpiredToken(_ i: Int) -> Bool { entries.withLockedValue { $0[i]?.expired ?? false } }

    /// The availability metrics (the simulator's names, counted by the same `Availability`) for
    /// requests sent from `warmup` on, in the order they were sent.
    func metrics(faults: [FaultEvent], warmup: Int64) -> [String: Double] {
        var availability = Availability(faults: faults)
        var expired = 0.0
        let sent = entries.withLockedValue { $0.values.sorted { $0.sentAt < $1.sentAt } }
        for entry in sent where entry.sentAt >= warmup {
            availability.count(sentAt: entry.sentAt, success: entry.ok)
            if entry.expired { expired += 1 }
        }
        var result: [String: Double] = ["requests_with_expired_token": expired]
        for (name, value) in availability.metrics { result[name] = value }
        return result
    }
}
