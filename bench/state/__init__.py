"""State benchmark (issue 10): how the worker's state costs grow with users and with events.

    .venv/bin/python -m bench.state [--accounts 2000] [--users 40] [--events-per-day 2]
                                    [--days 20] [--runs 2] [--worker-runs 1] [--engine-only]

The world (`world`): A accounts x U users x K activity events per user per day x D
days, in event-time order, plus per account a signup on day 0 and a subscription
payment every 30 days (a third of the accounts change price every month), and each
day one survey answer from a tenth of the accounts. Every event is valid: no
duplicates, nothing late, so every count below is an applied event. Two worlds are
measured side by side in every invocation: "large" and "small", the same world with
accounts / 10 (same users per account, same days, same events per user). Users,
accounts and events all scale by 10 between them while the stream's length in days
does not, so large / small says what a cost does with the number of users, and the
10 % segments of one run say what it does with the length of the log already applied.
RSS includes the interpreter (and, for the worker, Faust and its clients), the same in
both worlds; the "cost of one more user" table, (large - small) / (users of large -
users of small), takes it out.

1. Engine alone (`engine_part`, `engine_run`), `--runs` runs of each world, the sizes
   alternating (the order flips every run), each run in a fresh interpreter so its RSS
   is its own world's. The messages go through
   `state.pipeline.Pipeline(Engine(engine_config(Settings())), Decoder(settings)).message`;
   they are generated in chunks between timed feeds, so events/s is the pipeline's
   alone. The engine sits in `agents.worker.checkpoints.PartitionState(0, engine)`;
   after every 10 % of the stream, `write_checkpoint(state, write)` writes into a dict
   (None deletes a key: the dict is the compacted changelog), timed, counting the
   records and bytes (keys and values) it is given. The checkpoints are incremental:
   each writes what changed since the previous one. At each 10 %: events/s of the
   segment, VmRSS, users and remembered ids. At the end: users
   (`len(engine.activity.active)`), accounts, remembered ids (`len(engine.seen)`), RSS
   and its peak, RSS per user, the dict's keys and bytes, `restore(0, config, dict)`
   timed (and checked: same events, users, ids and MRR as the live engine), then one
   full write (`state.write_all = True`, `write_checkpoint` again), timed: the cost of
   writing the total state, beside the incremental cost of writing what changed.
   Medians over runs.

2. One worker on the real broker (`broker_part`, `worker_run`; not with
   `--engine-only`). Kafka and Redis must already run (`bash scripts/services up`;
   `--services-up` runs it); nothing here stops them. Each world gets its own topics
   (`gsbench-<tag>-<world>-*`, 4 partitions, `ensure_topics`) and is produced in full
   through `agents.kafka.producer.produce_lines` before any worker starts, so the
   worker's pace is its own. It ends two days before today: the worker rejects an
   event far ahead of its record time, which is the produce time. Then, in each of
   `--worker-runs` runs (sizes alternating), one `python -m agents.cli worker` with a
   fresh app id and Redis prefix (so it starts at offset 0 with empty state) and the
   GROWTH_* environment of exactly these settings. Every `--sample-seconds`: its
   `/prometheus` counters (events applied, duplicates, dead letters, checkpoints and
   their records, bytes and seconds), the Redis `{prefix}metrics` counts and its VmRSS.
   Segment k of the stream runs from the first sample that has applied (k-1)/10 of the
   events to the first that has applied k/10; its events/s and its checkpoints' records,
   bytes and seconds per checkpoint are counter deltas between those two samples.
   The counters count only checkpoints the broker acknowledged, so the worker log is
   read too (checkpoints not acknowledged, the longest overlapping checkpoint timer).
   Once every event is applied and in Redis, the worker is left until its consumer group
   has committed every input offset (the worker commits only what a durable checkpoint
   covers: nothing is left unsaved; a checkpoint counter standing still does not say
   that, as one checkpoint can outlast several intervals), then SIGKILLed and started
   again on the same web port and data dir, as a crashed worker on the same machine
   would be; 100 new activity events are produced right after the restart. Measured
   from the restart: `/health` 200, and Redis `events` grown by 100; also the events
   the new process applied (100 when nothing had to be replayed) and its RSS once
   recovered. The invocation's topics and Redis keys are
   deleted at the end (`bench.worker.cleanup`; `--keep` keeps them), every child is
   stopped in a `finally`; worker logs and data dirs are in `/tmp/gsbench-<tag>-*/`.

3. Markdown tables on stdout, everything (per run, every sample) in
   `bench/out/state.json`, progress lines on stderr.

The modules: `__main__` (options, both parts, output), `world` (the synthetic stream),
`engine_part` / `engine_run` (part 1), `broker_part` / `worker_run` / `samples`
(part 2), `memory` (/proc and the worker's HTTP endpoints), `report` (the tables).
Processes, services, cleanup, progress and statistics come from `bench.worker`.
"""
