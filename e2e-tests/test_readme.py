"""The README's commands, run as written: every ```sh block between `readme-e2e` markers of
README.md, in order, with bash, against a fresh platform. Only what a reader would fill in is
changed: the ports (the platform here listens on free ones), the clone's tools directory (the
script runs in a scratch directory) and the province's environment file."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motcua_testkit.plugin import REPO

GRPCURL_DIR = REPO / "build" / "tools" / "bin"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    (shutil.which("grpcurl") or shutil.which("grpcurl", path=str(GRPCURL_DIR))) is None or shutil.which("jq") is None,
    reason="grpcurl is installed by `make tools` (go install; Go is missing here), jq by Debian")]
REGION = re.compile(r"<!-- readme-e2e: begin -->(.*?)<!-- readme-e2e: end -->", re.S)
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def readme_blocks() -> list[str]:
    regions = REGION.findall((REPO / "README.md").read_text(encoding="utf-8"))
    return [block for region in regions for block in SH_BLOCK.findall(region)]


def readme_script() -> str:
    return "\n".join(readme_blocks())


def test_the_readme_names_its_commands_between_markers():
    script = readme_script()
    for rpc in ("SubmitDossier", "GetReceiptForm", "GetCase", "ListCases", "CompleteStep", "AssignStep",
                "TransferCase", "ReturnFromTransfer", "SignResult", "VerifyResult", "ReturnResult",
                "RequestIntakeSupplement", "SupplementDossier", "SearchDossiers", "ListUnits", "StreamHistory",
                "ExportHistory", "verify-export", "GetInvoice", "StartGatewayPayment", "GetReceipt", "RefundPayment"):
        assert rpc in script, rpc
    assert "<" not in re.sub(r"<<|<\(", "", script.replace("2>/dev/null", "")), "a placeholder is left to fill in"


def test_every_readme_command_works_in_order_on_a_fresh_platform(platform, tmp_path):
    env_file = tmp_path / "province.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in platform["env"].items() if k.startswith("MOTCUA_")))

    def as_a_reader_would(script: str) -> str:
        for port, service in (("50051", "intake"), ("50052", "workflow"), ("50053", "payment"), ("50056", "reporting")):
            script = script.replace(f"localhost:{port}", platform[service])
        script = script.replace("127.0.0.1:18080", f"127.0.0.1:{platform['env']['MOTCUA_PAYGOV_SANDBOX_PORT']}")
        return (script.replace("$PWD/build/tools/bin", str(GRPCURL_DIR)).replace(".local/quang-tri.env", str(env_file))
                .replace(".venv/bin/python", sys.executable))

    work = tmp_path / "reader"
    work.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def run(script: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", as_a_reader_would(script)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    done = run(readme_script())
    dossier = json.loads((work / "dossier.json").read_text())["dossier"]
    assert dossier["national_status"] == 2 and not dossier.get("missing_components"), dossier
    assert (work / "phieu.pdf").read_bytes().startswith(b"%PDF")
    assert (work / "mau-02.pdf").read_bytes().startswith(b"%PDF")
    case = json.loads((work / "case.json").read_text())["case"]
    assert case["status"] == "CASE_STATUS_PROCESSED" and case["result"]["sha256"]
    assert '"valid": true' in done.stdout and "VERIFIED" in done.stdout
    assert json.loads((work / "history.json").read_text())
    invoice = json.loads((work / "invoice.json").read_text())["invoice"]
    assert (invoice["status"], invoice["total_vnd"], invoice["payment"]["method"]) == ("paid", "10000", "gateway")
    assert invoice["refunded_vnd"] == "4000"  # the refund asked for twice with one key: made once
    assert (work / "bien-lai.pdf").read_bytes().startswith(b"%PDF")
    assert (work / "callbacks.txt").read_text().strip() == "3"  # the sandbox called back three times, one payment
    assert '"paid_online": 1' in done.stdout

    # Run again, the reader's first block gives a new dossier: its idempotency key is new.
    run(readme_blocks()[0])
    again = json.loads((work / "dossier.json").read_text())["dossier"]
    assert again["code"] != dossier["code"] and again["national_status"] == 2
