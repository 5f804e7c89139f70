"""The Simple API page scanner, on the shapes of anchors real indexes write."""

from __future__ import annotations

from wheelhouse.simple import html_links

PAGE = """<!DOCTYPE html>
<html><head><title>Links for demo</title></head><body>
<a href="https://files.example/p/demo-1.0.tar.gz#sha256=AB12"
   data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a><br/>
<a href='../../packages/demo-2.0-py3-none-any.whl#sha256=cd34'
   data-yanked="">demo-2.0-py3-none-any.whl</a>
<A HREF="/files/demo-3.0-py3-none-any.whl#md5=ffff" data-yanked="broken &amp; bad"
   data-dist-info-metadata="sha256=ee">demo-3.0-py3-none-any.whl</A>
<a>no href</a>
</body></html>"""


def test_anchors_attributes_and_relative_urls():
    links = list(html_links(PAGE, "https://index.example/simple/demo/"))
    assert [link.filename for link in links] == [
        "demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl", "demo-3.0-py3-none-any.whl"]
    first, second, third = links
    assert first.url == "https://files.example/p/demo-1.0.tar.gz"
    assert first.sha256 == "ab12" and first.requires_python == ">=3.8"
    assert first.yanked is False and first.yanked_reason is None
    assert second.url == "https://index.example/packages/demo-2.0-py3-none-any.whl"
    assert second.sha256 == "cd34" and second.yanked is True and second.yanked_reason is None
    assert third.url == "https://index.example/files/demo-3.0-py3-none-any.whl"
    assert third.sha256 is None  # only an md5: nothing we can check against
    assert third.yanked is True and third.yanked_reason == "broken & bad"


def test_base_href_is_honoured():
    page = '<base href="https://mirror.example/root/"><a href="x/demo-1.0.zip">x</a>'
    (link,) = html_links(page, "https://index.example/simple/demo/")
    assert link.url == "https://mirror.example/root/x/demo-1.0.zip"


def test_keep_sees_every_filename_and_drops_the_rejected():
    seen: list[str] = []

    def keep(filename: str) -> bool:
        seen.append(filename)
        return filename.startswith("demo-2.0")

    links = list(html_links(PAGE, "https://index.example/simple/demo/", keep))
    assert seen == ["demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl", "demo-3.0-py3-none-any.whl"]
    assert [(link.filename, link.sha256, link.yanked) for link in links] == [
        ("demo-2.0-py3-none-any.whl", "cd34", True)]


def test_an_attribute_ending_in_href_is_not_the_href():
    page = '<a data-href="elsewhere/x-9.zip" href="demo-1.0.zip#sha256=aa">demo</a>'
    (link,) = html_links(page, "https://index.example/simple/demo/")
    assert link.filename == "demo-1.0.zip" and link.sha256 == "aa"


def test_a_pep_691_json_page_from_a_real_server(web):
    """The JSON path (what PyPI answers first): digests, sizes, yanked, Requires-Python, and
    relative URLs resolved against the page, through the same Index the resolver uses."""
    import json

    from wheelhouse import net
    from wheelhouse.index import Index

    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "versions": ["1.0", "2.0"],
        "files": [
            {"filename": "demo-1.0.tar.gz", "url": "../../files/demo-1.0.tar.gz",
             "hashes": {"sha256": "ab" * 32}, "requires-python": ">=3.8", "size": 10,
             "upload-time": "2024-01-01T00:00:00Z"},
            {"filename": "demo-2.0-py3-none-any.whl",
             "url": "https://files.example/demo-2.0-py3-none-any.whl",
             "hashes": {"sha256": "cd" * 32}, "yanked": "broken", "size": 20},
            {"filename": "other-1.0-py3-none-any.whl", "url": "x", "hashes": {}},
        ],
    }
    web.file("/simple/demo/", json.dumps(page).encode(),
             {"Content-Type": "application/vnd.pypi.simple.v1+json"})
    index = Index(net.make_session(), [f"{web.url}/simple"], [])
    try:
        files = {f.filename: f for f in index.project_files("demo")}
    finally:
        index.close()
    assert set(files) == {"demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl"}  # not other's
    sdist, wheel = files["demo-1.0.tar.gz"], files["demo-2.0-py3-none-any.whl"]
    assert sdist.url == f"{web.url}/files/demo-1.0.tar.gz"
    assert (sdist.sha256, sdist.size, sdist.kind) == ("ab" * 32, 10, "sdist")
    assert str(sdist.requires_python) == ">=3.8" and not sdist.yanked
    assert (sdist.upload_time, wheel.upload_time) == ("2024-01-01T00:00:00Z", None)  # PEP 700
    assert (wheel.sha256, wheel.size, wheel.kind) == ("cd" * 32, 20, "wheel")
    assert wheel.yanked and wheel.yanked_reason == "broken"
    assert any(hit.startswith("/simple/demo/") for hit in web.hits)


def test_a_pep_691_page_checks_each_field_and_passes_over_broken_entries():
    """Every field is untrusted: a value of the wrong type is dropped, an entry without a
    filename or URL is passed over, and the older PEP 714 key is still read."""
    import json

    from wheelhouse.simple import json_links

    page = {"meta": {"api-version": "1.3"}, "name": "demo", "files": [
        "not an entry",
        {"filename": "demo-0.1.tar.gz"},
        {"filename": 7, "url": "x"},
        {"filename": "demo-1.0-py3-none-any.whl", "url": "demo-1.0-py3-none-any.whl",
         "hashes": {"sha256": "not hex"}, "size": True, "requires-python": 3,
         "yanked": "", "core-metadata": {"sha256": "EF" * 32}, "upload-time": "yesterday"},
        {"filename": "demo-2.0-py3-none-any.whl", "url": "https://f.example/demo-2.0.whl",
         "hashes": ["sha256"], "size": -1, "yanked": 1,
         "dist-info-metadata": {"sha256": "ab" * 32}},
    ]}
    one, two = json_links(json.dumps(page).encode(), "https://index.example/simple/demo/", "demo")
    assert one.url == "https://index.example/simple/demo/demo-1.0-py3-none-any.whl"
    assert (one.sha256, one.size, one.requires_python) == (None, None, None)
    assert one.yanked and one.yanked_reason is None  # "" as data-yanked="" is
    assert one.metadata_sha256 == "ef" * 32 and one.upload_time is None
    assert (two.sha256, two.size, two.yanked) == (None, None, False)
    assert two.metadata_sha256 == "ab" * 32


def test_a_page_that_is_not_pep_691_fails_the_run_with_one_sentence(web, run_cli, tmp_path):
    """A broken JSON page, or one in a Simple API major version this reader does not know,
    is the index's failure (exit 3), said in one sentence naming the page."""
    import json

    json_type = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
    web.file("/simple/broken/", b'{"files": "none"', json_type)
    web.file("/simple/future/", json.dumps(
        {"meta": {"api-version": "2.0"}, "name": "future", "files": []}).encode(), json_type)
    for project, said in (("broken", "is not valid JSON"),
                          ("future", "speaks Simple API version 2.0")):
        dest = tmp_path / project
        done = run_cli("prepare", project, "--index-url", f"{web.url}/simple",
                       "--python", "3.11", "--platform", "manylinux_2_28_x86_64",
                       "--dest", str(dest))
        assert done.returncode == 3, done.stderr
        assert said in done.stderr and f"the index page of {project}" in done.stderr
        assert "Traceback" not in done.stderr and not (dest / "wheelhouse.json").exists()
