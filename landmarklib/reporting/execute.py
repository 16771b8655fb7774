"""Run one notebook with papermill so that a lost kernel message cannot hang the run.

``make report`` (``reporting.runner``), the notebook tests and ``make colab-check``
(``tools/colab/run_notebooks.py``) all execute notebooks through
``execute_notebook`` here. It is papermill with a watchful client (``WatchedClient``):

* **The reply is polled in short steps.** nbclient waits for a cell's
  ``execute_reply`` with one ``poll`` on the shell socket that lasts the whole
  cell timeout. While a cell displays a widget, nbclient's Output-widget mimic
  sends on that same socket from another coroutine; a reply that arrives in
  that moment can be taken in by ZeroMQ without waking the poll (its file
  descriptor is edge-triggered), and the client then waits until the timeout
  although the kernel is idle. That is what hung 05_demo's smoothing-slider cell
  under Colab's versions (nbclient 0.10, jupyter_client 7.4) and, before,
  under ours. Polling in ``POLL_STEP`` steps looks at the socket again every
  second, so such a reply is read a second late instead of never; every reply
  read late is counted (``WatchedClient.late_replies``) and printed.
* **A kernel that went idle without replying fails fast.** The kernel sends a
  cell's reply before it reports ``idle``; a cell whose ``idle`` was seen and
  whose reply has not come ``REPLY_GRACE`` seconds later fails with ``CellHung``.
* **Each cell has its own budget.** A cell's metadata ``{"landmarklib":
  {"timeout": 120}}`` caps it (a widget cell needs seconds); others get the
  run's default. A cell past its budget fails with ``CellHung`` naming the
  notebook's cell, its first line and the last message the kernel sent, and
  the kernel's Python stacks are written to stderr (``faulthandler``, asked for
  with SIGUSR1) before it is shut down.
* **Widget cells can be drilled.** ``repeat_widget_cells=N`` runs the cells
  marked ``{"landmarklib": {"widget": true}}`` N more times in the same kernel
  once the notebook has passed (``make colab-check`` does it ten times), so a
  hang that strikes one run in several shows up in one check.

Only papermill, nbclient and the standard library are imported, so
``tools/colab/run_notebooks.py`` loads this file by path in Colab's stand-in
venv before landmarklib is installed there.
"""
import os
import signal
import sys
import time
from datetime import datetime, timezone

CELL_METADATA = "landmarklib"   # cell.metadata["landmarklib"]["timeout"]: seconds
POLL_STEP = 1.0                 # seconds per poll of the shell socket
REPLY_GRACE = 15.0              # seconds from the kernel's "idle" to its reply, at most
LATE_REPLY = 2.5                # a reply read this many seconds after it was sent is "late"
ENGINE = "landmarklib-watched"  # the papermill engine name
LATE_REPLIES = []               # (cell index, seconds) of every reply read late, this process
# Registered in the kernel before the first cell: SIGUSR1 dumps every thread's stack.
KERNEL_SETUP = ("import faulthandler as _fh, signal as _sg, sys as _sy\n"
                "if hasattr(_sg, 'SIGUSR1'): _fh.register(_sg.SIGUSR1, file=_sy.__stderr__, all_threads=True)\n"
                "del _fh, _sg, _sy")


class CellHung(TimeoutError):
    """A cell ran past its budget, or the kernel went idle and its reply never came.

    A TimeoutError, as nbclient's own cell timeout is, so callers that retry
    a timed-out notebook treat both alike.
    """


def is_widget_cell(cell):
    """Whether `cell` is marked as one that displays live widgets (``CELL_METADATA``)."""
    return bool(cell.get("metadata", {}).get(CELL_METADATA, {}).get("widget"))


def cell_timeout(cell, default):
    """The seconds `cell` may run: its metadata budget, else `default` (None: no limit).

    Args:
        cell: an nbformat code cell.
        default: the run's cell timeout in seconds, or None.
    """
    budget = cell.get("metadata", {}).get(CELL_METADATA, {}).get("timeout")
    return default if budget is None else budget


