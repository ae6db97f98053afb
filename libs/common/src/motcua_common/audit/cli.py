"""`motcua-audit`: the auditor's and operator's side of tamper evidence.

    motcua-audit verify-export history.json --public-key KEY    offline: no database, no network
    motcua-audit public-key                                     the platform's public key, to hand to auditors
    motcua-audit verify-log workflow                            recompute a service's whole log chain
    motcua-audit checkpoint workflow                            sign the head of a service's log now

Exit codes: 0 verified, 1 verification failed, 2 bad usage or configuration.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from motcua_common.audit.export import verify_document
from motcua_common.audit.log import (LogVerifier, TrustedKeys, audit_signer, audit_trust, load_public_key,
                                     public_key_text, record_checkpoint)
from motcua_common.config.clock import make_clock
from motcua_common.config.settings import Settings, process_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-audit", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--env-file", help="a province's environment file (default: the process environment)")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("verify-export", help="check a signed history export, offline")
    export.add_argument("file", type=Path)
    export.add_argument("--public-key", action="append", required=True,
                        help="a trusted public key (base64); repeat for earlier keys")
    sub.add_parser("public-key", help="print the platform's audit public key and its id")
    log = sub.add_parser("verify-log", help="recompute a service's whole log chain and check its checkpoints")
    log.add_argument("service")
    checkpoint = sub.add_parser("checkpoint", help="sign the head of a service's log now")
    checkpoint.add_argument("service")
    args = parser.parse_args(argv)
    if args.command == "verify-export":
        return _verify_export(args.file, args.public_key)
    try:
        settings = _settings(args.env_file)
    except Exception as error:  # noqa: BLE001 - a configuration problem, reported by name
        print(f"motcua-audit: {error}", file=sys.stderr)
        return 2
    if args.command == "public-key":
        signer = audit_signer(settings)
        print(f"{public_key_text(signer.public_key)}  (key id {signer.key_id})")
        return 0
    if args.command == "verify-log":
        return _verify_log(settings, args.service)
    return _checkpoint(settings, args.service)


def _settings(env_file: str | None):  # type: ignore[no-untyped-def]
    env = process_environment(env_file)
    env.setdefault("MOTCUA_AMQP_URI", "amqp://unused")  # these commands never talk to the broker
    env.setdefault("MOTCUA_DATA_DIR", "unused")
    return Settings.from_env(env)


def _verify_export(path: Path, keys: list[str]) -> int:
    try:
        trusted = TrustedKeys([load_public_key(k) for k in keys])
        document = path.read_bytes()
    except (ValueError, OSError) as error:
        print(f"motcua-audit: {error}", file=sys.stderr)
        return 2
    check = verify_document(document, trusted)
    if check.ok:
        print(f"{path}: VERIFIED: signed by a trusted key; {check.events} events, every hash and link recomputed")
        return 0
    print(f"{path}: NOT VERIFIED")
    for problem in check.problems:
        print(f"  - {problem}")
    return 1


def _verify_log(settings, service: str) -> int:  # type: ignore[no-untyped-def]
    import psycopg
    from tqdm import tqdm

    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        head = conn.execute(f'SELECT coalesce(max(notification_id), 0) FROM "{service}".{service}_events').fetchone()[0]
        bar = tqdm(total=head, desc=f"{service} log", unit="ev", unit_scale=True, file=sys.stderr)
        started = time.monotonic()

        def progress(done: int) -> None:
            bar.n = done
            bar.refresh()

        report = LogVerifier(conn, service, service, settings.province, audit_trust(settings)).verify_all(progress)
        bar.close()
    seconds = max(time.monotonic() - started, 1e-9)
    print(f"{service}: {report.events_checked} events and {report.checkpoints_checked} checkpoints checked in "
          f"{seconds:.1f}s ({report.events_checked / seconds:,.0f} events/s); "
          f"{report.unsigned_events} after the last checkpoint")
    if report.broken:
        b = report.broken
        print(f"BROKEN at position {b.position} ({b.kind}): {b.detail}")
        return 1
    print("intact")
    return 0


def _checkpoint(settings, service: str) -> int:  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        checkpoint = record_checkpoint(conn, service, service, settings.province, audit_signer(settings),
                                       make_clock(settings).now())
    print(f"{service}: signed position {checkpoint.position}" if checkpoint else f"{service}: nothing new to sign")
    return 0


if __name__ == "__main__":
    sys.exit(main())
