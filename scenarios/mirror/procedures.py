"""The mirror lab's procedures and steps, as an engineer types them on the client.

The client's working folder is /srv/mirror/runbook, so the runbook's command runs as written and leaves
the mirror in /srv/mirror/runbook/example.org. Variants of the command (for the scenarios that compare)
each write into their own folder under /srv/mirror; only the options named in their title differ.
"""

from dataclasses import replace

from lab.procedure import Procedure, Step

OPTIONS = (
    "--recursive --no-clobber --page-requisites --html-extension --convert-links"
    " --restrict-file-names=windows --domains {origin} --no-parent --wait={wait_s} --limit-rate={limit_rate}"
)
RUNBOOK = f"wget {OPTIONS} {{origin}}/"


def into(folder: str, command: str) -> str:
    return f"mkdir -p {{mirrors}}/{folder} && cd {{mirrors}}/{folder} && {command}"


def wget_step(title: str, command: str) -> Step:
    # wget's exit status is judged by a check (ServerErrorsExplained), not by the step: 8 is expected here.
    return Step("client", command, title, expect_rc=None, timeout=300)


MIRROR_SITE = replace(
    wget_step("mirror the site for offline use (the runbook)", RUNBOOK),
    verify="test -s {mirrors}/runbook/{origin}/index.html",  # what rehearse checks after it was run by hand
)
MIRROR_AGAIN = wget_step("run the runbook's command again in the same folder", RUNBOOK)
MIRROR_AGAIN_WITHOUT_CONVERT = wget_step(
    "run it again without --convert-links (so that --no-clobber is honoured)",
    RUNBOOK.replace(" --convert-links", ""),
)
MIRROR_FRESH = wget_step("mirror the site again into a fresh folder", into("fresh", RUNBOOK))
MIRROR_SECTION = wget_step(
    "mirror only the documentation: the runbook's command from example.org/docs/",
    into("section", f"wget {OPTIONS} {{origin}}/docs/"),
)
MIRROR_TWO_DOMAINS = wget_step(
    "the runbook's command with --domains {origin},{external} (no --span-hosts)",
    into("domains", RUNBOOK.replace("--domains {origin}", "--domains {origin},{external}")),
)
MIRROR_SPAN_HOSTS = wget_step(
    "the same with --span-hosts",
    into("span", RUNBOOK.replace("--domains {origin}", "--span-hosts --domains {origin},{external}")),
)
MIRROR_CARELESS = wget_step(
    "a careless mirror: no --convert-links, no --wait, no --limit-rate, default file names",
    into("careless", "wget --recursive --page-requisites --html-extension --no-parent {origin}/"),
)
CHANGE_SITE = Step(
    "origin",
    "rm /srv/www/private/notes.html && sed -i '/notes.html/d' /srv/www/docs/index.html"
    " && cp /fixtures/changes/news.html /srv/www/news.html"
    " && sed -i 's|</ul>|  <li><a href=\"/news.html\">News</a></li>\\n</ul>|' /srv/www/index.html",
    "change the site: remove the internal notes, add a news page linked from the home page",
)

PROCEDURES = {
    p.name: p for p in (Procedure("mirror_site", "mirror example.org with wget for offline browsing", (MIRROR_SITE,)),)
}
