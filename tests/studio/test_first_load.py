"""The first page load's helpers (studio.first_load): preload hints parsed from Gradio's built frontend,
the HTML they go into, and static files served from memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from studio.first_load import AssetCache, PreloadLinks, assets_dir, preload_head

FIRST_VIEW = ["tabs", "tabitem", "column", "row", "textbox", "number", "radio", "code", "markdown", "button"]
PAGE = '<html><head><meta charset="utf-8" /><base href="./" /><title>t</title></head><body></body></html>'


def test_the_pinned_gradio_frontend_yields_a_hint_for_blocks_and_every_component_kind() -> None:
    links = preload_head(FIRST_VIEW, yaml_editor=True).splitlines()
    names = [line.split('href="assets/')[1].split('"')[0] for line in links]
    assert any(name.startswith("Blocks-") for name in names)
    assert any(name.startswith("yaml-") for name in names), "the code editor's YAML mode"
    assert all((assets_dir() / name).is_file() for name in names)
    assert len(names) == len(set(names))
    fewer = preload_head(["textbox"]).splitlines()
    assert 1 < len(fewer) < len(links), "a hint per kind on the page, not the whole frontend"


def test_every_kind_gets_its_own_chunk_whatever_form_its_import_has() -> None:
    # Some kinds are imported as `import("./Index-x.js").then(e=>e.t)`: those were missed once.
    shared = set(preload_head([]).splitlines())
    for kind in FIRST_VIEW + ["dropdown", "checkbox", "accordion", "group", "form", "uploadbutton"]:
        assert set(preload_head([kind]).splitlines()) - shared, kind


def test_the_app_shell_comes_first_then_the_theme_then_blocks() -> None:
    names = [line.split('href="')[1].split('"')[0] for line in
             preload_head(FIRST_VIEW, theme_hash="abc").splitlines()]  # fmt: skip
    entry = re.search(r'src="\./assets/([^"]+\.js)"', (assets_dir().parent / "index.html").read_text())
    assert entry and names[0] == f"assets/{entry.group(1)}", "the page's entry module"
    theme, blocks = names.index("theme.css?v=abc"), next(i for i, n in enumerate(names) if "/Blocks-" in n)
    shell = names[1:theme]
    assert {"core", "Index"} <= {n.removeprefix("assets/").split("-")[0] for n in shell}, "core, app shell"
    assert theme < blocks < len(names) - len(FIRST_VIEW), "components after the shell, theme and Blocks"


def test_a_frontend_that_looks_different_gives_no_hints(tmp_path: Path) -> None:
    (tmp_path / "core-x.js").write_text("const __vite__mapDeps=0; export const components = {};")
    assert preload_head(FIRST_VIEW, yaml_editor=True, folder=tmp_path) == ""


def _app(**routes: object) -> Starlette:
    async def page(request):  # noqa: ANN001, ANN202
        return HTMLResponse(PAGE)

    async def missing(request):  # noqa: ANN001, ANN202
        return PlainTextResponse("not found", status_code=404)

    return Starlette(
        routes=[Route("/", page), Route("/assets/{name:path}", missing)],
        middleware=[Middleware(PreloadLinks, head='<link rel="modulepreload" href="assets/a.js">'),
                    Middleware(AssetCache, **routes)],
    )  # fmt: skip


def test_the_hints_go_into_the_page_after_its_base_tag() -> None:
    response = TestClient(_app()).get("/")
    html = response.text
    assert html.index("<base") < html.index('href="assets/a.js"') < html.index("<title>")
    assert int(response.headers["content-length"]) == len(response.content)


def test_hints_given_as_a_function_are_made_once_at_the_first_page_request() -> None:
    calls: list[int] = []

    def head() -> str:
        calls.append(1)
        return '<link rel="modulepreload" href="assets/late.js">'

    app = Starlette(routes=[Route("/", lambda request: HTMLResponse(PAGE))],
                    middleware=[Middleware(PreloadLinks, head=head)])  # fmt: skip
    client = TestClient(app)
    assert not calls
    assert all('href="assets/late.js"' in client.get("/").text for _ in range(2))
    assert calls == [1]


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    (tmp_path / "Index-abc.js").write_text("export const x = 1;" * 100)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" + bytes(50))
    return tmp_path


def test_assets_come_from_memory_compressed_once_and_marked_immutable(assets: Path) -> None:
    client = TestClient(_app(folder=assets))
    raw = client.get("/assets/Index-abc.js", headers={"accept-encoding": "identity"})
    assert raw.status_code == 200 and raw.content == (assets / "Index-abc.js").read_bytes()
    assert raw.headers["content-type"].startswith("text/javascript")
    assert "immutable" in raw.headers["cache-control"]
    packed = client.get("/assets/Index-abc.js", headers={"accept-encoding": "gzip, br"})
    assert packed.headers["content-encoding"] == "br"
    assert packed.content == raw.content  # the client decoded it
    assert client.get("/assets/logo.png").headers["content-type"] == "image/png"


def test_unknown_or_escaping_asset_names_fall_through_to_the_app(assets: Path) -> None:
    client = TestClient(_app(folder=assets))
    for path in ("/assets/nope.js", "/assets/../secret.txt", "/assets/sub/Index-abc.js"):
        assert client.get(path).status_code == 404, path
