"""Voilà settings that need Python (app/voila.json holds the rest); Voilà reads both from this folder.

The page is kept without outputs (scripts/run_notebooks.py) and Voilà runs it afresh for each visitor, so
there is nothing in it to trust; unsigned, the server still warns "Notebook whatif.ipynb is not trusted" on
every page load. It is signed for this user (as `jupyter trust` would) only while it holds no outputs.

The page's kernels talk to the server over Unix sockets in a folder only this user can open, as the
report's kernels do (screening.views.notebook_runner.socket_kernels): over TCP, ipykernel warns on every
page load that the traffic is unencrypted, which over loopback only this machine could read and a user
cannot act on.

jupyter_server keeps its websocket keep-alive in milliseconds (a ping every 30 s, a connection dropped after
90 s without an answer) and tornado 6.5 reads the same two settings as seconds: tornado then warns once that
its own timeout (90,000 s) exceeds its own interval (30,000 s) and shortens it. Tornado's own pings, every
30,000 s, never run in practice, so the shortening changes nothing; jupyter_server's checks still close a dead
page's connection after 90 s. The warning is dropped here rather than printed to a user who cannot act on it.
"""

import atexit
import logging
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat.sign import NotebookNotary

c = get_config()  # noqa: F821 (Jupyter's config loader provides it)

_page = nbformat.read(Path(__file__).with_name("whatif.ipynb"), as_version=4)
if not any(cell.get("outputs") for cell in _page.cells):
    NotebookNotary().sign(_page)

_sockets = tempfile.mkdtemp(prefix="screening-app-")  # mode 0700
atexit.register(shutil.rmtree, _sockets, ignore_errors=True)  # Ctrl-C and SIGTERM stop Voilà cleanly
c.KernelManager.transport = "ipc"
c.KernelManager.ip = str(Path(_sockets) / "kernel")


class _TornadoPingClamp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("The websocket_ping_timeout")


logging.getLogger("tornado.general").addFilter(_TornadoPingClamp())
