"""A crash of the console is one sentence and a non-zero exit, never a traceback of locals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.ui.harness import loaded, make_app


async def test_a_crash_says_one_sentence_and_shows_no_locals(
    db_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = make_app(db_url, tmp_path)

    def boom() -> None:
        password = "hunter2-in-a-local"  # noqa: F841 - Textual's traceback would print it
        raise RuntimeError("boom")

    async def crash() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app)
            app.call_later(boom)
            await pilot.pause()

    with pytest.raises(RuntimeError):  # run_test hands the crash back to the test
        await crash()
    text = capfd.readouterr().err
    assert "the console stopped on an unexpected error (RuntimeError: boom)" in text
    assert "--debug" in text
    assert "hunter2-in-a-local" not in text and "Traceback" not in text
    assert app.return_code == 1


async def test_an_unexpected_error_in_a_worker_is_said_once_and_the_console_goes_on(
    db_url: str, tmp_path: Path
) -> None:
    # A run's start, a check or a question fails in a worker the console outlives:
    # Textual dropped the error unsaid, and the key the operator pressed did nothing.
    from tests.ui.harness import until

    app = make_app(db_url, tmp_path, start_refresh=False)
    secret = "s3cret-pw"  # as if the connection's password: it never shows
    settings = app._crash_settings
    app._crash_settings = replace(settings, secrets=(*settings.secrets, secret))

    async def fails() -> None:
        raise ValueError(f"a bug, near {secret}")

    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        for _ in range(2):
            worker = app.run_worker(fails(), group="test", exit_on_error=False)
            await until(lambda w=worker: w.is_finished)  # type: ignore[misc]
        await until(lambda: any("Unexpected error" in n.message for n in app._notifications))
        said = [n.message for n in app._notifications if "Unexpected error" in n.message]
        assert said == [
            "Unexpected error (ValueError: a bug, near ***): nothing more was done. Run the "
            "console with --debug to see the traceback, and report it."
        ]
        await pilot.press("2")  # the console goes on
        assert app.active == "checklist"
        await pilot.press("q")
    assert app.return_value == 0
