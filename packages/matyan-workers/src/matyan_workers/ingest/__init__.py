"""The ingest worker: applies ``data-ingestion`` messages to the store with an exactly-once effect.

:mod:`.apply` maps typed messages to store calls inside one transaction, :mod:`.deletions` keeps the
``run_deleted`` events and unfinished deletions that must survive a crash, :mod:`.batching` turns
Kafka records into store transactions (offsets and dead letters included), and :mod:`.consumer` runs
the Kafka loop.
"""
