"""Every log line of a process is one JSON record naming its service and process (issue 17, 13):
lines from other threads and greenthreads, and from the standard library's loggers, included."""
from __future__ import annotations

import json
import subprocess
import sys

PROCESS = r'''
import eventlet
eventlet.monkey_patch()
import logging, threading
from motcua_common.observability.logs import configure, get_logger

configure("workflow", "worker")
get_logger().info("main_line")
threading.Thread(target=lambda: get_logger().info("thread_line")).start()
eventlet.spawn(lambda: get_logger().info("greenthread_line")).wait()
try:
    raise ZeroDivisionError("boom")
except ZeroDivisionError:
    logging.getLogger("nameko.containers").exception("worker_failed")
logging.getLogger("kombu").warning("reconnecting in %s seconds", 1)
'''


def test_every_line_is_one_json_record_with_service_and_process():
    result = subprocess.run([sys.executable, "-c", PROCESS], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]  # fails on any non-JSON line
    assert {r["event"] for r in records} == {"main_line", "thread_line", "greenthread_line", "worker_failed",
                                            "reconnecting in 1 seconds"}
    assert all(r["service"] == "workflow" and r["process"] == "worker" for r in records)
    assert "ZeroDivisionError: boom" in next(r for r in records if r["event"] == "worker_failed")["exception"]
    assert "Traceback" not in result.stderr
