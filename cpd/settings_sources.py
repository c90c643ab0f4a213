"""Where settings come from besides the environment, and the checks of single values that the
settings share: the ``cpd.toml`` source (or the file ``CPD_CONFIG`` names), ``host:port``
values, DNS resolver addresses and readable files."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from cpd.mail_ingest.tls import TlsFileError, readable_file

CONFIG_FILE_VARIABLE = "CPD_CONFIG"
DEFAULT_CONFIG_FILE = "cpd.toml"


class SettingsError(ValueError):
    """A setting has a bad value; the message is one line naming it."""


def check_config_file() -> None:
    """SettingsError when ``CPD_CONFIG`` names a file that is not there (a missing default
    ``cpd.toml`` is fine)."""
    named = os.environ.get(CONFIG_FILE_VARIABLE)
    if named and not Path(named).is_file():
        problem = "is a directory" if Path(named).is_dir() else "no such file"
        raise SettingsError(f"{CONFIG_FILE_VARIABLE}: {named!r}: {problem}")


class TomlFile(PydanticBaseSettingsSource):
    """Reads ``cpd.toml`` (or the file named by ``CPD_CONFIG``), accepting both key styles."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.values: dict[str, Any] = {}
        if path is None or not path.is_file():
            return
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from exc
        for key, value in raw.items():
            name = key.lower().removeprefix("cpd_")
            if name not in settings_cls.model_fields:
                raise SettingsError(f"{path}: unknown setting {key!r}")
            self.values[name] = value

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def host_port(value: str, name: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{name} must be host:port, got {value!r}")
    return value


def resolver_address(item: str) -> tuple[str, int]:
    """``host:port`` of a DNS resolver; the host must be an IP address (``[v6]:port``)."""
    problem = f"each DNS server must be ip:port (IPv6 as [ip]:port), got {item!r}"
    host, sep, port = item.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(problem)  # a bare IPv6 address: where does the port start?
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(problem) from None
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(problem)
    return host, int(port)


def readable(value: Path | None) -> Path | None:
    """``value`` when it is None or a readable file (ValueError with the reason)."""
    if value is None:
        return None
    try:
        return readable_file(value)
    except TlsFileError as exc:
        raise ValueError(str(exc)) from None
