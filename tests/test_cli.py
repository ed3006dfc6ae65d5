"""The command-line interface, run in-process and as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceattr.cli.main import main

COMMANDS = ["data", "train", "evaluate", "predict", "export", "benchmark", "experiment",
            "serve", "demo"]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in text


def test_console_script_installed() -> None:
    script = Path(sys.executable).parent / "faceattr"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                            check=True)
    assert result.stdout.startswith("faceattr ")


def test_data_info_celeba(celeba_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "--root", str(celeba_root)]) == 0
    text = capsys.readouterr().out
    assert "images found: 14,800" in text
    assert "partitions:   train 8,000, val 4,535, test 2,265" in text
    assert "skipped:      187,799 partition rows without an image" in text
    assert main(["data", "info", "--root", str(celeba_root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["images"] == 14_800 and len(info["attribute_positive_rate"]) == 40
    assert info["partitions"] == {"train": 8_000, "val": 4_535, "test": 2_265}


def test_data_info_mtfl(mtfl_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "--root", str(mtfl_root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["splits"]["train"]["rows"] == 4_151 == info["splits"]["train"]["images"]
    assert info["splits"]["test"]["rows"] == 2_995 == info["splits"]["test"]["images"]


def test_data_info_bad_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "--root", str(tmp_path / "missing")]) == 2
    assert "dataset root not found" in capsys.readouterr().err
    assert main(["data", "info", "--root", str(tmp_path)]) == 2
    assert "neither a CelebA root" in capsys.readouterr().err


def test_demo_runs_on_real_data(celeba_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--data", str(celeba_root.parent)]) == 0
    text = capsys.readouterr().out
    assert "images found: 14,800" in text and "2,995 rows" in text
