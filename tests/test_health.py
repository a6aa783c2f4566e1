"""Checks after each run (harvester.health): each alarm from two runs' figures, then through a real
crawl: a portal whose reports vanish raises found_nothing, an unchanged re-crawl raises nothing."""
from harvester.health import RunFigures, alarms


def test_each_alarm_from_two_runs_figures():
    steady = RunFigures(reports=10, requests=200, fetch_errors=2, parse_failures=0)
    assert alarms(steady, steady) == []
    assert alarms(steady, None) == []
    kinds = lambda now, before: [k for k, _ in alarms(now, before)]   # noqa: E731
    assert kinds(RunFigures(0, 50, 0, 0), steady) == ["count_dropped", "found_nothing"]
    assert kinds(RunFigures(0, 1, 0, 0), None) == ["found_nothing"]
    assert kinds(RunFigures(7, 200, 2, 0), steady) == ["count_dropped"]
    assert kinds(RunFigures(10, 200, 30, 0), steady) == ["errors_spiked"]
    assert kinds(RunFigures(10, 2000, 30, 0), steady) == []           # 1.5% of requests: not a spike
    assert kinds(RunFigures(10, 200, 9, 0), RunFigures(10, 200, 0, 0)) == []   # too few to mean anything
    assert kinds(RunFigures(10, 200, 2, 4), steady) == ["parse_failures_rose"]
    assert kinds(RunFigures(10, 200, 2, 4), RunFigures(10, 200, 2, 3)) == []


def test_a_portal_whose_start_url_is_gone_raises_alarms_in_the_next_run(sample_portals, tmp_path):
    """Crawled once from its column, then from a URL that is gone: count_dropped and found_nothing
    on the second run, the run marked dropped; `ogi status` shows them."""
    import sqlite_utils
    import yaml
    from harvester import sample_portals as sp
    from conftest import crawl_args, run_ogi

    first = sp.registry(sample_portals.base_url)[0]
    db_path, registry = tmp_path / "ogi.db", tmp_path / "portals.yaml"
    for start in (first["start_url"], sample_portals.base_url + "/gone/index.html"):
        registry.write_text(yaml.safe_dump({"portals": [{"name": first["name"], "start_url": start}]},
                                           allow_unicode=True), encoding="utf-8")
        out = run_ogi(*crawl_args(registry, db_path)).stdout
    db = sqlite_utils.Database(db_path)
    runs = [r["id"] for r in db.query("select id from crawl_runs order by id")]
    kinds = {r["kind"] for r in db.query("select kind from errors where run_id = ?", [runs[-1]])}
    assert {"count_dropped", "found_nothing"} <= kinds
    assert not {"count_dropped", "found_nothing"} & {r["kind"] for r in db.query(
        "select kind from errors where run_id = ?", [runs[0]])}
    assert "dropped" in out
    status = run_ogi("status", "--portals", registry, "--db", db_path).stdout
    assert "count_dropped" in status and "found_nothing" in status
