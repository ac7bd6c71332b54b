import Hummingbird
import NIOCore
import Prometheus

/// A process's Prometheus registry and the `/metrics` route every PaaS server has. Counter
/// names are `faultline_paas_<name>`, labelled with the process (and, in the mesh, the replica).
final class PaaSMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let process: String

    init(process: String) { self.process = process }

    func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name, help), labels: [("process", process)] + labels)
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: [("process", process)] + labels)
    }

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "faultline", subsystem: "paas", metricName: name, unitName: "", helpText: help)
    }

    /// `GET /metrics`; `refresh` updates gauges that mirror state just before they are read.
    func addRoute<Context: RequestContext>(to router: Router<Context>, refresh: @escaping @Sendable () async -> Void = {}) {
        router.get("/metrics") { _, _ -> Response in
            await refresh()
            let bytes = self.registry.emitToBuffer()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

/// Status-class counters for one server's responses (2xx/4xx/5xx), by route.
struct ResponseCounters: Sendable {
    let ok: Counter
    let clientError: Counter
    let serverError: Counter

    init(_ metrics: PaaSMetrics, route: String, _ extra: [(String, String)] = []) {
        let labels = [("route", route)] + extra
        ok = metrics.counter("responses_total", "HTTP responses by route and status class", labels + [("class", "2xx")])
        clientError = metrics.counter("responses_total", "HTTP responses by route and status class", labels + [("class", "4xx")])
        serverError = metrics.counter("responses_total", "HTTP responses by route and status class", labels + [("class", "5xx")])
    }

    func count(_ status: Int) {
        switch status {
        case ..<400: ok.increment()
        case ..<500: clientError.increment()
        default: serverError.increment()
        }
    }
}
