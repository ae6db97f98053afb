"""The published contract is checked on every `make test`: buf lint, buf breaking against the
baseline kept in protos/baseline.binpb (`make protos-baseline` moves it deliberately), and no
consumer reading another service's stored events. buf and grpcurl are required, not optional."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "build" / "tools" / "bin"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(TOOLS))
    assert found, f"{name} is required by `make test`: install it with `make tools` (go install)"
    return found


def buf(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("buf"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def scratch_protos(tmp_path: Path) -> Path:
    copy = tmp_path / "protos"
    shutil.copytree(REPO / "protos", copy)
    return copy


def test_grpcurl_is_installed() -> None:
    tool("grpcurl")


def test_buf_lint_passes() -> None:
    result = buf("lint", cwd=REPO / "protos")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_protos_are_compatible_with_the_baseline() -> None:
    result = buf("breaking", "--against", "baseline.binpb", cwd=REPO / "protos")
    assert result.returncode == 0, result.stdout + result.stderr


def test_removing_a_field_of_a_published_event_fails_naming_the_field(scratch_protos: Path) -> None:
    events = scratch_protos / "motcua/workflow/events/v1/events.proto"
    text = events.read_text()
    events.write_text(text.replace("  string reason = 3;\n  google.protobuf.Timestamp apologised_at = 4;",
                                   "  google.protobuf.Timestamp apologised_at = 4;"))

    result = buf("breaking", "--against", "baseline.binpb", cwd=scratch_protos)

    assert result.returncode != 0
    assert 'name "reason" on message "DeadlineExtended"' in result.stdout + result.stderr


def test_a_field_deleted_with_its_number_and_name_reserved_is_allowed(scratch_protos: Path) -> None:
    events = scratch_protos / "motcua/workflow/events/v1/events.proto"
    text = events.read_text()
    events.write_text(text.replace(
        "  string reason = 3;\n  google.protobuf.Timestamp apologised_at = 4;\n}",
        '  google.protobuf.Timestamp apologised_at = 4;\n  reserved 3;\n  reserved "reason";\n}'))
    only_number = buf("breaking", "--against", "baseline.binpb", cwd=scratch_protos)
    assert only_number.returncode == 0, only_number.stdout + only_number.stderr

    events.write_text(text.replace(
        "  string reason = 3;\n  google.protobuf.Timestamp apologised_at = 4;\n}",
        "  google.protobuf.Timestamp apologised_at = 4;\n  reserved 3;\n}"))
    assert buf("breaking", "--against", "baseline.binpb", cwd=scratch_protos).returncode != 0


def test_renumbering_a_field_of_a_published_event_fails_naming_the_field(scratch_protos: Path) -> None:
    events = scratch_protos / "motcua/intake/events/v1/events.proto"
    events.write_text(events.read_text().replace("  string reason = 2;\n  google.protobuf.Timestamp withdrawn_at = 3;",
                                                 "  string reason = 4;\n  google.protobuf.Timestamp withdrawn_at = 3;"))

    result = buf("breaking", "--against", "baseline.binpb", cwd=scratch_protos)

    assert result.returncode != 0
    assert '"DossierWithdrawn"' in result.stdout and "reason" in result.stdout, result.stdout


# Consumers' code: what reacts to another service's events.
CONSUMERS = [REPO / "services/workflow/src/motcua_workflow/policies.py",
             REPO / "services/intake/src/motcua_intake/policies.py",
             REPO / "services/payment/src/motcua_payment/policies.py",
             REPO / "services/reporting/src/motcua_reporting/policies.py",
             REPO / "services/reporting/src/motcua_reporting/domain/dossier_state.py",
             REPO / "services/evaluation/src/motcua_evaluation/policies.py",
             REPO / "services/evaluation/src/motcua_evaluation/domain/projection.py"]
#: signs of reading stored JSON or stored class names: `.data[...]`, `.envelope`, `.topic`,
#: "Dossier.Received"-like names, LoggedEvent
STORED_SHAPE = re.compile(r"\.data\[|\.data\.get|\.envelope\b|\.topic\b|LoggedEvent|"
                          r"[\"'](Dossier|Case|PendingDossier|DossierCode|DossierRead)\.[A-Z]\w+[\"']")


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: p.parent.parent.name + "." + p.stem)
def test_no_consumer_reads_another_services_stored_events(path: Path) -> None:
    found = [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
             if STORED_SHAPE.search(line)]
    assert not found, "consumers decode published events (motcua.*.events.v1), never stored JSON:\n" + "\n".join(found)
