"""Sample store uploads for demos, tests and benchmarks; the platform itself never reads them."""
