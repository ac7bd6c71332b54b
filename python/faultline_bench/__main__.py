"""python -m faultline_bench simpy-mm1 CUSTOMERS: SimPy's textbook M/M/1 queue (λ = 1000/s,
mean service 0.5 ms, ρ = 0.5), the model `faultline bench` measures its station path and bare
queue against. Prints one JSON object: customers, seconds, SimPy's event count, mean sojourn."""
import json
import random
import sys
import time

import simpy


def simpy_mm1(customers: int) -> dict:
    lam, mu = 1000.0, 2000.0  # per second: ρ = 0.5
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    rng = random.Random(1)
    stats = {"done": 0, "sojourn": 0.0}

    def customer(env):
        arrived = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(mu))
        stats["done"] += 1
        stats["sojourn"] += env.now - arrived

    def source(env):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    start = time.perf_counter()
    env.run()
    seconds = time.perf_counter() - start
    # SimPy's own event count: every scheduled event passes through env._queue.
    return {"customers": stats["done"], "seconds": seconds, "events": next(env._eid),
            "mean_sojourn_ms": 1000 * stats["sojourn"] / stats["done"]}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "simpy-mm1" or not argv[1].isdigit() or int(argv[1]) <= 0:
        print("usage: python -m faultline_bench simpy-mm1 CUSTOMERS", file=sys.stderr)
        return 2
    print(json.dumps(simpy_mm1(int(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
