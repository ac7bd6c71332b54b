/// Closed forms of the M/M/c queue (Erlang C): the yardstick the simulator's station model
/// must reproduce, and the prediction reports show next to a simulated queue.
public enum ErlangC {
    /// Probability that an arrival waits, C(c, a) with offered load a = λ/μ; nil when the
    /// queue is unstable (a ≥ c) or the inputs are not positive.
    public static func probabilityOfWaiting(servers c: Int, arrivalRate lambda: Double, serviceRate mu: Double) -> Double? {
        guard c > 0, lambda > 0, mu > 0 else { return nil }
        let a = lambda / mu
        guard a < Double(c) else { return nil }
        // Erlang B by its stable recurrence, then C = B / (1 − ρ(1 − B)).
        var b = 1.0
        for k in 1...c { b = a * b / (Double(k) + a * b) }
        let rho = a / Double(c)
        return b / (1 - rho * (1 - b))
    }

    /// Mean time in the queue before service (seconds when the rates are per second).
    public static func meanWait(servers c: Int, arrivalRate lambda: Double, serviceRate mu: Double) -> Double? {
        guard let p = probabilityOfWaiting(servers: c, arrivalRate: lambda, serviceRate: mu) else { return nil }
        return p / (Double(c) * mu - lambda)
    }

    /// Mean response time: waiting plus service.
    public static func meanResponseTime(servers c: Int, arrivalRate lambda: Double, serviceRate mu: Double) -> Double? {
        meanWait(servers: c, arrivalRate: lambda, serviceRate: mu).map { $0 + 1 / mu }
    }
}
