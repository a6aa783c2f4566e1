"""Scrapy settings: polite by default, layered (these defaults < per-run `--set` < per-portal registry fields).

Nothing here is specific to one portal; spiders never hard-code settings.
"""
import os

BOT_NAME = "ogi-harvester"
SPIDER_MODULES = ["harvester.spiders"]
NEWSPIDER_MODULE = "harvester.spiders"

# Who we are and how to reach us: portals' webmasters should be able to complain to a person.
CONTACT = "ogi-harvester maintainers <ogi-harvester@users.noreply.github.com>"
USER_AGENT = f"ogi-harvester/0.1 (+https://github.com/ogi-harvester; {CONTACT})"

ROBOTSTXT_OBEY = True                     # switchable per portal (`obey_robots: false`), recorded
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts this many asyncio tasks for every response's output (scrapy.utils.asyncio
# _parallel_asyncio): at its default of 100 that was a million tasks in a 10,000-page crawl, a
# quarter of its time. A callback yields a list's links at most; a body waiting for its parse holds one.
CONCURRENT_ITEMS = 16
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

DOWNLOAD_TIMEOUT = 30                     # public gov.cn scrapers use 20-30 s
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024       # a report larger than this is recorded as too_large
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2                           # with backoff from the retry middleware's priority drop
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 8
HTTPERROR_ALLOW_ALL = False

# Our middlewares: nothing off the portal (before robots.txt at 100), loop-aware redirects, charset
# repair for GBK pages without a declaration.
DOWNLOADER_MIDDLEWARES = {
    "harvester.middlewares.OffsiteGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "harvester.middlewares.LoopAwareRedirectMiddleware": 600,
    "harvester.middlewares.ChineseEncodingMiddleware": 950,
    "harvester.incremental.IncrementalMiddleware": 960,   # nearest the downloader: a 304 becomes the stored 200
}

# A live board of every portal on a terminal, a line a minute otherwise (harvester.progress).
EXTENSIONS = {"harvester.progress.CrawlProgress": 500}
OGI_PROGRESS_INTERVAL = 1.0

# Ordered: keep the bytes first, then parse, then write the records.
ITEM_PIPELINES = {
    "harvester.pipelines.StoreBodyPipeline": 100,
    "harvester.pipelines.ParsePipeline": 200,
    "harvester.pipelines.RecordPipeline": 300,
}

# Browser rendering only for requests that ask for it (meta["playwright"]); plain HTTP otherwise.
DOWNLOAD_HANDLERS = {
    "http": "harvester.browser.LazyPlaywrightDownloadHandler",
    "https": "harvester.browser.LazyPlaywrightDownloadHandler",
}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
PLAYWRIGHT_BROWSER_TYPE = "chromium"
# Debian's Chromium; browsers are never downloaded. Its old headless shell (package
# chromium-headless-shell, the same build) has no browser UI: measured with `ogi bench render`, the
# full browser kept an omnibox WebUI renderer, zygotes and a GPU process alive (1.7 GB summed RSS
# for 4 open pages), the shell with these flags about 0.9 GB (README, Measuring).
_headless_shell = "/usr/bin/chromium-headless-shell"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": _headless_shell if os.path.exists(_headless_shell) else "/usr/bin/chromium",
    "headless": True,
    "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             # Two renderers for the portal's pages instead of one per page (each ~110 MB RSS; two, so
             # one crash does not take every open page with it); no zygote processes (no sandbox to
             # set up); the GPU (SwiftShader) thread inside the browser process.
             # Not --disable-features: Chromium keeps only the last one given, dropping Playwright's.
             "--renderer-process-limit=2", "--no-zygote", "--in-process-gpu"],
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_CONTEXTS = 2               # the current context and the one being retired
# The browser fetches nothing off the portals (no CDN, analytics, other hosts) and no images,
# fonts or styles: list data is all we read from it.
PLAYWRIGHT_ABORT_REQUEST = "harvester.browser.abort_request"

# Our own knobs.
OGI_DATA_DIR = "data"                     # blobs live under OGI_DATA_DIR/blobs
OGI_DB_PATH = "data/ogi.db"
OGI_PARSE_WORKERS = 2                     # parser processes, so parsing never stalls the crawl
OGI_PARSE_IN_CRAWL = True                 # False: only store bodies; `ogi reparse` parses later
# Rows written per transaction (harvester.pipelines.WriteBatch): a commit per this many items or
# seconds, whichever first. A SIGKILL loses the open transaction only, and the resumed run refetches it.
OGI_COMMIT_ITEMS = 500
OGI_COMMIT_SECONDS = 1.0
OGI_MAX_LIST_DEPTH = 4                    # nested columns below the start page
OGI_MAX_LIST_PAGES = 200                  # pages of one paginated list we are willing to walk
OGI_RUN_ID = None
OGI_BROWSER = True                        # render lists whose static reading finds no report
OGI_MAX_RENDERS = 50                      # rendered list pages per portal and run
OGI_MAX_BROWSER_CLICKS = 30               # clicks on one rendered list's own pager ("next", "more")
OGI_MAX_CAPTURED_RESPONSES = 200          # script replies mined per rendered page
OGI_BROWSER_MAX_PAGES = 0                 # pages open at once per crawler (0: CONCURRENT_REQUESTS_PER_DOMAIN)
OGI_BROWSER_PAGES_PER_CONTEXT = 100       # pages before a fresh browser context (caches, storage) is used
OGI_BROWSER_GAUGE = None                  # file for open/rendered page counts (ogi bench render; one portal)
# When the menus lead to no report, the site's own search box is asked (once per form, at most this many).
OGI_MAX_SITE_SEARCHES = 2
OGI_SITE_SEARCH_QUERY = "政府信息公开工作年度报告"
OGI_INCREMENTAL = True                    # known report pages/attachments not re-downloaded (harvester.incremental)
OGI_RESUME_MAX_HOURS = 24                 # a killed run younger than this is resumed from what it stored
OGI_REVALIDATE_DAYS = 7                   # younger than this: answered from the store; older: conditional GET
# Distributed runs (harvester.distributed; seconds).
OGI_IDLE_BEFORE_CLOSE = 10                # a worker ends a portal after its frontier stayed empty this long
OGI_FRONTIER_POLL = 0.2                   # how often an idle worker looks at the shared frontier
OGI_WORKER_TTL = 5                        # a worker silent this long is dead: its leased requests go back
OGI_JOIN_WAIT = 60                        # a worker waits this long for a writer's run to join
OGI_WRITER_WAIT = 600                     # a writer waits this long for its first worker
OGI_STREAM_MAX_ITEMS = 1000               # items (bodies) a writer may trail before workers wait for it

LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False            # no listening port per crawler
LOGSTATS_INTERVAL = 60.0
