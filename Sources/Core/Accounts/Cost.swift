/// What a layout costs per month: the counterweight to blast radius. Every account carries a
/// fixed charge (support plan, baseline security tooling, NAT/endpoints), an operational
/// overhead (patching, audits, on-call ownership) and a per-region footprint.
public struct CostModel: Sendable, Equatable {
    /// Fixed charge per account per month.
    public var perAccount: Double
    /// Per account per region it uses, per month.
    public var perRegion: Double
    /// Operational overhead per account per month (people time, priced).
    public var opsPerAccount: Double

    public init(perAccount: Double, perRegion: Double, opsPerAccount: Double) {
        self.perAccount = perAccount
        self.perRegion = perRegion
        self.opsPerAccount = opsPerAccount
    }

    /// accounts × (perAccount + opsPerAccount) + Σ over accounts of (distinct regions that
    /// account uses) × perRegion. A `Placement` puts each account in exactly one region, so
    /// the sum is accounts × perRegion.
    public func monthly(_ placement: Placement) -> Double {
        let accounts = Double(placement.accounts.count)
        let accountRegions = Double(placement.accountRegion.count)  // one region per account
        return accounts * (perAccount + opsPerAccount) + accountRegions * perRegion
    }
}
