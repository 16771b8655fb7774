"""The call log of the stand-in: in memory (``CALLS``) and, optionally, a file."""
import json
import os
import time

CALLS = []  # dicts: {"call": "output.eval_js", "args": [...], "kwargs": {...}, "time": ...}
LOG_ENV = "COLAB_STANDIN_LOG"
MAX_REPR = 200  # characters of each argument written to the log


def _short(value):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + f"... ({len(text)} chars)"


def record(call, *args, **kwargs):
    """Remember one call; append it to $COLAB_STANDIN_LOG as a JSON line."""
    entry = {"call": call, "args": [_short(a) for a in args],
             "kwargs": {k: _short(v) for k, v in kwargs.items()},
             "time": round(time.time(), 3), "pid": os.getpid()}
    CALLS.append(entry)
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
    return entry


def unsupported(module, name):
    """AttributeError for a part of the real API that the stand-in does not offer."""
    return AttributeError(
        f"module 'google.colab.{module}' (landmarklib's Colab stand-in, tools/colab/) has no "
        f"attribute {name!r}; the real Colab module may have it: add it to the stand-in "
        f"if a notebook needs it")
