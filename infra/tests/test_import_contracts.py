"""The import contracts (.importlinter at the repo root) hold: the library's rooms are layers,
each service keeps its ports-and-adapters shape, services never import each other, and
nothing shipped imports the test kit."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--config", str(REPO / ".importlinter"), "--no-cache"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_import_is_hidden_inside_a_function():
    """Rooms import each other at the top of a module only, where the contracts see them plainly."""
    hidden = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
              for p in (REPO / "libs" / "common" / "src").rglob("*.py")
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if line[:1].isspace() and line.lstrip().startswith(("from motcua_common", "import motcua_common"))]
    assert hidden == []