def first_line(source):
    """The first line of a cell that is neither blank nor a comment."""
    lines = [line.strip() for line in source.splitlines()]
    return next((line for line in lines if line and not line.startswith("#")), lines[0] if lines else "")


def _age(msg):
    """Seconds since the kernel sent `msg` (its header's date), or 0 if unknown."""
    sent = msg.get("header", {}).get("date")
    if not isinstance(sent, datetime):
        return 0.0
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)
    return max(0.0, (datetime.now(timezone.utc) - sent).total_seconds())


class _CellWatch:
    """What the kernel last said about the cell being run."""

    def __init__(self):
        self.start(None, "")

    def start(self, index, source):
        self.index, self.line = index, first_line(source)
        self.started = self.last_at = time.monotonic()
        self.last = "nothing yet"
        self.idle_at = None

    def seen(self, msg):
        kind = msg["msg_type"]
        if kind == "status":
            kind = f"status {msg['content'].get('execution_state')}"
            if msg["content"].get("execution_state") == "idle":
                self.idle_at = time.monotonic()
        self.last, self.last_at = kind, time.monotonic()

    def idle_for(self):
        return 0.0 if self.idle_at is None else time.monotonic() - self.idle_at

    def describe(self, what):
        now = time.monotonic()
        return (f"cell {self.index + 1 if self.index is not None else '?'} ({self.line!r}) {what}; "
                f"the kernel last sent '{self.last}' {now - self.last_at:.0f} s ago, "
                f"{self.last_at - self.started:.0f} s into the cell")


