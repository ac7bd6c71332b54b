import Foundation
import Sampling

/// What a distribution's values measure; decides how scalars are read.
enum Quantity {
    /// Durations with units, converted to nanoseconds.
    case duration
    /// Plain numbers (factors, counts).
    case number

    var example: String {
        switch self {
        case .duration: return "2ms"
        case .number: return "2"
        }
    }
}

extension Reader {
    static let distributionKinds = ["constant", "uniform", "exponential", "normal", "lognormal", "pareto", "empirical", "mixture"]

    /// `2ms` (constant), `{constant: 2ms}`, `{uniform: [1ms, 4ms]}`, `{exponential: 2ms}`,
    /// `{exponential: {mean: 2ms}}`, `{normal: {mean: 5ms, stddev: 1ms}}`,
    /// `{lognormal: {median: 0.4ms, p99: 2ms}}`, `{lognormal: {mu: 12.9, sigma: 0.7}}`,
    /// `{pareto: {scale: 1ms, shape: 1.5}}`, `{empirical: [1ms, 2ms, 9ms]}`,
    /// `{mixture: [{weight: 99%, value: 10ms}, {weight: 1%, value: {constant: 1s}}]}`.
    func distribution(_ node: SourceNode, _ path: String, quantity: Quantity = .duration) -> Distribution? {
        if node.scalar != nil {
            return value(node, path, quantity).map { .constant($0) }
        }
        let expected = "a distribution such as \(quantity.example) or {exponential: \(quantity.example)} "
            + "(one of \(Reader.distributionKinds.joined(separator: ", ")))"
        guard let top = fields(node, path, allowed: Reader.distributionKinds, what: expected) else { return nil }
        guard top.order.count == 1, let kind = top.order.first, Reader.distributionKinds.contains(kind),
              let body = top.raw(kind)
        else {
            if top.order.count != 1 {
                fail(node, path, expected: "exactly one distribution key (\(Reader.distributionKinds.joined(separator: ", ")))",
                     found: top.order.isEmpty ? "an empty mapping" : top.order.map { "'\($0)'" }.joined(separator: " and "))
            }
            return nil
        }
        let path = top.path(kind)
        switch kind {
        case "constant":
            return value(body, path, quantity).map { .constant($0) }

        case "uniform":
            var bounds: (SourceNode, SourceNode)?
            if let items = body.items, items.count == 2 {
                bounds = (items[0], items[1])
            } else if let pair = fields(body, path, allowed: ["low", "high"],
                                             what: "two bounds such as [1ms, 4ms] or {low: 1ms, high: 4ms}") {
                if let low = required(pair, "low", expected: "the lower bound"),
                   let high = required(pair, "high", expected: "the upper bound") {
                    bounds = (low, high)
                }
            }
            guard let (lowNode, highNode) = bounds,
                  let low = value(lowNode, path + ".low", quantity), let high = value(highNode, path + ".high", quantity)
            else { return nil }
            guard low <= high else {
                fail(body, path, expected: "low ≤ high", found: "low \(show(low, quantity)) > high \(show(high, quantity))")
                return nil
            }
            return .uniform(low: low, high: high)

        case "exponential":
            let meanNode: SourceNode
            if body.scalar != nil {
                meanNode = body
            } else {
                guard let f = fields(body, path, allowed: ["mean"], what: "a mean such as \(quantity.example) or {mean: \(quantity.example)}"),
                      let m = required(f, "mean", expected: "the mean") else { return nil }
                meanNode = m
            }
            let meanPath = body.scalar != nil ? path : path + ".mean"
            guard let mean = value(meanNode, meanPath, quantity) else { return nil }
            guard mean > 0 else {
                fail(meanNode, meanPath, expected: "a positive mean")
                return nil
            }
            return .exponential(mean: mean)

        case "normal":
            guard let f = fields(body, path, allowed: ["mean", "stddev"], what: "{mean: …, stddev: …}") else { return nil }
            let meanNode = required(f, "mean", expected: "the mean")
            let stddevNode = required(f, "stddev", expected: "the standard deviation")
            guard let meanNode, let stddevNode,
                  let mean = value(meanNode, f.path("mean"), quantity),
                  let stddev = value(stddevNode, f.path("stddev"), quantity) else { return nil }
            guard stddev >= 0 else {
                fail(stddevNode, f.path("stddev"), expected: "a non-negative standard deviation")
                return nil
            }
            return .normal(mean: mean, stddev: stddev)

        case "lognormal":
            guard let f = fields(body, path, allowed: ["median", "p99", "mu", "sigma"],
                                 what: "{median: …, p99: …} or {mu: …, sigma: …}") else { return nil }
            if f.has("mu") || f.has("sigma") {
                if f.has("median") || f.has("p99") {
                    fail(body, path, expected: "either median and p99 or mu and sigma", found: "both")
                    return nil
                }
                let muNode = required(f, "mu", expected: "mu, the mean of ln(value in nanoseconds)")
                let sigmaNode = required(f, "sigma", expected: "sigma, the standard deviation of ln(value)")
                guard let muNode, let sigmaNode,
                      let mu = number(muNode, f.path("mu"), expected: "a number (mean of the natural log)"),
                      let sigma = number(sigmaNode, f.path("sigma"), expected: "a non-negative number",
                                         valid: { $0 >= 0 }) else { return nil }
                return .lognormal(mu: mu, sigma: sigma)
            }
            let medianNode = required(f, "median", expected: "the median")
            let p99Node = required(f, "p99", expected: "the 99th percentile")
            guard let medianNode, let p99Node,
                  let median = value(medianNode, f.path("median"), quantity),
                  let p99 = value(p99Node, f.path("p99"), quantity) else { return nil }
            guard median > 0 else {
                fail(medianNode, f.path("median"), expected: "a positive median")
                return nil
            }
            guard p99 >= median else {
                fail(p99Node, f.path("p99"), expected: "a p99 at least the median (\(show(median, quantity)))")
                return nil
            }
            return Distribution.lognormal(median: median, p99: p99)

        case "pareto":
            guard let f = fields(body, path, allowed: ["scale", "shape"], what: "{scale: …, shape: …}") else { return nil }
            let scaleNode = required(f, "scale", expected: "the scale (the minimum value)")
            let shapeNode = required(f, "shape", expected: "the shape (tail index), a positive number")
            guard let scaleNode, let shapeNode,
                  let scale = value(scaleNode, f.path("scale"), quantity),
                  let shape = number(shapeNode, f.path("shape"), expected: "a positive number", valid: { $0 > 0 })
            else { return nil }
            guard scale > 0 else {
                fail(scaleNode, f.path("scale"), expected: "a positive scale")
                return nil
            }
            return .pareto(scale: scale, shape: shape)

        case "empirical":
            guard let items = body.items, !items.isEmpty else {
                fail(body, path, expected: "a non-empty list of observed values such as [1ms, 2ms, 9ms]")
                return nil
            }
            var samples: [Double] = []
            var ok = true
            for (i, item) in items.enumerated() {
                if let v = value(item, KeyPath.index(path, i), quantity) { samples.append(v) } else { ok = false }
            }
            return ok ? Distribution.empirical(samples) : nil

        case "mixture":
            guard let items = body.items, !items.isEmpty else {
                fail(body, path, expected: "a non-empty list such as [{weight: 99%, value: 10ms}, {weight: 1%, value: 1s}]")
                return nil
            }
            var weights: [Double] = []
            var components: [Distribution] = []
            for (i, item) in items.enumerated() {
                let p = KeyPath.index(path, i)
                guard let f = fields(item, p, allowed: ["weight", "value"], what: "{weight: 1%, value: 1s}") else { continue }
                let weightNode = required(f, "weight", expected: "a weight, a positive number or percentage")
                let valueNode = required(f, "value", expected: "a distribution such as 10ms or {exponential: 2ms}")
                guard let weightNode, let valueNode,
                      let weight = probabilityOrNumber(weightNode, f.path("weight")),
                      let component = distribution(valueNode, f.path("value"), quantity: quantity) else { continue }
                weights.append(weight)
                components.append(component)
            }
            guard weights.count == items.count else { return nil }
            guard weights.reduce(0, +) > 0 else {
                fail(body, path, expected: "weights that add up to more than zero")
                return nil
            }
            return .mixture(weights: weights, components: components)

        default:
            return nil
        }
    }

    /// A non-negative weight: `1%` or `0.01` or `3`.
    private func probabilityOrNumber(_ node: SourceNode, _ path: String) -> Double? {
        if let text = node.scalar, text.hasSuffix("%") {
            return probability(node, path)
        }
        return number(node, path, expected: "a non-negative number or a percentage", valid: { $0 >= 0 })
    }

    /// One value of the distribution's quantity.
    private func value(_ node: SourceNode, _ path: String, _ quantity: Quantity) -> Double? {
        switch quantity {
        case .duration:
            return unit(node, path, expected: Units.durationExample, { text throws(UnitError) in
                try Units.durationNanos(text)
            })
        case .number:
            return number(node, path, expected: "a number")
        }
    }

    private func show(_ value: Double, _ quantity: Quantity) -> String {
        switch quantity {
        case .duration: return Reader.compact(value / 1e6) + "ms"
        case .number: return Reader.compact(value)
        }
    }

    /// `3` rather than `3.0`; other values as Swift prints them.
    static func compact(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
