"""``/docs`` works without internet: the page names no other host and every asset it loads
is served by the service itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

ORIGIN = "http://test"


class _Refs(HTMLParser):
    """Every URL the page would fetch: src/href attributes and url strings in its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += re.findall(r"""(?:url|Url|URL)\s*:\s*['"]([^'"]+)['"]""", data)
            self.urls += re.findall(r"https?://[^\s'\"]+", data)


async def test_docs_page_loads_only_from_the_service(anon: httpx.AsyncClient) -> None:
    page = await anon.get("/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    parser = _Refs()
    parser.feed(page.text)
    assert len(parser.urls) >= 4  # script, stylesheet, favicon, the OpenAPI document
    for url in parser.urls:
        assert url.startswith("/"), f"/docs loads {url} from elsewhere"
        answer = await anon.get(url)
        assert answer.status_code == 200, url
        assert answer.content, url
    assert "/docs/assets/swagger-ui-bundle.js" in parser.urls
    assert "/openapi.json" in parser.urls
    # what FastAPI's default page names, and what broke /docs offline
    assert "cdn.jsdelivr.net" not in page.text
    assert "tiangolo" not in page.text


async def test_the_bundle_is_swagger_ui_and_the_oauth_redirect_is_local(
    anon: httpx.AsyncClient,
) -> None:
    bundle = await anon.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "SwaggerUIBundle" in bundle.text
    assert "javascript" in bundle.headers["content-type"]
    redirect = await anon.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert not re.search(r"https?://", redirect.text)
    assert "/docs" not in (await anon.get("/openapi.json")).json()["paths"]
