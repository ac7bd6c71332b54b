"""Reference models Faultline's benchmarks are compared against (`faultline bench --simpy`)."""
