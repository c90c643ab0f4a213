"""The cookie-signing key lives in the database: two instances on one database (SQLite and
PostgreSQL) accept each other's sessions, and a key an older version left in
CPD_DATA_DIR/web-secret is adopted once (its sessions survive the upgrade)."""

from __future__ import annotations

from pathlib import Path

import httpx

from cpd.web.app import create_app
from cpd.web.config import WebConfig
from cpd.web_wiring import SECRET_FILE, secret_key
from tests.web.conftest import ServerThread, Web


def instance(web: Web, data_dir: Path) -> ServerThread:
    """Another web instance built as ``cpd run`` builds it, on the same database."""
    key = secret_key(web.service, data_dir)
    config = WebConfig("127.0.0.1", 0, "http://127.0.0.1", key)
    return ServerThread(create_app(web.service, config))


def test_instances_on_one_database_accept_each_others_cookies(web: Web, tmp_path: Path) -> None:
    one, two = instance(web, tmp_path / "a"), instance(web, tmp_path / "b")
    try:
        with httpx.Client(base_url=one.url, timeout=20) as client:
            assert client.get(web.link("M1")).status_code == 303
            csrf = client.get("/api/me").json()["csrf"]
            cookie = client.cookies["cpd_session"]
        with httpx.Client(base_url=two.url, timeout=20) as other:
            other.cookies.set("cpd_session", cookie)
            me = other.get("/api/me")
            assert me.status_code == 200 and me.json()["membership_no"] == "M1"
            made = other.post(
                "/api/claims", data={"text": "boat show"}, headers={"X-CSRF-Token": csrf}
            )
            assert made.status_code == 201
    finally:
        one.close()
        two.close()
    assert not (tmp_path / "a" / SECRET_FILE).exists()


def test_a_key_left_in_a_file_is_adopted_once(web: Web, tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    (data_dir / SECRET_FILE).write_text("an-old-key-" + "x" * 40 + "\n")
    assert secret_key(web.service, data_dir) == "an-old-key-" + "x" * 40
    assert not (data_dir / SECRET_FILE).exists()
    # the next start, and another instance with a file of its own, keep the stored key
    assert secret_key(web.service, data_dir) == "an-old-key-" + "x" * 40
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / SECRET_FILE).write_text("a-different-key\n")
    assert secret_key(web.service, tmp_path / "other") == "an-old-key-" + "x" * 40
