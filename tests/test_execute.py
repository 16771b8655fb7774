"""reporting.execute: a notebook run that a lost kernel message cannot hang.

The hang it guards against (05_demo's widget cell, issue 25) is a race; these
tests make each of its three outcomes happen on purpose:

* a poll that misses its wake-up (a fake channel): the reply is still read;
* a kernel that goes idle without sending its reply (a real kernel whose
  session drops one execute_reply): ``CellHung`` within ``REPLY_GRACE``,
  not at the cell timeout;
* a cell that outlives its metadata budget (a real kernel): ``CellHung``
  naming the cell, and the kernel's stacks on stderr.
"""
import asyncio
import time
from datetime import datetime, timezone
from queue import Empty

import nbformat
import pytest

from landmarklib.reporting import execute, runner

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Watch:
    index, idle = 0, None

    def idle_for(self):
        return 0.0 if self.idle is None else time.monotonic() - self.idle

    def describe(self, what):
        return f"cell 1 {what}"


def _missed_wakeup_channel(ready_after=0.3):
    """A channel whose message is there after `ready_after` s, but a poll started
    before that never sees it (its wake-up was lost): it only times out."""
    start = time.monotonic()
    msg = {"header": {"date": datetime.now(timezone.utc)}, "parent_header": {"msg_id": "x"},
           "msg_type": "execute_reply", "content": {}}
    calls = []

    async def get_msg(timeout=None):
        calls.append(timeout)
        if time.monotonic() - start >= ready_after:
            return msg
        await asyncio.sleep(timeout if timeout is not None else 3600)
        raise Empty

    return get_msg, calls


def test_a_missed_wakeup_is_recovered_by_the_next_poll():
    get_msg, calls = _missed_wakeup_channel()
    late = []
    stepped = execute.stepped(get_msg, _Watch(), late)
    msg = asyncio.run(asyncio.wait_for(stepped(timeout=600), 30))
    assert msg["msg_type"] == "execute_reply"
    assert len(calls) >= 2 and max(calls) <= execute.POLL_STEP  # polled in steps, not one 600-s poll


def test_the_timeout_still_raises_empty():
    async def never(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    with pytest.raises(Empty):
        asyncio.run(execute.stepped(never, _Watch(), [])(timeout=1.5))


def test_idle_without_reply_raises_cell_hung(monkeypatch):
    monkeypatch.setattr(execute, "REPLY_GRACE", 0.5)
    watch = _Watch()
    watch.idle = time.monotonic()

    async def never(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    with pytest.raises(execute.CellHung, match="never got its reply"):
        asyncio.run(execute.stepped(never, watch, [])(timeout=60))


def test_cell_budgets_from_metadata():
    plain = nbformat.v4.new_code_cell("x = 1")
    widget = nbformat.v4.new_code_cell("display(w)", metadata={"landmarklib": {"timeout": 120, "widget": True}})
    assert execute.cell_timeout(plain, 900) == 900 and execute.cell_timeout(widget, 900) == 120
    assert not execute.is_widget_cell(plain) and execute.is_widget_cell(widget)


def test_the_committed_widget_cells_have_budgets():
    """Every cell of 04/05 that displays a live widget is marked, with a budget in seconds."""
    for name, marker in (("04_evaluate", "inspector.show("), ("05_demo", "smoothing_widget(")):
        nb = nbformat.read(str(runner.NOTEBOOKS / f"{name}.ipynb"), as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
        assert cells, name
        for cell in cells:
            assert execute.is_widget_cell(cell), name
            assert 0 < execute.cell_timeout(cell, None) <= 300, name


def _notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = list(cells)
    path = tmp_path / "in.ipynb"
    nbformat.write(nb, str(path))
    return path


# A cell that makes the kernel drop its own next execute_reply: the kernel goes idle and
# the client never hears back, exactly the state the widget hang left nbclient in.
DROP_NEXT_REPLY = """
kernel = get_ipython().kernel
send = kernel.session.send
def dropping(stream, msg_or_type, *args, **kwargs):
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("msg_type")
    if kind == "execute_reply" and not getattr(dropping, "done", False):
        dropping.done = True
        return None
    return send(stream, msg_or_type, *args, **kwargs)
kernel.session.send = dropping
"""


@pytest.mark.slow
def test_a_kernel_that_never_replies_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(execute, "REPLY_GRACE", 5.0)
    path = _notebook(tmp_path, nbformat.v4.new_code_cell(DROP_NEXT_REPLY), nbformat.v4.new_code_cell("1 + 1"))
    started = time.monotonic()
    with pytest.raises(execute.CellHung, match=r"cell 1 \('kernel = get_ipython\(\).kernel'\) never got its reply"):
        execute.execute_notebook(path, tmp_path / "out.ipynb", cell_timeout=600, progress_bar=False)
    assert time.monotonic() - started < 300  # nbclient alone waits the whole 600 s


@pytest.mark.slow
def test_a_cell_past_its_budget_names_itself_and_dumps_the_kernel(tmp_path, capfd):
    slow = nbformat.v4.new_code_cell("# sleeps\nimport time\ntime.sleep(300)",
                                     metadata={"landmarklib": {"timeout": 3}})
    path = _notebook(tmp_path, nbformat.v4.new_code_cell("x = 1"), slow)
    with pytest.raises(execute.CellHung) as raised:
        execute.execute_notebook(path, tmp_path / "out.ipynb", cell_timeout=600, progress_bar=False)
    message = str(raised.value)
    assert "cell 2 ('import time') ran past its budget of 3 s" in message
    assert "the kernel last sent" in message
    err = capfd.readouterr().err
    assert "the kernel's Python stacks" in err and "time.sleep" not in message
    assert "most recent call first" in err  # faulthandler's dump of the kernel's threads


@pytest.mark.slow
def test_widget_cells_are_drilled(tmp_path, capfd):
    widget = nbformat.v4.new_code_cell("n = globals().get('n', 0) + 1\nprint(n)",
                                       metadata={"landmarklib": {"widget": True, "timeout": 30}})
    path = _notebook(tmp_path, nbformat.v4.new_code_cell("n = 0"), widget)
    execute.execute_notebook(path, tmp_path / "out.ipynb", cell_timeout=60, progress_bar=False,
                             repeat_widget_cells=3)
    out = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    assert out.cells[1].outputs[0]["text"].strip() == "4"  # 1 + 3 runs in the same kernel
    assert "run 4 of 4" in capfd.readouterr().err
