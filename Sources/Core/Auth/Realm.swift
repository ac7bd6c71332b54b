/// Realms partition the token population the way Zalando's Plan B provider does: who the
/// subject is (a service, an employee, a customer, a guest) decides how long its tokens live.

/// A token realm ("services", "employees", …). A struct, not an enum: realms are configured,
/// and a token may carry a realm this node has never heard of (which must be rejected, not
/// crash a decoder).
public struct Realm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }

    public static let services = Realm("services")
    public static let employees = Realm("employees")
    public static let customers = Realm("customers")
    public static let guestCustomers = Realm("guest-customers")

    public var description: String { rawValue }
}

/// How long a token of each realm lives (nanoseconds), keyed by the realm's raw value.
/// Lookups only: the provider never iterates it, so its order cannot leak into a run.
public struct RealmLifetimes: Sendable, Equatable {
    public var lifetimes: [String: Int64]

    public init(_ lifetimes: [String: Int64]) { self.lifetimes = lifetimes }

    /// Plan B's defaults: machine and employee tokens last a working day, customer sessions a
    /// month, guest checkouts half an hour.
    public static let planB = RealmLifetimes([
        Realm.services.rawValue: 8 * hour,
        Realm.employees.rawValue: 8 * hour,
        Realm.customers.rawValue: 30 * day,
        Realm.guestCustomers.rawValue: 30 * minute,
    ])

    /// Nil for a realm the provider does not serve: it issues no token for it.
    public func lifetime(of realm: Realm) -> Int64? { lifetimes[realm.rawValue] }
}

let second: Int64 = 1_000_000_000
let minute: Int64 = 60 * second
let hour: Int64 = 60 * minute
let day: Int64 = 24 * hour

/// Time arithmetic that saturates instead of trapping: a configured "forever" (Int64.max)
/// plus a timestamp must stay "forever", not crash the simulator.
@inline(__always)
func addSaturating(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}

@inline(__always)
func subtractSaturating(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? .max : .min) : difference
}
