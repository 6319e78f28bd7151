"""The benchmarks: replay throughput, demo world speed and the worker (see each module).

Why it exists: it makes `bench` a package, so that the worker benchmark runs as
`python -m bench.worker` and its modules import each other as `bench.worker.*`.
"""
