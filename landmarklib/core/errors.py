"""The project's error class for bad input, as opposed to bugs.

``LandmarkError`` (a ``ValueError``) marks a problem with what the user gave:
a malformed CSV row, an unknown version, a missing model folder, a setting of
the wrong type. Its message is one line that names the file, line, column or
option, what was expected and what was received. The command line prints
exactly that line for it (and for missing files or refused permissions); any
other exception is a bug in the library and keeps its traceback.
"""

# Longest piece of user input quoted in an error message (a whole CSV row or
# image cell would drown the message).
MAX_QUOTED = 60


class LandmarkError(ValueError):
    """Bad input from the user; the message says where and what was expected."""


def quote(value, limit=MAX_QUOTED):
    """``repr(value)``, shortened to `limit` characters with its length noted.

    Args:
        value: the offending input (any object; strings are the usual case).
        limit: the longest repr kept whole.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 3]}... ({len(str(value))} characters)"


class ManyErrors(LandmarkError):
    """Several inputs of one command were bad (e.g. two unreadable images of a
    ``predict-image`` run): one line each, in ``messages``.

    Args:
        messages: one line per bad input, each naming it.
    """

    def __init__(self, messages):
        self.messages = [str(m).splitlines()[0] if str(m) else "bad input" for m in messages]
        super().__init__("; ".join(self.messages))
