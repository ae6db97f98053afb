"""Stored events are a contract: every version of every event class a service ever stored
must still load, through its upcasters, as the current class.

Each service keeps one stored sample per (event class, version) in its tests
(`tests/stored_events/<Aggregate.Event>.v<N>.json`: the topic and the state exactly
as stored). `check_contract` fails when a class or a new version has no sample, and
when a sample no longer decodes into an event with every current field. When you add
an event class or bump `class_version`, freeze a sample of the new shape:

    python -m motcua_common.events.stored_contract freeze <service> <samples dir> [--env-file ...]

(it copies one stored event per class and version from the service's store) and keep
the older samples: they are what the upcasters must keep reading.
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from motcua_common.events.store import ChainingMapper, make_transcoder
from motcua_common.config.settings import Settings, process_environment


def event_classes(aggregates: Iterable[type]) -> dict[str, type]:
    """The event classes the aggregates store, by qualified name (e.g. "Case.Resumed")."""
    found = {}
    for aggregate in aggregates:
        created = getattr(aggregate, "_created_event_class", None)
        for name, value in vars(aggregate).items():
            if not (inspect.isclass(value) and issubclass(value, aggregate.Event)) or name == "Event":
                continue
            if name == "Created" and created is not value:
                continue  # the generic creation class, replaced by the aggregate's own (e.g. Case.Opened)
            found[value.__qualname__] = value
    return found


@dataclass(frozen=True)
class Sample:
    path: Path
    topic: str
    class_version: int
    state: bytes

    @property
    def name(self) -> str:
        return self.topic.rsplit(":", 1)[-1]


def load_samples(directory: Path) -> list[Sample]:
    samples = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        samples.append(Sample(path, data["topic"], int(data["class_version"]),
                              json.dumps(data["stored_state"], separators=(",", ":"), ensure_ascii=False).encode()))
    return samples


def check_contract(aggregates: Iterable[type], directory: Path) -> list[str]:
    """Problems with the stored-event contract (empty: every stored shape still loads)."""
    classes = event_classes(aggregates)
    samples = load_samples(directory)
    problems = []
    have = {(s.name, s.class_version) for s in samples}
    for name, cls in sorted(classes.items()):
        for version in range(1, getattr(cls, "class_version", 1) + 1):
            if (name, version) not in have:
                problems.append(f"{name} v{version}: no stored sample in {directory} (freeze one: see this module)")
    mapper = ChainingMapper(transcoder=make_transcoder())
    for sample in samples:
        cls = classes.get(sample.name)
        if cls is None:
            problems.append(f"{sample.path.name}: {sample.name} is no longer an event class, but it is stored")
            continue
        try:
            event = mapper.to_domain_event(StoredEvent(UUID(int=1), 2, sample.topic, sample.state))
        except Exception as error:  # noqa: BLE001 - every failure is a broken contract, reported by sample
            problems.append(f"{sample.path.name}: does not load: {type(error).__name__}: {error}")
            continue
        if not isinstance(event, cls):
            problems.append(f"{sample.path.name}: loads as {type(event).__qualname__}, not {sample.name}")
        missing = [f for f in inspect.get_annotations(cls) if not hasattr(event, f)]
        missing += [p for p in _init_fields(cls) if not hasattr(event, p)]
        if missing:
            problems.append(f"{sample.path.name}: after upcasting lacks {sorted(set(missing))}")
    return problems


def _init_fields(cls: type) -> list[str]:
    """Fields of a decorator-defined event (`@event("Name") def method(self, a, b)`) are its dataclass fields."""
    fields = getattr(cls, "__dataclass_fields__", {})
    return [name for name in fields if name not in ("originator_id", "originator_version", "timestamp")]


def freeze(service: str, directory: Path, env_file: str | None) -> int:
    """Copy one stored event per (class, version) not yet sampled from the service's store."""
    import psycopg

    env = process_environment(env_file)
    env.setdefault("MOTCUA_AMQP_URI", "amqp://unused")
    env.setdefault("MOTCUA_DATA_DIR", "unused")
    settings = Settings.from_env(env)
    directory.mkdir(parents=True, exist_ok=True)
    have = {(s.name, s.class_version) for s in load_samples(directory)}
    written = 0
    with psycopg.connect(settings.postgres_conninfo()) as conn:
        rows = conn.execute(f'SELECT DISTINCT ON (topic) topic, state FROM "{service}".{service}_events '
                            "ORDER BY topic, notification_id DESC").fetchall()
    for topic, state in rows:
        stored_state = json.loads(bytes(state))
        version = int(stored_state.get("class_version", 1))
        name = topic.rsplit(":", 1)[-1]
        if (name, version) in have:
            continue
        path = directory / f"{name}.v{version}.json"
        path.write_text(json.dumps({"topic": topic, "class_version": version, "stored_state": stored_state},
                                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written += 1
        print(f"froze {path}")
    print(f"{written} new samples in {directory}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua_common.events.stored_contract",
                                     description="freeze stored-event samples for the contract tests")
    sub = parser.add_subparsers(dest="command", required=True)
    frozen = sub.add_parser("freeze")
    frozen.add_argument("service")
    frozen.add_argument("directory", type=Path)
    frozen.add_argument("--env-file")
    args = parser.parse_args(argv)
    return freeze(args.service, args.directory, args.env_file)


if __name__ == "__main__":
    sys.exit(main())

