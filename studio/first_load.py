"""The first page load: preload hints for the first view's component code, and its static files served
from memory.

Why: a cold Gradio page loads in a chain — the HTML, then the frontend's core, then `Blocks`, then one
chunk per component kind (each with its own imports), then lazily the code editor's YAML mode. On a
2-core machine that chain, not the database, is most of the first page load. The HTML already carries
the page's config, so we know every component kind up front and can name their chunks in
`<link rel="modulepreload">` tags in the HTML (`PreloadLinks`: Gradio's own `head=` is inserted by its
JavaScript, too late to help); the browser then fetches them in parallel with the core.

The chunk names come from Gradio's built frontend (`templates/frontend/assets`): the core module maps
each component kind to `import("./Index-<hash>.js")` plus `__vite__mapDeps([...])` indices into its
dependency table. Only hints are derived from it: when a Gradio release builds its frontend
differently, the parse finds nothing and the page loads exactly as before (tests check the parse on
the Gradio we pin).

The order of the hints is the order of the requests: the browser opens at most 6 connections to the
app (HTTP/1.1) and ~70 files queue on them. First the entry module and the app shell it imports
(`Index-<hash>.js`: without it nothing starts), then the theme's stylesheet and `Blocks`, then the
components. Hinting components first had put the app shell behind ~60 other files.

Gradio serves each file through its router and Brotli-compresses it again on every request; ~60 files
per cold load made the server the bottleneck once the browser asked for them all at once. `AssetCache`
answers `/assets/<file>` from memory, compressed once, marked immutable (the names carry a content hash).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

_DEPS_TABLE = re.compile(r"m\.f=\[(.*?)\]")
# `import("./Index-x.js")`, in some builds followed by `.then(e=>e.t)` (a re-exported default)
_IMPORT = r"import\(`\./([^`]+)`\)(?:\.then\(\w+=>\w+\.\w+\))?"
_MAP_DEPS = r"__vite__mapDeps\(\[([0-9,]*)\]\)"
_COMPONENT = re.compile(
    r"(\w+):\{(?:example:[^{}]*?,)?component:\(\)=>\w+\(\(\)=>" + _IMPORT + "," + _MAP_DEPS
)
_BLOCKS = re.compile(r"import\(`\./(Blocks-[^`]+\.js)`\);return\{default:\w+\}\}," + _MAP_DEPS)
_ENTRY_SCRIPT = re.compile(r'<script type="module"[^>]*\ssrc="\./assets/([^"]+\.js)"')
_LAZY_IMPORT = re.compile(_IMPORT + "," + _MAP_DEPS)
IMMUTABLE = b"public, max-age=31536000, immutable"  # the file names carry a hash of their content
_YAML_MODE = re.compile(r"yaml:\(\)=>\w+\(\(\)=>" + _IMPORT)


class PreloadLinks:
    """ASGI middleware: puts `head` into the page's HTML (GET /) right after its `<base>` tag, where
    relative links resolve like the page's own. A callable `head` is called once, at the first page
    request (after launch, when the page config is complete)."""

    def __init__(self, app: Any, head: str | Callable[[], str]) -> None:
        self.app, self._head = app, head
        self.head: bytes | None = None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        if self.head is None:
            self.head = (self._head() if callable(self._head) else self._head).encode()
        if not self.head:
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body: list[bytes] = []

        async def with_links(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers, content = _inserted(start.get("headers", []), b"".join(body), self.head)
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, with_links)


class AssetCache:
    """ASGI middleware: `/assets/<file>` of Gradio's built frontend from memory (Brotli once per file)."""

    def __init__(self, app: Any, folder: Path | None = None) -> None:
        self.app, self.folder = app, folder or assets_dir()
        self.names = {path.name for path in self.folder.iterdir() if path.is_file()}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        name = scope["path"].removeprefix("/assets/") if scope["type"] == "http" else ""
        if scope.get("method") not in ("GET", "HEAD") or name == scope.get("path") or name not in self.names:
            await self.app(scope, receive, send)  # anything else, including unknown names: Gradio's 404
            return
        brotli = any(k == b"accept-encoding" and b"br" in v for k, v in scope["headers"])
        body, encoding = _cached_file(self.folder / name, brotli)
        headers = [(b"content-type", _content_type(name)), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", IMMUTABLE), (b"content-encoding", encoding),
                   (b"vary", b"Accept-Encoding")]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


