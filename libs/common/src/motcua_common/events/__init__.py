"""The event store and its envelope: every event's context (actor, dossier, causation, times),
the base aggregate, deterministic ids and idempotency records, the PostgreSQL store with its group
commit and the caller's deadline, the relay that publishes the notification log, the consumer that
applies upstream events exactly once, replay of projections, the stored-events contract, and the
in-memory store for unit tests. The chain and access-record hooks are given to the store as
arguments (see MotcuaApplication): this room imports nothing from audit."""
