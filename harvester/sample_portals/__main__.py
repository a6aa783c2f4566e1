"""python -m harvester.sample_portals [--port N] [--host H] [--slow-delay S] [--truth]"""
from __future__ import annotations

import argparse
import json

from harvester.sample_portals import registry, truth
from harvester.sample_portals.server import SamplePortals


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m harvester.sample_portals", description=__doc__)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--slow-delay", type=float, default=None, help="seconds the timeout page waits (default 10)")
    ap.add_argument("--truth", action="store_true", help="print registry and truth as JSON and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.truth:
        base = f"http://{a.host}:{a.port}"
        print(json.dumps({"registry": registry(base), "truth": truth(base)}, ensure_ascii=False, indent=1))
        return
    s = SamplePortals(a.port, a.host, a.slow_delay, a.verbose)
    print(f"sample portals on {s.base_url}/")
    for row in registry(s.base_url):
        print(f"  {row['name']:24s} {row['start_url']}")
    try:
        s.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        s.httpd.server_close()


if __name__ == "__main__":
    main()
