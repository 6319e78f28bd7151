"""Worker benchmark: the Faust worker against a bare aiokafka consumer, and end-to-end latency.

    .venv/bin/python -m bench.worker [--events 1000000] [--partitions 8] [--runs 3]
                                     [--rate 5000] [--latency-seconds 30]

Needs the real services (`bash scripts/services up`; the benchmark runs it, it is idempotent;
`--no-services-up` does not).
Every invocation uses its own topics (`gsbench-<tag>-...`), app ids and Redis prefix, and
deletes them at the end (`--keep` keeps them), so runs never see each other's data.

1. Throughput. N synthetic events (one big world, traps on, cut at N lines) are produced
   once onto the five input topics (P partitions) through `agents.kafka.producer.produce_lines`
   (strictly increasing message timestamps). Then, alternately in each run (the order
   flips from run to run, so neither side always gets the warmer machine):

   - bare: one process with one aiokafka consumer (fresh group id, earliest) on the five
     topics, decoding nothing, until it has read N messages: the ceiling;
   - worker: one `python -m agents.cli worker` process (fresh GROWTH_APP_ID and Redis
     prefix, so it starts from offset 0 with empty state), until the Redis hash
     `{prefix}metrics` shows events + duplicates + dead_letters == N (polled every 0.5 s).

   Both are timed from process start (interpreter start, imports, group join included):
   `whole` = N / that time. "From first output" separates start-up: for the bare consumer
   it counts from its first message; for the worker from the first poll that saw a
   non-zero count c1, as (N - c1) / (t_done - t_first) (the worker publishes its figures
   every GROWTH_CHANGE_INTERVAL_MS = 1000 ms by default; the 0.5 s polling adds up to
   0.5 s). Because the worker's aggregator can lag its engines, the worker's own pace is
   also taken from its `<app>-partials` topic ("engine": message timestamps from the first
   partial that counts anything to the partials adding up to N). CPU seconds of each
   process come from /proc (worker, all threads) and getrusage (bare).

   The worker's internal topics (`<app>-partials`, `-clock`, `-checkpoints-changelog`,
   `-__assignor-__leader`) are created before it starts (`--no-precreate` does not): a
   fresh worker that creates them itself can miss `-partials` in its first metadata
   ("Ignoring missing topic") and then aggregate nothing for minutes.

2. Latency (GROWTH_CHANGE_INTERVAL_MS=200), --latency-runs times (3), each on fresh topics
   with a fresh app id: a worker is started and, once it has written its (empty) metrics
   hash, --rate events/s are produced for --latency-seconds through produce_lines with a
   pacing generator, the wall time at which each line is handed to the producer being
   recorded. Reported for all events and for those produced after
   --latency-warmup-seconds (5), as the median over runs of each run's p50 and p99.
   Measured:

   - change latency: each metric-changes record carries cause_event_id (the last event the
     partition with the newest stream time had applied when it published its partial) and
     emitted_at. A consumer thread records the wall time each record is received.
     latency = receive time - produce time of cause_event_id (also emitted_at - produce
     time). Records emitted together (same emitted_at) count once. The cause is the
     NEWEST event behind the emission, so this is the freshness of the change feed, not
     how long the oldest event of the interval waited (the Redis figure below covers that).
   - Redis latency: a thread reads the metrics hash every 20 ms. Event number k (in
     production order) counts as visible at the first read whose
     events + duplicates + dead_letters >= k; latency = that time - its produce time,
     over every produced event. Partitions run independently, so this assumes their
     events become visible in production order (close to true at a steady rate).

3. A markdown table on stdout and bench/out/worker.json. Progress lines go to stderr.

The modules, in the order a run uses them:

- `__main__`: `main()`, the options, the run's config and the output files;
- `services`: where Kafka and Redis are (`scripts/services`), the Redis metrics count;
- `names`: one part's topics, app ids, Redis prefixes and the worker's environment;
- `processes`: child processes (own process groups, stopped on exit), their CPU and logs;
- `inputs`: the synthetic input lines and producing them;
- `worker_topics`: the worker's internal topics: created up front, its partials read back;
- `throughput`: part 1, the bare consumer and the worker on the same N events;
- `probes`, `latency`: part 2, the change-feed and Redis watchers and the latency runs;
- `report`: the markdown table; `cleanup`: deleting the invocation's topics and keys;
- `progress`, `stats`: progress lines on stderr, percentiles and rounding.
"""
