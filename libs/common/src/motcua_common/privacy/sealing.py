"""Personal data is never written in clear into hash-chained events.

A person is named in events by a subject id (a keyed hash of their identifier,
not guessable from the identifier without the province's key) and their data is
sealed with a key of their own. Erasing a person destroys that key; the history
stays intact and verifiable, the personal data becomes unreadable.
"""
from __future__ import annotations

import base64
import hmac
import json
import os
import threading
from collections import OrderedDict
from hashlib import sha256
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from psycopg_pool import ConnectionPool


class SubjectErased(LookupError):
    pass


def _derive(kek: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose).derive(kek)


def subject_id_for(kek: bytes, province: str, kind: str, identifier: str) -> UUID:
    """A person's pseudonymous subject id: a keyed hash of (province, kind, identifier). Every
    service of a province derives the same id from the same key, so the gRPC edge can tell a
    citizen's own dossiers (the applicant's subject id) without the ID ever being stored in clear."""
    digest = hmac.new(_derive(kek, b"motcua subject id"), f"{province}|{kind}|{identifier}".encode(), sha256).digest()
    return UUID(bytes=digest[:16])


class SubjectVault:
    """Per-subject data keys, wrapped by the province's key-encryption key, in the owning service's schema."""

    def __init__(self, pool: ConnectionPool, schema: str, kek: bytes, province: str) -> None:
        self._pool = pool
        self._table = f'"{schema}".subject_keys'
        self._wrap = AESGCM(_derive(kek, b"motcua subject key wrapping"))
        self._kek = kek
        self._province = province
        self._keys: OrderedDict[UUID, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def create_table(conn, schema: str) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".subject_keys ('
            "subject_id uuid PRIMARY KEY, wrapped_key bytea, created_at timestamptz NOT NULL DEFAULT now(), "
            "erased_at timestamptz)"
        )

    def subject_id(self, kind: str, identifier: str) -> UUID:
        return subject_id_for(self._kek, self._province, kind, identifier)

    def seal(self, subject_id: UUID, data: dict) -> str:
        key = self._key(subject_id, create=True)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(data, ensure_ascii=False, sort_keys=True).encode(), subject_id.bytes)
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, subject_id: UUID, sealed: str) -> dict:
        key = self._key(subject_id, create=False)
        raw = base64.b64decode(sealed)
        return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], subject_id.bytes))

    def erase(self, subject_id: UUID) -> None:
        with self._pool.connection() as conn:
            conn.execute(f"UPDATE {self._table} SET wrapped_key = NULL, erased_at = now() WHERE subject_id = %s", (subject_id,))
        with self._lock:
            self._keys.pop(subject_id, None)

    def _key(self, subject_id: UUID, create: bool) -> bytes:
        with self._lock:
            if subject_id in self._keys:
                self._keys.move_to_end(subject_id)
                return self._keys[subject_id]
        with self._pool.connection() as conn:
            if create:
                fresh = AESGCM.generate_key(bit_length=256)
                wrapped = self._wrap_key(subject_id, fresh)
                conn.execute(
                    f"INSERT INTO {self._table} (subject_id, wrapped_key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (subject_id, wrapped),
                )
            row = conn.execute(f"SELECT wrapped_key FROM {self._table} WHERE subject_id = %s", (subject_id,)).fetchone()
        if row is None or row[0] is None:
            raise SubjectErased(f"no key for subject {subject_id}: never sealed or erased")
        key = self._wrap.decrypt(bytes(row[0])[:12], bytes(row[0])[12:], subject_id.bytes)
        with self._lock:
            self._keys[subject_id] = key
            while len(self._keys) > 10_000:
                self._keys.popitem(last=False)
        return key

    def rewrap_all(self, new_kek: bytes) -> int:
        """Re-wrap every subject key under a new key-encryption key, in one transaction.

        Afterwards only the new key opens them: switch MOTCUA_SUBJECT_KEK everywhere, then
        restart. Erased subjects stay erased. Returns how many keys were re-wrapped.
        """
        new_wrap = AESGCM(_derive(new_kek, b"motcua subject key wrapping"))
        count = 0
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(f"SELECT subject_id, wrapped_key FROM {self._table} "
                                "WHERE wrapped_key IS NOT NULL FOR UPDATE").fetchall()
            for subject_id, wrapped in rows:
                wrapped = bytes(wrapped)
                key = self._wrap.decrypt(wrapped[:12], wrapped[12:], subject_id.bytes)
                nonce = os.urandom(12)
                conn.execute(f"UPDATE {self._table} SET wrapped_key = %s WHERE subject_id = %s",
                             (nonce + new_wrap.encrypt(nonce, key, subject_id.bytes), subject_id))
                count += 1
        self._wrap = new_wrap
        with self._lock:
            self._keys.clear()
        return count

    def _wrap_key(self, subject_id: UUID, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._wrap.encrypt(nonce, key, subject_id.bytes)
