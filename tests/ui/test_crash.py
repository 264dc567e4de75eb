"""A crash of the console is one sentence and a non-zero exit, never a traceback of locals."""

from __future__ import annotations

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
