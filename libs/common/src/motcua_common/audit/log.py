"""Tamper evidence over a service's whole log, in log order, with signed checkpoints.

The per-aggregate chain (`prev_hash` in each envelope) proves an aggregate's events
are unchanged, but not that none was removed from its end or that the log was not
reordered. So every service also keeps:

- the log chain: one row per stored event, `entry_hash = H(previous entry_hash,
  position, aggregate, version, topic, stored bytes)`, written in the insert
  transaction while the events table is locked (so log order is commit order);
- signed checkpoints: now and then the service signs (Ed25519) the head of its
  chain. The key comes from the environment, never from the database it signs,
  so whoever can rewrite rows cannot re-sign a rewritten chain.

Verification recomputes the chain from the stored events (never trusting stored
hashes as input) and compares it with the stored chain and the signatures: the
first position where they differ is the first broken link. A chain rewritten to
match edited events still misses the next signed checkpoint, which names the
range the change lies in.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Sequence
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from motcua_common.events.store import GENESIS


def log_entry_hash(previous: str, position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{previous}\x00{position}\x00{originator_id}\x00{version}\x00{topic}\x00".encode())
    digest.update(state)
    return digest.hexdigest()


def create_audit_tables(conn: Any, schema: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".log_chain ('
                 "position bigint PRIMARY KEY, entry_hash text NOT NULL)")
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".log_checkpoints ('
                 "position bigint PRIMARY KEY, entry_hash text NOT NULL, signed_at timestamptz NOT NULL, "
                 "key_id text NOT NULL, signature bytea NOT NULL)")


def chain_inserted_events(curs: Any, schema: str, rows: Sequence[tuple[int, UUID, int, str, bytes]]) -> None:
    """Extend the log chain with just-inserted events (position, aggregate, version, topic, state).

    Runs inside the insert transaction, under the events table's lock, so the head read
    here is the head: no other transaction can insert in between.
    """
    if not rows:
        return
    curs.execute(f'SELECT entry_hash FROM "{schema}".log_chain ORDER BY position DESC LIMIT 1')
    head = curs.fetchone()
    previous = (head["entry_hash"] if isinstance(head, dict) else head[0]) if head else GENESIS
    entries = []
    for position, originator_id, version, topic, state in rows:
        previous = log_entry_hash(previous, position, originator_id, version, topic, state)
        entries.append((position, previous))
    curs.executemany(f'INSERT INTO "{schema}".log_chain (position, entry_hash) VALUES (%s, %s)', entries)


# -- signing ---------------------------------------------------------------------------------------

def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise ValueError("a public key is the base64 of 32 bytes (print it with `motcua-audit public-key`)") from error


class Signer:
    """The platform's Ed25519 key, from MOTCUA_AUDIT_SIGNING_KEY (base64 of a 32-byte seed)."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key()
        self.key_id = key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class TrustedKeys:
    """The public keys a verifier accepts, by key id (a rotated key stays trusted for old signatures)."""

    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {key_id(k): k for k in keys}

    def verify(self, signing_key_id: str, signature: bytes, message: bytes) -> bool:
        key = self._keys.get(signing_key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def checkpoint_message(service: str, province: str, position: int, entry_hash: str, signed_at: datetime) -> bytes:
    return f"motcua-checkpoint/1\n{province}\n{service}\n{position}\n{entry_hash}\n{signed_at.isoformat()}".encode()


@dataclass(frozen=True)
class Checkpoint:
    position: int
    entry_hash: str
    signed_at: datetime
    key_id: str
    signature: bytes


def record_checkpoint(conn: Any, schema: str, service: str, province: str, signer: Signer,
                      now: datetime, min_events: int = 1, max_age: timedelta | None = None) -> Checkpoint | None:
    """Sign the chain's head, unless the last checkpoint already covers it. With `min_events`
    and `max_age`, sign only once that many events arrived or the last signature is that old:
    segments stay short under load (a verification recomputes one segment) and few when quiet."""
    head = conn.execute(f'SELECT position, entry_hash FROM "{schema}".log_chain ORDER BY position DESC LIMIT 1').fetchone()
    if head is None:
        return None
    last, last_at = conn.execute(f'SELECT position, signed_at FROM "{schema}".log_checkpoints '
                                 "ORDER BY position DESC LIMIT 1").fetchone() or (0, None)
    if last >= head[0]:
        return None
    old_enough = last_at is None or max_age is None or now - last_at >= max_age
    if head[0] - last < min_events and not old_enough:
        return None
    signature = signer.sign(checkpoint_message(service, province, head[0], head[1], now))
    conn.execute(f'INSERT INTO "{schema}".log_checkpoints VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING',
                 (head[0], head[1], now, signer.key_id, signature))
    return Checkpoint(head[0], head[1], now, signer.key_id, signature)


# -- verification ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BrokenLink:
    """Where the stored log stops matching its chain. `kind`: changed, removed, unchained,
    checkpoint_mismatch (the chain itself was rewritten somewhere at or before `position`),
    bad_signature, aggregate_chain (an event's prev_hash does not match its predecessor)."""

    service: str
    position: int
    kind: str
    detail: str
    originator_id: str = ""
    originator_version: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class VerificationReport:
    service: str
    events_checked: int = 0
    checkpoints_checked: int = 0
    last_signed_position: int = 0
    unsigned_events: int = 0  # checked events after the last checkpoint: chained, not yet signed
    broken: BrokenLink | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["broken"] = self.broken.as_dict() if self.broken else None
        return data


class LogVerifier:
    """Recomputes a service's log chain from its stored events and checks it against the stored
    chain and the signed checkpoints. Reads the service's own tables only."""

    def __init__(self, conn: Any, schema: str, service: str, province: str, trusted: TrustedKeys) -> None:
        self.conn = conn
        self.schema = schema
        self.service = service
        self.province = province
        self.trusted = trusted
        self.events_table = f'"{schema}".{service}_events'
        self._checkpoints: list[Checkpoint] | None = None
        self._signatures_checked: set[int] = set()  # per verification: a checkpoint counts once

    def checkpoints(self) -> list[Checkpoint]:
        if self._checkpoints is None:
            rows = self.conn.execute(f'SELECT position, entry_hash, signed_at, key_id, signature '
                                     f'FROM "{self.schema}".log_checkpoints ORDER BY position').fetchall()
            self._checkpoints = [Checkpoint(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]
        return self._checkpoints

    def verify_all(self, progress: Callable[[int], None] | None = None) -> VerificationReport:
        report = VerificationReport(self.service)
        self._signatures_checked = set()
        self._verify_segment(report, after=0, previous=GENESIS, through=None, progress=progress)
        return report

    def verify_positions(self, positions: Iterable[int]) -> VerificationReport:
        """Verify the signed segments holding these positions (and the unsigned tail, if any is among them)."""
        report = VerificationReport(self.service)
        self._signatures_checked = set()
        checkpoints = self.checkpoints()
        segments: set[tuple[int, str, int | None]] = set()
        for position in sorted(set(positions)):
            start, start_hash = 0, GENESIS
            end: int | None = None
            for checkpoint in checkpoints:
                if checkpoint.position < position:
                    start, start_hash = checkpoint.position, checkpoint.entry_hash
                else:
                    end = checkpoint.position
                    break
            segments.add((start, start_hash, end))
        for start, start_hash, end in sorted(segments, key=lambda s: s[0]):
            if start and not self._checkpoint_signed(report, start):
                return report
            self._verify_segment(report, after=start, previous=start_hash, through=end, progress=None)
            if report.broken:
                return report
        return report

    def _checkpoint_signed(self, report: VerificationReport, position: int) -> bool:
        """Check a checkpoint's signature, once per verification: the checkpoint between two adjacent
        segments ends one and starts the next, and was counted twice (more than the log holds)."""
        if position in self._signatures_checked:
            return True
        self._signatures_checked.add(position)
        checkpoint = next(c for c in self.checkpoints() if c.position == position)
        message = checkpoint_message(self.service, self.province, checkpoint.position, checkpoint.entry_hash,
                                     checkpoint.signed_at)
        report.checkpoints_checked += 1
        if not self.trusted.verify(checkpoint.key_id, checkpoint.signature, message):
            report.broken = BrokenLink(self.service, position, "bad_signature",
                                       f"the checkpoint at position {position} is not signed by a trusted key")
            return False
        report.last_signed_position = max(report.last_signed_position, position)
        return True

    def _rows(self, after: int, through: int | None) -> Iterator[tuple]:
        bound = "" if through is None else "AND notification_id <= %(through)s"
        chain_bound = "" if through is None else "AND position <= %(through)s"
        sql = (f"SELECT coalesce(e.notification_id, c.position), e.originator_id, e.originator_version, e.topic, "
               f"e.state, c.entry_hash FROM "
               f"(SELECT * FROM {self.events_table} WHERE notification_id > %(after)s {bound}) e "
               f'FULL OUTER JOIN (SELECT * FROM "{self.schema}".log_chain WHERE position > %(after)s {chain_bound}) c '
               f"ON c.position = e.notification_id ORDER BY 1")
        with self.conn.transaction(), self.conn.cursor(name=f"verify_{self.service}") as cursor:
            cursor.itersize = 5000
            cursor.execute(sql, {"after": after, "through": through})
            yield from cursor

    def _verify_segment(self, report: VerificationReport, after: int, previous: str, through: int | None,
                        progress: Callable[[int], None] | None) -> None:
        signed = {c.position: c for c in self.checkpoints() if c.position > after
                  and (through is None or c.position <= through)}
        last_signed = max((c.position for c in self.checkpoints()), default=0)
        last_position = after
        for position, originator_id, version, topic, state, stored_hash in self._rows(after, through):
            last_position = position
            if state is None:
                report.broken = BrokenLink(self.service, position, "removed",
                                           f"the event at position {position} was removed from the log")
                return
            if stored_hash is None:
                report.broken = BrokenLink(self.service, position, "unchained",
                                           f"the event at position {position} was not written through the store",
                                           str(originator_id), version)
                return
            previous = log_entry_hash(previous, position, originator_id, version, topic, bytes(state))
            report.events_checked += 1
            if position > last_signed:
                report.unsigned_events += 1
            if previous != stored_hash:
                report.broken = BrokenLink(self.service, position, "changed",
                                           f"the event at position {position} differs from what was stored "
                                           f"(or was moved there)", str(originator_id), version)
                return
            checkpoint = signed.pop(position, None)
            if checkpoint is not None:
                if checkpoint.entry_hash != previous:
                    report.broken = BrokenLink(
                        self.service, position, "checkpoint_mismatch",
                        f"the log up to position {position} differs from its signed checkpoint: "
                        f"an event after position {after} and at or before {position} was changed "
                        "and the chain rewritten to hide it")
                    return
                if not self._checkpoint_signed(report, position):
                    return
            if progress and report.events_checked % 5000 == 0:
                progress(report.events_checked)
        if signed:
            position = min(signed)
            report.broken = BrokenLink(self.service, position, "removed",
                                       f"the signed checkpoint at position {position} is past the end of the log: "
                                       f"events after position {last_position} were removed")
            return
        if progress:
            progress(report.events_checked)


# -- the hooks the event store is given ------------------------------------------------------------

class _Chain:
    """The log chain as the event store's `chain` argument (events.store.LogChain)."""

    create_tables = staticmethod(create_audit_tables)
    chain_inserted_events = staticmethod(chain_inserted_events)
    record_checkpoint = staticmethod(record_checkpoint)
    verifier = LogVerifier
    broken_link = BrokenLink


CHAIN = _Chain()


def audit_signer(settings: Any) -> Signer:
    """The province's signing key (MOTCUA_AUDIT_SIGNING_KEY) as a Signer."""
    return Signer(settings.audit_signing_key)


def audit_trust(settings: Any) -> TrustedKeys:
    """The current key's public half and every earlier one still trusted (MOTCUA_AUDIT_TRUSTED_KEYS)."""
    return TrustedKeys([audit_signer(settings).public_key, *(load_public_key(k) for k in settings.audit_trusted_keys)])
