"""`pulse superset warm`: every dashboard rendered once in headless Chromium, so that each chart's first view by a user
is answered from Superset's data cache (superset_config.py, data_cache.py) instead of queried.

Rendering in a browser sends exactly the requests a user's first view sends (the dashboards' default filters, every
chart of every tab), which a replay of the charts' stored parameters would not. Run after every write to the warehouse
the local Superset reads while it runs (`pulse seed`, `import`, `load-trino`, `build`), and by `pulse demo` after its
sync.
"""

from __future__ import annotations

import sys
import time

from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.superset import screenshots, server
from pulse_analytics.superset import sync as superset_sync


def warm(base_url: str | None = None) -> int:
    """Render every dashboard of git once as the admin; return how many. Raises PulseError if a dashboard fails."""
    try:
        from pulse_analytics.superset import browser
    except ImportError as error:
        raise PulseError("warming the dashboards needs Playwright: `.venv/bin/pip install -e '.[test]'`.") from error
    base_url = base_url or server.url()
    slugs = screenshots.dashboards()
    with browser.logged_in_page(base_url, server.admin_login()) as page:
        for number, (slug, _charts) in enumerate(slugs, start=1):
            started = time.monotonic()
            tabs = browser.open_every_tab(page, base_url, slug)
            shown = "every tab" if len(tabs) > 1 else "its charts"
            print(
                f"warm: {number}/{len(slugs)} {slug} rendered ({shown}), its chart results kept "
                f"({time.monotonic() - started:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    return len(slugs)


def after_write(target: str = "duckdb") -> None:
    """After a write to the warehouse of `target` (duckdb or trino): warm the local Superset if it runs, keeps results
    and reads that warehouse. A warm-up that cannot run is reported, never an error of the write, which has
    succeeded."""
    if not server.running() or server.cache_seconds() == 0 or superset_sync.synced_target(server.url()) != target:
        return
    step(f"Warming the dashboards of the Superset at {server.url()} (the first view of each is then cached)")
    attempt()


def attempt() -> None:
    """Warm the local Superset; a warm-up that cannot run (no Chromium, a browser's timeout or crash) is reported,
    not raised: whatever came before it (a write, the demo's sync) has succeeded."""
    try:
        warm()
    except Exception as error:
        print(f"warm: not warmed ({error}); each dashboard's first view queries the warehouse.", file=sys.stderr)