def stepped(get_msg, watch, late_replies):
    """`get_msg` (a channel's ``async get_msg(timeout)``) polled in ``POLL_STEP`` steps.

    A message that one poll missed is found by the next one, a step later.
    Raises ``CellHung`` once `watch` has seen the kernel idle for longer than
    ``REPLY_GRACE`` without the message coming, and ``queue.Empty`` at `timeout`
    as `get_msg` does. Replies read more than ``LATE_REPLY`` s after the kernel
    sent them are appended to `late_replies` as (cell index, seconds) and printed.

    Args:
        get_msg: the channel's own coroutine function.
        watch: the ``_CellWatch`` of the client.
        late_replies: a list that collects the late replies.
    """
    from queue import Empty  # what jupyter_client's get_msg raises on a timeout

    async def get_msg_in_steps(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        missed = False
        while True:
            step = POLL_STEP if deadline is None else max(0.0, min(POLL_STEP, deadline - time.monotonic()))
            try:
                msg = await get_msg(timeout=step)
            except Empty:
                missed = True
                if watch.idle_for() > REPLY_GRACE:
                    raise CellHung(watch.describe(
                        f"never got its reply: the kernel went idle {watch.idle_for():.0f} s ago")) from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if missed and _age(msg) > LATE_REPLY:
                late_replies.append((watch.index, round(_age(msg), 1)))
                cell = "?" if watch.index is None else watch.index + 1
                print(f"    [execute] a kernel reply (cell {cell}) was read {_age(msg):.0f} s after "
                      "it was sent: a missed wake-up, recovered", file=sys.stderr, flush=True)
            return msg

    return get_msg_in_steps


def _client_class():
    from nbclient.exceptions import CellTimeoutError
    from nbclient.util import run_sync
    from papermill.clientwrap import PapermillNotebookClient

    class WatchedClient(PapermillNotebookClient):
        """papermill's client, with the reply polled in steps and each cell watched."""

        def __init__(self, nb_man, repeat_widget_cells=0, **kwargs):
            default = kwargs.get("timeout")
            self.repeat_widget_cells = repeat_widget_cells
            kwargs["timeout_func"] = lambda cell: cell_timeout(cell, default)
            super().__init__(nb_man, **kwargs)
            self.watch = _CellWatch()
            self.late_replies = LATE_REPLIES

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            kc.shell_channel.get_msg = stepped(kc.shell_channel.get_msg, self.watch, self.late_replies)
            return kc

        # nbclient binds its sync names to its own coroutines: bind them to these
        start_new_kernel_client = run_sync(async_start_new_kernel_client)

        def papermill_execute_cells(self):
            self.wait_for_reply(self.kc.execute(KERNEL_SETUP, silent=True, store_history=False))
            super().papermill_execute_cells()
            if self.nb.metadata.get("papermill", {}).get("exception"):
                return  # a cell failed: nothing to drill
            widgets = [(i, c) for i, c in enumerate(self.nb.cells) if is_widget_cell(c)]
            for repeat in range(self.repeat_widget_cells if widgets else 0):
                t0 = time.monotonic()
                for index, cell in widgets:
                    self.execute_cell(cell, index)
                print(f"    [execute] widget cells {[i + 1 for i, _ in widgets]}, run {repeat + 2} "
                      f"of {self.repeat_widget_cells + 1}: {time.monotonic() - t0:.1f} s",
                      file=sys.stderr, flush=True)

        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            self.watch.start(cell_index, cell.source)
            try:
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            except CellTimeoutError:
                budget = cell_timeout(cell, self.timeout)
                self._dump_kernel_stacks()
                raise CellHung(self.watch.describe(f"ran past its budget of {budget} s")) from None
            except CellHung:
                self._dump_kernel_stacks()
                raise

        execute_cell = run_sync(async_execute_cell)

        def process_message(self, msg, cell, cell_index):
            self.watch.seen(msg)
            return super().process_message(msg, cell, cell_index)

        def _dump_kernel_stacks(self):
            """Ask the kernel (SIGUSR1, see KERNEL_SETUP) to write its threads' stacks to stderr."""
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            pid = getattr(process, "pid", None)
            if pid is None or not hasattr(signal, "SIGUSR1"):
                return
            print(f"    [execute] the kernel's Python stacks (pid {pid}):", file=sys.stderr, flush=True)
            try:
                os.kill(pid, signal.SIGUSR1)
                time.sleep(1.0)
            except OSError:
                pass

    return WatchedClient


def _engine_class():
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class WatchedEngine(NBClientEngine):
        """papermill's nbclient engine with ``WatchedClient``."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None,
                                     **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            options = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                   kernel_name=kernel_name, log=_logger(), log_output=log_output,
                                   stdout_file=stdout_file, stderr_file=stderr_file)
            return _client_class()(nb_man, **options).execute()

    return WatchedEngine


def _logger():
    import logging

    return logging.getLogger("papermill")


def register():
    """Make ``engine_name=ENGINE`` known to papermill (again: harmless)."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE, _engine_class())


def execute_notebook(source, output, parameters=None, kernel_name="python3", cwd=None,
                     cell_timeout=None, start_timeout=60, **kwargs):
    """papermill.execute_notebook through ``WatchedClient``; raises ``CellHung`` on a hang.

    Args:
        source, output: the notebook to run and where its executed copy goes.
        parameters: papermill parameters.
        kernel_name: the Jupyter kernel.
        cwd: the folder the kernel starts in.
        cell_timeout: seconds a cell may run unless its metadata says otherwise
            (``CELL_METADATA``); None: no limit.
        start_timeout: seconds for the kernel to start.
        **kwargs: passed on to papermill (``log_output``, ``progress_bar``, ``allow_errors``...)
            and ``repeat_widget_cells`` to the client.
    """
    import papermill

    register()
    return papermill.execute_notebook(
        str(source), str(output), parameters=parameters or {}, kernel_name=kernel_name,
        cwd=None if cwd is None else str(cwd), engine_name=ENGINE,
        start_timeout=start_timeout, execution_timeout=cell_timeout, **kwargs)
