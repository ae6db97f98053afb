"""The runner merges its processes' outputs a whole line at a time (issue 17, 5): records written
concurrently, each in several writes, never end up glued together or split."""
from __future__ import annotations

import json
import sys
import time

from motcua_common.runtime.platform_runner import Supervisor

WRITER = r'''
import json, os, sys, time
name, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:  # all begin together
    time.sleep(0.001)
for i in range(400):
    record = json.dumps({"event": "line", "process": name, "i": i, "padding": "x" * (i * 37 % 5000)}).encode()
    half = len(record) // 2
    os.write(1, record[:half])          # a record in two writes, as print() does it
    time.sleep(0.0002)
    os.write(1, record[half:] + b"\n")
'''


def test_concurrent_records_are_merged_as_whole_lines(tmp_path):
    output = open(tmp_path / "merged.log", "w+")  # noqa: SIM115 - a real file, as a terminal or a pipe would be
    supervisor = Supervisor(env={"MOTCUA_METRICS_BASE_PORT": "0"}, log_dir=None, output=output)
    names = ["intake-grpc", "workflow-worker", "reporting-relay"]
    start = str(time.time() + 1.5)
    supervisor.commands = {name: [sys.executable, "-c", WRITER, name, start] for name in names}
    supervisor.start_all()
    for child in supervisor.children.values():
        assert child.wait(60) == 0
    supervisor.stop_all()

    output.seek(0)
    records = [json.loads(line) for line in output.read().splitlines()]  # a glued line fails here
    assert sorted((r["process"], r["i"]) for r in records) == sorted((n, i) for n in names for i in range(400))
