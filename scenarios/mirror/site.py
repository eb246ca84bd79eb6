"""What the fixture site (fixtures/mirror/site) gives a mirror: the one list of expected files.

Paths are relative to the folder wget ran in. `/about` and `/page.php?id=N` are saved with `.html`
(--html-extension) and `@` for `?` (--restrict-file-names=windows); `/docs/` as docs/index.html.
/admin/ is disallowed by robots.txt, /missing.html answers 404, cdn.example.net is another domain.
"""

ORIGIN_DIR = "example.org"

REQUISITES = frozenset(
    f"{ORIGIN_DIR}/{p}"
    for p in (
        "robots.txt",
        "css/site.css",
        "js/app.js",
        "img/logo.png",
        "img/bg.png",
        "img/bullet.png",
        "img/diagram.png",
    )
)
PAGES = frozenset(
    f"{ORIGIN_DIR}/{p}"
    for p in (
        "index.html",
        "about.html",
        "page.php@id=3.html",
        "page.php@id=4.html",
        "docs/index.html",
        "docs/guide/intro.html",
        "private/notes.html",
    )
)
LARGE = frozenset({f"{ORIGIN_DIR}/files/big.bin"})
WHOLE_SITE = PAGES | REQUISITES | LARGE

# The runbook's command started at example.org/docs/: the section's pages and their requisites (which
# --page-requisites fetches from above /docs/ despite --no-parent), nothing else.
SECTION = frozenset({f"{ORIGIN_DIR}/docs/index.html", f"{ORIGIN_DIR}/docs/guide/intro.html"}) | REQUISITES - {
    f"{ORIGIN_DIR}/js/app.js"
}

KNOWN_BROKEN = ("/missing.html",)  # the site's own dead link: wget exits 8 because of it, every time
