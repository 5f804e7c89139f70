"""Constraints: parsing every line, Airflow's URLs, and the airflow: source end to end."""

from __future__ import annotations

import json

import pytest
from conftest import AIRFLOW_2_10_3, SHARED

from wheelhouse.airflow import constraints_url
from wheelhouse.constraints import generated_constraints, parse_constraints
from wheelhouse.errors import InputError
from wheelhouse.target import make_target


def test_real_airflow_constraints_parse_completely():
    paths = sorted(AIRFLOW_2_10_3.glob("*.txt")) + sorted(SHARED.glob("constraints/*/*.txt"))
    assert len(paths) >= 2
    for path in paths:
        pins = parse_constraints(path.read_bytes(), str(path))
        lines = [line for line in path.read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        assert len(pins) == len(lines), path
        assert all(pin.name != "apache-airflow" for pin in pins)


def test_markers_in_constraints_are_evaluated_for_the_target():
    content = b'tomli==2.0.1; python_version < "3.11"\nidna==3.10\n'
    from wheelhouse.constraints import Constraints

    constraints = Constraints("c.txt", content, pins=parse_constraints(content, "c.txt"))
    assert set(constraints.pins_for(make_target("3.10", "manylinux_2_28_x86_64"))) == {
        "tomli", "idna"}
    assert set(constraints.pins_for(make_target("3.12", "manylinux_2_28_x86_64"))) == {"idna"}


@pytest.mark.parametrize("line", ["foo>=1", "foo", "foo==1.*", "foo[bar]==1", "-e .",
                                  "foo @ https://x/foo.whl", "not a pin"])
def test_lines_that_are_not_pins_name_the_file_and_line(line):
    with pytest.raises(InputError, match=r"c\.txt, line 3"):
        parse_constraints(f"# head\nok==1.0\n{line}\n".encode(), "c.txt")


def test_conflicting_pins_for_one_target():
    from wheelhouse.constraints import Constraints

    content = b"idna==3.10\nidna==3.9\n"
    constraints = Constraints("c.txt", content, pins=parse_constraints(content, "c.txt"))
    with pytest.raises(InputError, match="lines 1 and 2"):
        constraints.pins_for(make_target("3.11", "manylinux_2_28_x86_64"))


def test_airflow_urls():
    base = "https://raw.githubusercontent.com/apache/airflow"
    assert constraints_url("airflow:2.10.3", "3.11") == (
        f"{base}/constraints-2.10.3/constraints-3.11.txt")
    assert constraints_url("airflow:2.10.3:no-providers", "3.12") == (
        f"{base}/constraints-2.10.3/constraints-no-providers-3.12.txt")
    assert constraints_url("airflow:main:constraints-source-providers", "3.12") == (
        f"{base}/constraints-main/constraints-source-providers-3.12.txt")
    assert constraints_url("airflow:2-10", "3.11") == (
        f"{base}/constraints-2-10/constraints-3.11.txt")
    for bad in ("airflow:", "airflow:2.10.3:weird", "airflow:banana", "airflow:1:2:3"):
        with pytest.raises(InputError):
            constraints_url(bad, "3.11")


def test_airflow_source_fetches_the_targets_python(pypiserver, web, run_cli, tmp_path,
                                                   monkeypatch):
    real = AIRFLOW_2_10_3 / "constraints-3.12.txt"
    web.file("/constraints-2.10.3/constraints-no-providers-3.12.txt", real.read_bytes())
    monkeypatch.setenv("WHEELHOUSE_AIRFLOW_CONSTRAINTS_BASE", web.url)
    dest = tmp_path / "wh"
    result = run_cli("prepare", "alpha==2.0", "--constraints", "airflow:2.10.3:no-providers",
                     "--python", "3.12", "--index-url", pypiserver.url, "--dest", str(dest))
    assert result.returncode == 0, result.stderr
    assert (dest / "constraints-3.12.txt").read_bytes() == real.read_bytes()
    document = json.loads((dest / "wheelhouse.json").read_text())
    assert document["constraints"]["url"] == (
        f"{web.url}/constraints-2.10.3/constraints-no-providers-3.12.txt")
    assert document["constraints"]["source"] == "airflow:2.10.3:no-providers"


def test_a_marker_packaging_cannot_compare_names_the_file_and_line(pypiserver, tmp_path,
                                                                    capsys):
    from wheelhouse.cli import main
    from wheelhouse.constraints import Constraints

    content = b'idna==3.10\nfoo==1.0; python_version ~= "3"\n'
    constraints = Constraints("c.txt", content, pins=parse_constraints(content, "c.txt"))
    with pytest.raises(InputError, match=r'^c\.txt, line 2: the marker python_version ~= "3" '
                                         r"cannot be evaluated for cp311-"):
        constraints.pins_for(make_target("3.11", "manylinux_2_28_x86_64"))
    # end to end: exit 2 and that sentence, not exit 70 (an internal error)
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    code = main(["prepare", "alpha==1.0", "--constraints", str(path), "--python", "3.11",
                 "--index-url", pypiserver.url, "--dest", str(tmp_path / "wh")])
    assert code == 2
    err = capsys.readouterr().err
    assert "c.txt, line 2: the marker" in err and "internal error" not in err


def test_generated_constraints_pin_what_targets_share_and_mark_what_they_do_not():
    amd, arm, win = (make_target("3.11", p) for p in ("linux/amd64", "linux/arm64", "win_amd64"))
    made = generated_constraints("3.11", [
        (amd, {"same": "1.0", "apart": "2.0", "linuxonly": "3.0"}),
        (arm, {"same": "1.0", "apart": "2.1", "linuxonly": "3.0"}),
        (win, {"same": "1.0", "apart": "2.0", "pywin32": "306"}),
    ], "wheelhouse prepare app")
    assert made.generated and made.record("constraints-3.11.txt").generated
    lines = [line for line in made.content.decode().splitlines() if not line.startswith("#")]
    assert lines == [
        'apart==2.0; sys_platform == "linux" and platform_machine == "x86_64"',
        'apart==2.0; sys_platform == "win32" and platform_machine == "AMD64"',
        'apart==2.1; sys_platform == "linux" and platform_machine == "aarch64"',
        "linuxonly==3.0",
        "pywin32==306",
        "same==1.0",
    ]
    assert {t.name: {n: p.version for n, p in made.pins_for(t).items()}["apart"]
            for t in (amd, arm, win)} == {amd.name: "2.0", arm.name: "2.1", win.name: "2.0"}
    # Two targets whose markers cannot tell them apart: that project is left unpinned.
    musl = make_target("3.11", "musllinux_1_2_x86_64")
    made = generated_constraints("3.11", [(amd, {"apart": "2.0"}), (musl, {"apart": "2.1"})], "x")
    assert not made.pins