@cache
def _cached_file(path: Path, brotli: bool) -> tuple[bytes, bytes]:
    """(body, content-encoding): "identity" also keeps Gradio's Brotli middleware off it."""
    raw = path.read_bytes()
    if brotli and path.suffix in (".js", ".css", ".svg", ".json", ".html", ".map"):
        import brotli as br  # Gradio's own dependency

        return br.compress(raw, quality=5), b"br"
    return raw, b"identity"


def _content_type(name: str) -> bytes:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    kind = "text/javascript" if name.endswith((".js", ".mjs")) else kind
    return (kind + ("; charset=utf-8" if kind.startswith("text/") else "")).encode()


def _inserted(headers: list, content: bytes, head: bytes) -> tuple[list, bytes]:
    is_html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
    base = content.find(b"<base ")
    at = content.find(b">", base) + 1 if base >= 0 else content.find(b"</head>")
    if not is_html or at <= 0:
        return headers, content
    content = content[:at] + b"\n" + head + content[at:]
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*headers, (b"content-length", str(len(content)).encode())], content


def assets_dir() -> Path:
    import gradio

    return Path(gradio.__file__).parent / "templates" / "frontend" / "assets"


def preload_head(
    component_types: Iterable[str], yaml_editor: bool = False, folder: Path | None = None,
    theme_hash: str = "",
) -> str:  # fmt: skip
    """`<link>` tags, in the order the page needs them: the entry module and the app shell it imports,
    the theme's stylesheet (`theme_hash` from the page config), the Blocks chunk, then every listed
    component kind's chunk and their imports, kinds in the order given (outer layout first; the code
    editor's YAML mode last). Empty when the frontend does not look as expected."""
    folder = folder or assets_dir()
    files = _first_view_files(folder, tuple(dict.fromkeys(component_types)), yaml_editor)
    if not files:
        return ""
    shell = _app_shell(folder)
    rest = [name for name in files if name not in shell]
    theme = [f'<link rel="preload" as="style" href="theme.css?v={theme_hash}">'] if theme_hash else []
    return "\n".join([*map(_link, shell), *theme, *map(_link, rest)])


def _link(name: str) -> str:
    if name.endswith(".css"):
        return f'<link rel="preload" as="style" href="assets/{name}">'
    return f'<link rel="modulepreload" href="assets/{name}">'


@cache
def _app_shell(folder: Path) -> tuple[str, ...]:
    """The page's entry module and what it imports before anything shows (the app shell and core)."""
    page = folder.parent / "index.html"
    entry = _ENTRY_SCRIPT.search(page.read_text(encoding="utf-8")) if page.is_file() else None
    if entry is None or not (folder / entry.group(1)).is_file():
        return ()
    text = (folder / entry.group(1)).read_text(encoding="utf-8", errors="replace")
    table = _DEPS_TABLE.search(text)
    deps = _dep_names(table.group(1)) if table else []
    files = [entry.group(1)]
    for match in _LAZY_IMPORT.finditer(text):
        files += [match.group(1), *_indexed(deps, match.group(2))]
    return tuple(name for name in dict.fromkeys(files) if (folder / name).is_file())


@cache
def _first_view_files(folder: Path, component_types: tuple[str, ...], yaml_editor: bool) -> list[str]:
    chunks: dict[str, list[str]] = {}
    for path in folder.glob("*.js"):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "__vite__mapDeps" in text:
            chunks.update(_imports_in(text, component_types))
    files = [name for key in ("__blocks__", *component_types) for name in chunks.get(key, [])]
    if yaml_editor and "code" in chunks:
        mode = _YAML_MODE.search((folder / chunks["code"][0]).read_text(encoding="utf-8", errors="replace"))
        files += [mode.group(1)] if mode else []
    return [name for name in dict.fromkeys(files) if (folder / name).is_file()]


def _imports_in(text: str, component_types: tuple[str, ...]) -> dict[str, list[str]]:
    """{component kind or "__blocks__": [its chunk, then the chunks and styles it imports]}."""
    table = _DEPS_TABLE.search(text)
    if table is None:
        return {}
    deps = _dep_names(table.group(1))
    found: dict[str, list[str]] = {}
    for match in _COMPONENT.finditer(text):
        if match.group(1) in component_types:
            found[match.group(1)] = [match.group(2), *_indexed(deps, match.group(3))]
    blocks = _BLOCKS.search(text)
    if blocks:
        found["__blocks__"] = [blocks.group(1), *_indexed(deps, blocks.group(2))]
    return found


def _dep_names(table: str) -> list[str]:
    return [entry.strip().strip('"').removeprefix("./") for entry in table.split(",")]


def _indexed(deps: list[str], indices: str) -> list[str]:
    return [deps[int(i)] for i in indices.split(",") if i and int(i) < len(deps)]
