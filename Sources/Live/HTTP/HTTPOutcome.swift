/// How a load run judges one response (the caller's classifier decides; see
/// `OpenLoopHTTPLoad`). Counted by kind in `HTTPLoadResult.outcomeCounts`.
public enum HTTPOutcome: Sendable, Hashable {
    /// The answer the workload wanted.
    case ok
    /// A refusal the workload expects (e.g. 401 for a revoked token): the server did its job,
    /// so its latency is recorded like an `ok`, but it is counted under its own kind.
    case rejected(String)
    /// A wrong answer (e.g. 500, or 200 where a refusal was due): recorded as an error of
    /// this kind (`OpenLoopRecorder.recordError(kind:)`), no latency.
    case error(String)

    /// The default classifier: 2xx and 3xx are `ok`, anything else an error `http_<status>`.
    @Sendable public static func byStatus(_ reply: HTTPReply) -> HTTPOutcome {
        reply.status >= 200 && reply.status < 400 ? .ok : .error("http_\(reply.status)")
    }
}
