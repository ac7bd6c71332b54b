/// The organisation whose workloads are spread over cloud accounts: teams, the services they
/// own, and the dependency graph between services.
///
/// Why a separate model: the blast radius of losing an account (an outage, a mis-applied
/// policy, a quota, a compromise) depends not on the account alone but on which services run
/// there and on what depends on them. Keeping the organisation apart from its `Placement`
/// lets the same organisation be compared under single-account, per-team, per-service,
/// cell and shuffle-sharded layouts.
public struct Organisation: Sendable, Equatable {
    /// One deployable service.
    public struct Service: Sendable, Equatable {
        /// Unique name; cells hash it, explicit mappings key on it.
        public var name: String
        /// Index into `Organisation.teams`: the owner, counted when an incident pages a team.
        public var team: Int
        /// Share of external requests entering the organisation here. Σ over services is 1
        /// (or 0 if there are none); inner services carry 0 because their failure only costs
        /// requests through the entry services that (hard-)depend on them.
        public var traffic: Double
        /// `"low"`, `"medium"` or `"high"`: kept as the domain's own words for reports.
        public var criticality: String
        /// Classes of data the service holds: what an attacker with the account could read.
        public var dataClasses: [String]
        /// Running copies; a placement may spread them over several accounts.
        public var replicas: Int
        /// Outgoing calls this service makes.
        public var dependencies: [Dependency]

        public init(
            name: String, team: Int, traffic: Double, criticality: String = "low",
            dataClasses: [String] = [], replicas: Int = 1, dependencies: [Dependency] = []
        ) {
            self.name = name
            self.team = team
            self.traffic = traffic
            self.criticality = criticality
            self.dataClasses = dataClasses
            self.replicas = replicas
            self.dependencies = dependencies
        }
    }

    /// A call from one service to another.
    public struct Dependency: Sendable, Equatable {
        /// Index into `Organisation.services`.
        public var target: Int
        /// A hard dependency fails its caller; a soft one has a fallback (cache, default,
        /// feature switched off) so the caller only degrades.
        public var hard: Bool
        /// Call timeout (ns), if the caller sets one; `nil` = none configured.
        public var timeout: Int64?

        public init(target: Int, hard: Bool = true, timeout: Int64? = nil) {
            self.target = target
            self.hard = hard
            self.timeout = timeout
        }
    }

    public var teams: [String]
    public var services: [Service]

    /// Validates nothing, so tests can hand-build any shape; the generators guarantee a DAG.
    public init(teams: [String], services: [Service]) {
        self.teams = teams
        self.services = services
    }

    /// Indices of the services external traffic enters (traffic > 0), ascending.
    public var entryServices: [Int] {
        services.indices.filter { services[$0].traffic > 0 }
    }
}
