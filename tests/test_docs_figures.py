"""docs/make_figures.py: every docs figure comes from a run, and one command rewrites them all."""

import importlib.util
import sys

import numpy as np
from PIL import Image

from tests.conftest import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("make_figures", PROJECT_ROOT / "docs" / "make_figures.py")
make_figures = importlib.util.module_from_spec(spec)
sys.modules["make_figures"] = make_figures  # dataclasses look their module up
spec.loader.exec_module(make_figures)


def test_every_image_the_docs_show_is_made_by_a_listed_run():
    assert make_figures.main(["--check"]) == 0
    assert {f.name for f in make_figures.FIGURES} <= make_figures.images_shown_in_docs(PROJECT_ROOT / "docs")


def test_an_image_no_run_makes_fails_the_check(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("![hand made](images/pasted.png)\n")
    assert make_figures.main(["--check", "--project", str(tmp_path)]) == 1


def test_missing_artefacts_are_made_by_their_runs_then_copied(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (20, 30, 4), np.uint8)
    ran = []

    def runner(command, cwd, check):  # stands in for `kedro run`: writes what that run would write
        ran.append(command[1:])
        for figure in make_figures.FIGURES:
            if tuple(command[1:]) == figure.command[1:]:
                (cwd / figure.source).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(cwd / figure.source)

    make_figures.regenerate(tmp_path, runner=runner)
    # once each
    assert sorted(map(tuple, ran)) == [("run", "--pipelines=compare"), ("run", "--pipelines=data")]
    for figure in make_figures.FIGURES:
        with Image.open(tmp_path / "docs" / "images" / figure.name) as image:
            assert image.size == (30, 20)
            assert image.format == ("JPEG" if figure.name.endswith(".jpg") else "PNG")
    assert "kedro run --pipelines=compare" in (tmp_path / "docs" / "images" / "SOURCES.md").read_text()
    ran.clear()
    make_figures.regenerate(tmp_path, runner=runner)  # artefacts present: nothing is re-run
    assert ran == []
