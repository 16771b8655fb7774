"""Native code's lines on stderr, filtered: TensorFlow's start-up notices, TFLite's INFO line.

TensorFlow, TFLite and FFmpeg write from C++ to file descriptor 2, not to
``sys.stderr``, so Python's own redirection does not see them.
``without_stderr_lines`` captures the descriptor for a block and passes on
every line but the ones it was told to drop. The command line uses it unless
``--verbose`` (``cli.quiet_tensorflow``, ``inference.export``).
"""
import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def without_stderr_lines(pattern):
    """Run the block with file descriptor 2 captured; pass on the lines not matching
    `pattern` (native code writes to the descriptor, not to ``sys.stderr``).

    Args:
        pattern: a compiled regular expression of the lines to drop.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not pattern.match(line):
                    sys.stderr.write(line)
