"""Run the CLI in the test's own process, as `main` answers a user: (code, stdout, stderr)."""

from __future__ import annotations

import contextlib
import io

from wheelhouse.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return code, out.getvalue(), err.getvalue()
